"""Structured logs: one JSON object per line on stderr, for the service and its workers.

``cameoguard serve`` installs :data:`UVICORN_LOG_CONFIG`, so uvicorn's own messages and ours
come out the same way. Each request is one ``cameoguard.access`` record (request id, method,
route template, status, milliseconds, account name, worker pid); nothing biometric or secret
is ever a field: no face embeddings or photos, no API keys, no upload bytes, no query strings
(the route template stands in for the path, so ids typed into a URL are not logged either).
Fields passed as ``extra={"fields": {...}}`` are merged into the record.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

__all__ = ["UVICORN_LOG_CONFIG", "JsonFormatter"]


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "pid", ...fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": os.getpid(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = record.exc_info[0].__name__  # the type only: no locals, no data
        return json.dumps(out, default=str, ensure_ascii=False)


#: for ``uvicorn.run(log_config=...)``: every logger through :class:`JsonFormatter`; uvicorn's
#: access log is off (the app writes its own ``cameoguard.access`` lines, with route templates)
UVICORN_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "cameoguard": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
