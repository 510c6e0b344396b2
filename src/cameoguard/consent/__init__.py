"""Consent registry: enrolled likenesses ("cameos") and who may use them.

Will live here (issue 4): face detection and alignment (MTCNN), embedders behind a registry,
1:N identification against enrolled cameos and protected people, enrollment checks and liveness,
permission tiers and restrictions, authorization grants, revocation, and a hash-chained audit
log. Biometric data (embeddings, photos) is never logged and is deleted with the cameo.
"""
