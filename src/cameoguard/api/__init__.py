"""The web service: a thin FastAPI shell over the domain functions.

Will live here (issue 7): the verification API, cameo owner and moderation workflows,
C2PA soft-binding resolution endpoints and server-rendered pages. Domain code never imports
this package; domain errors map to HTTP statuses here, in one place.
"""
