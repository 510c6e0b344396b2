"""What every ``/v1`` endpoint shares: the key check with its role and rate limit, the upload
written to a private temporary file within the size cap, and the registry's actor for an
account. Routers import these; :mod:`cameoguard.api.app` wires them into one app.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from fastapi import Request, UploadFile

from cameoguard.accounts import Account, AccountStore, Role
from cameoguard.consent.values import Actor
from cameoguard.errors import BadInputError, CameoguardError, MediaLimitError

__all__ = ["ANY_ROLE", "ApiError", "RateLimiter", "actor_of", "receive", "require"]

CHUNK = 1 << 20


class ApiError(CameoguardError):
    """An error with its HTTP status (authentication, authorization, request shape)."""

    def __init__(
        self, status: int, message: str, *, code: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after


class RateLimiter:
    """A token bucket per account: ``per_minute`` requests a minute, bursts up to the same.

    Kept in each worker's memory: with N workers a key gets up to N times the rate (a shared
    limiter belongs in front of the service, or in PostgreSQL, when that matters).
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self.clock = per_minute / 60.0, float(per_minute), clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go; otherwise the seconds until it may."""
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def require(*roles: Role) -> Callable[[Request], Awaitable[Account]]:
    """A dependency: the account of the request's Bearer key, with one of ``roles`` (admin
    always passes; no roles: any account)."""

    async def check(request: Request) -> Account:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(
                401, "send an API key as 'Authorization: Bearer KEY'", code="auth.missing"
            )
        store: AccountStore = request.app.state.accounts
        account = store.authenticate(key.strip())
        if account is None:
            raise ApiError(401, "this API key is unknown or disabled", code="auth.invalid")
        limiter: RateLimiter = request.app.state.limiter
        wait = limiter.take(account.name)
        if wait > 0:
            raise ApiError(
                429,
                f"too many requests for this key; retry in {wait:.0f} s",
                code="rate.limited",
                retry_after=wait,
            )
        if roles and account.role not in roles and account.role is not Role.ADMIN:
            raise ApiError(
                403,
                f"role {account.role} may not do this; it needs "
                f"{' or '.join(r.value for r in roles)}",
                code="auth.forbidden",
            )
        return account

    return check


ANY_ROLE = require()


@contextlib.contextmanager
def receive(file: UploadFile, limit: int) -> Iterator[tuple[Path, int]]:
    """The upload in a private temporary file (deleted afterwards), within ``limit`` bytes."""
    with tempfile.TemporaryDirectory(prefix="cg-upload-") as scratch:
        os.chmod(scratch, 0o700)
        suffix = Path(file.filename or "").suffix.lower()[:8]
        path = Path(scratch) / f"upload{suffix if suffix.isascii() else ''}"
        size = 0
        with path.open("wb") as out:
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise MediaLimitError(
                        f"the upload is larger than {limit} bytes "
                        "(CAMEOGUARD_MAX_UPLOAD_BYTES); send a smaller file",
                        code="upload.too_large",
                    )
                out.write(chunk)
        if size == 0:
            raise BadInputError(
                "the uploaded file is empty; send the media file's bytes", code="upload.empty"
            )
        try:
            yield path, size
        except CameoguardError as error:  # name the upload, never the server's temporary path
            error.message = error.message.replace(str(path), file.filename or "the upload")
            error.args = (error.message,)
            raise


def actor_of(account: Account) -> Actor:
    """The consent registry's actor for an API account (admins act for anyone)."""
    return Actor(account.name, admin=account.role is Role.ADMIN)
