"""Verification jobs: long uploads verified in the background, polled or pushed by webhook.

What flows through: :meth:`JobStore.create` records a queued job for an account (the upload
already moved into the job's private folder); a worker thread marks it ``running``, runs the
verify flow, and stores the report (``done``) or the error code and message (``failed``), then
deletes the upload. Any API worker can answer ``GET /v1/jobs/{id}`` because the state lives in
the database. A job is visible to its account only (admins: all).

Webhooks: when the job has a URL, the final job document is POSTed there as JSON with
``X-Cameoguard-Signature: sha256=<hex HMAC-SHA256 of the body with the deployment's webhook
secret>`` (GitHub's scheme), retried with backoff; the outcome is stored on the job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Engine, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cameoguard import db
from cameoguard.db import Base, UTCDateTime
from cameoguard.errors import NotFoundError

__all__ = ["Job", "JobStore", "send_webhook", "sign_body"]


class JobRow(Base):
    __tablename__ = "verify_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    account: str
    status: str
    file_name: str | None
    webhook_url: str | None
    webhook_status: str | None
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: JobRow) -> Job:
        return cls(
            row.id,
            row.account,
            row.status,
            row.file_name,
            row.webhook_url,
            row.webhook_status,
            row.result,
            row.error_code,
            row.error_message,
            row.created_at,
            row.finished_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "status": self.status,
            "file": self.file_name,
            "created_at": self.created_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "result": self.result,
            "error": None
            if self.error_code is None
            else {"code": self.error_code, "message": self.error_message},
            "webhook": None
            if self.webhook_url is None
            else {"status": self.webhook_status or "pending"},
        }


class JobStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = db.session_factory(engine)

    def create(self, account: str, file_name: str | None, webhook_url: str | None) -> Job:
        row = JobRow(
            id="j_" + secrets.token_hex(6),
            account=account,
            status="queued",
            file_name=file_name,
            webhook_url=webhook_url,
            created_at=db.utcnow(),
        )
        with db.session_scope(self._sessions) as session:
            session.add(row)
            session.flush()
            return Job.of(row)

    def _update(self, job_id: str, **values: Any) -> Job:
        with db.session_scope(self._sessions) as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise NotFoundError(f"no job {job_id!r}", code="jobs.not_found")
            for name, value in values.items():
                setattr(row, name, value)
            return Job.of(row)

    def start(self, job_id: str) -> Job:
        return self._update(job_id, status="running")

    def finish(self, job_id: str, result: dict[str, Any]) -> Job:
        return self._update(job_id, status="done", result=result, finished_at=db.utcnow())

    def fail(self, job_id: str, code: str, message: str) -> Job:
        return self._update(
            job_id, status="failed", error_code=code, error_message=message, finished_at=db.utcnow()
        )

    def webhook_done(self, job_id: str, status: str) -> Job:
        return self._update(job_id, webhook_status=status[:64])

    def get(self, job_id: str, account: str, *, admin: bool = False) -> Job:
        with db.session_scope(self._sessions) as session:
            row = session.get(JobRow, job_id)
            if row is None or (row.account != account and not admin):
                raise NotFoundError(f"no job {job_id!r} of yours", code="jobs.not_found")
            return Job.of(row)


def sign_body(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(url: str, document: dict[str, Any], secret: str, attempts: int = 3) -> str:
    """POST ``document`` signed; returns ``delivered (HTTP 200)`` or why it was not."""
    import httpx

    body = json.dumps(document, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Cameoguard-Signature": sign_body(secret, body),
    }
    outcome = "not sent"
    for attempt in range(attempts):
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=10.0)
            outcome = f"HTTP {response.status_code}"
            if response.status_code < 300:
                return f"delivered ({outcome})"
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        time.sleep(0.5 * 2**attempt)
    return f"failed ({outcome})"
