"""The ``cameoguard`` command line: a thin shell over the domain functions.

``main`` parses arguments, builds settings, calls the domain, renders results (``render``) and
maps errors to exit codes (:class:`ExitCode`). It holds no domain logic of its own.
"""
