"""Verification jobs: long uploads verified in the background, polled or pushed by webhook.

What flows through: :meth:`JobStore.create` records a queued job for an account (the upload
already moved into the job's private folder); a worker thread marks it ``running``, runs the
verify flow, and stores the report (``done``) or the error code and message (``failed``), then
deletes the upload. Any API worker can answer ``GET /v1/jobs/{id}`` because the state lives in
the database. A job is visible to its account only (admins: all).

Webhooks: when the job has a URL, the final job document is POSTed there as JSON with
``X-Cameoguard-Signature: sha256=<hex HMAC-SHA256 of the body with the deployment's webhook
secret>`` (GitHub's scheme), retried with backoff; the outcome is stored on the job.
:func:`check_webhook_url` guards against server-side request forgery, when the job is
accepted and again before sending: the host must be allowed (CAMEOGUARD_WEBHOOK_ALLOW_HOSTS),
and it must resolve only to public addresses unless it is listed by its exact name. Redirects
are never followed (a 3xx answer is a failed delivery), so an allowed host cannot bounce the
signed document somewhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, CheckConstraint, Engine, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cameoguard import db
from cameoguard.db import Base, UTCDateTime
from cameoguard.errors import BadInputError, NotFoundError

__all__ = ["Job", "JobStore", "check_webhook_url", "send_webhook", "sign_body"]


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


def _public(address: str) -> bool:
    """Whether an address from getaddrinfo is a public unicast one (not loopback, private,
    link-local, shared, reserved, multicast or unspecified; IPv4-mapped IPv6 as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # no IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_webhook_url(url: str, allow_hosts: Sequence[str]) -> None:
    """Refuse a webhook URL this deployment may not call (``jobs.bad_webhook`` when it is not
    an http(s) URL with a host, ``jobs.webhook_not_allowed`` when its host is not allowed or
    resolves to a non-public address without being listed by its exact name)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInputError(
            "webhook must be an http(s) URL with a host, like https://hooks.example.com/cameoguard",
            code="jobs.bad_webhook",
        )
    host = parts.hostname.rstrip(".")  # urlsplit lower-cases it and drops IPv6 brackets
    exact = host in allow_hosts
    listed = (
        exact
        or "*" in allow_hosts
        or any(
            entry.startswith(".") and (host.endswith(entry) or host == entry[1:])
            for entry in allow_hosts
        )
    )
    if not listed:
        raise BadInputError(
            f"webhooks to {host!r} are not allowed on this deployment; ask its operator to add "
            "the host to CAMEOGUARD_WEBHOOK_ALLOW_HOSTS, or leave out the webhook and poll the "
            "job",
            code="jobs.webhook_not_allowed",
        )
    if exact:  # listed by name: the operator allowed it, internal or not
        return
    try:
        addresses = [str(ipaddress.ip_address(host.split("%", 1)[0]))]  # an IP literal
    except ValueError:
        try:
            default = 443 if parts.scheme == "https" else 80
            found = socket.getaddrinfo(host, port or default, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise BadInputError(
                f"the webhook host {host!r} does not resolve; check the URL",
                code="jobs.bad_webhook",
            ) from None
        addresses = [str(info[4][0]) for info in found]
    if not all(_public(address) for address in addresses):
        raise BadInputError(
            f"the webhook host {host!r} resolves to a loopback, private or link-local address; "
            "webhooks go to public addresses only, unless the operator lists the host by its "
            "exact name in CAMEOGUARD_WEBHOOK_ALLOW_HOSTS",
            code="jobs.webhook_not_allowed",
        )


def send_webhook(
    url: str,
    document: dict[str, Any],
    secret: str,
    attempts: int = 3,
    *,
    allow_hosts: Sequence[str] | None = None,
) -> str:
    """POST ``document`` signed; returns ``delivered (HTTP 200)`` or why it was not. With
    ``allow_hosts`` the URL is checked again first (its DNS may have changed since the job was
    accepted). A redirect is not followed: it ends the delivery as failed."""
    import httpx

    if allow_hosts is not None:
        try:
            check_webhook_url(url, allow_hosts)
        except BadInputError as error:
            return f"refused ({error.code})"
    body = json.dumps(document, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Cameoguard-Signature": sign_body(secret, body),
    }
    outcome = "not sent"
    for attempt in range(attempts):
        try:
            response = httpx.post(
                url, content=body, headers=headers, timeout=10.0, follow_redirects=False
            )
            outcome = f"HTTP {response.status_code}"
            if response.status_code < 300:
                return f"delivered ({outcome})"
            if response.status_code < 400:
                return f"failed ({outcome}: redirects are not followed)"
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        time.sleep(0.5 * 2**attempt)
    return f"failed ({outcome})"
