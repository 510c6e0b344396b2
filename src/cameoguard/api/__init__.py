"""The HTTP service (issue 7): a thin FastAPI shell over the same domain functions as the CLI."""
