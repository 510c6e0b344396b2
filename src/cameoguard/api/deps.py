"""What every ``/v1`` endpoint shares: the key check with its role and rate limit, the upload
written to a private temporary file within the size cap, the registry's actor for an account,
and what the OpenAPI document says about all of that (the ``ApiKey`` Bearer scheme, the error
envelope as :class:`ErrorEnvelope` with an example per status, :func:`errors`, :func:`ok`).
Routers import these; :mod:`cameoguard.api.app` wires them into one app.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from cameoguard.accounts import Account, AccountStore, Role
from cameoguard.consent.values import Actor
from cameoguard.errors import BadInputError, CameoguardError, MediaLimitError

__all__ = [
    "ANY_ROLE",
    "BEARER",
    "ERRORS",
    "ApiError",
    "ErrorEnvelope",
    "RateLimiter",
    "actor_of",
    "admit",
    "errors",
    "named",
    "ok",
    "receive",
    "require",
]

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


#: the security scheme /docs shows; ``auto_error=False`` so a missing key gets our 401 envelope
BEARER = HTTPBearer(
    scheme_name="ApiKey",
    bearerFormat="cg_ + 43 characters",
    description="An API key made by `cameoguard accounts create NAME --role ROLE` (shown once; "
    "stored as its SHA-256). Send it as `Authorization: Bearer KEY`.",
    auto_error=False,
)


def require(*roles: Role) -> Callable[..., Awaitable[Account]]:
    """A dependency: the account of the request's Bearer key, with one of ``roles`` (admin
    always passes; no roles: any account)."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> Account:
        key = "" if credentials is None else credentials.credentials.strip()
        if credentials is None or credentials.scheme.lower() != "bearer" or not key:
            raise ApiError(
                401, "send an API key as 'Authorization: Bearer KEY'", code="auth.missing"
            )
        store: AccountStore = request.app.state.accounts
        account = store.authenticate(key)
        if account is None:
            raise ApiError(401, "this API key is unknown or disabled", code="auth.invalid")
        admit(request, account, roles)
        request.state.account = account  # for the access log (its name only)
        return account

    return check


def admit(request: Request, account: Account, roles: tuple[Role, ...]) -> None:
    """The account's rate limit (429) and role (403; admins may do everything)."""
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
            f"role {account.role} may not do this; it needs {' or '.join(r.value for r in roles)}",
            code="auth.forbidden",
        )


ANY_ROLE = require()


@contextlib.contextmanager
def receive(file: UploadFile, limit: int) -> Iterator[tuple[Path, int]]:
    """The upload in a private temporary file (deleted afterwards), within ``limit`` bytes."""
    with tempfile.TemporaryDirectory(prefix="cg-upload-") as scratch:
        os.chmod(scratch, 0o700)
        suffix = Path(file.filename or "").suffix.lower()[:8]
        # a name no message would say otherwise, so named() can replace it
        path = Path(scratch) / f"upload-{secrets.token_hex(6)}{suffix if suffix.isascii() else ''}"
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
        with named(path, file.filename or "the upload"):
            yield path, size


@contextlib.contextmanager
def named(path: Path, name: str) -> Iterator[None]:
    """Errors raised inside name ``name`` where they said ``path`` (a server-side temporary
    file) or its file name, so no answer shows the server's paths. ``path``'s name must be
    one that no message says for another reason (a random one)."""
    try:
        yield
    except CameoguardError as error:
        error.message = error.message.replace(str(path), name).replace(path.name, name)
        error.args = (error.message,)
        raise


def actor_of(account: Account) -> Actor:
    """The consent registry's actor for an API account (admins act for anyone)."""
    return Actor(account.name, admin=account.role is Role.ADMIN)


# ---------------------------------------------------------------------------- OpenAPI


class ErrorBody(BaseModel):
    code: str = Field(
        description="Stable, machine-readable id of the error (kept across releases).",
        examples=["auth.missing"],
    )
    message: str = Field(
        description="For people: what was wrong and what to do about it.",
        examples=["send an API key as 'Authorization: Bearer KEY'"],
    )


class ErrorEnvelope(BaseModel):
    """Every error answer of the service, whatever its status."""

    error: ErrorBody


#: status -> (when it is answered, an error code and message the service really answers)
ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "The input is unusable (a bad id or value, an empty or undecodable file, a refused "
        "enrollment, ...): the message says which, and what to do.",
        "upload.empty",
        "the uploaded file is empty; send the media file's bytes",
    ),
    401: (
        "No API key, or a key that is unknown or disabled.",
        "auth.missing",
        "send an API key as 'Authorization: Bearer KEY'",
    ),
    403: (
        "The key's role may not call this endpoint, or the account may not do this to this "
        "thing (consent does not cover it, it is not theirs to publish).",
        "auth.forbidden",
        "role platform may not do this; it needs user",
    ),
    404: (
        "No such id that this account may see (another account's ids answer the same).",
        "not_found",
        "no cameo 'c_000000000000' of yours",
    ),
    413: (
        "Over a limit: upload bytes (CAMEOGUARD_MAX_UPLOAD_BYTES), pixels or duration; "
        "checked before anything is decoded.",
        "upload.too_large",
        "the upload is larger than 536870912 bytes (CAMEOGUARD_MAX_UPLOAD_BYTES); send a "
        "smaller file",
    ),
    415: (
        "The file is not an image, video or audio format that cameoguard reads.",
        "media.unsupported",
        "notes.txt: content starts like text, not an image, video or audio file; supported: "
        "JPEG (image/jpeg), PNG (image/png), WebP (image/webp), GIF (image/gif), TIFF "
        "(image/tiff), DNG (image/x-adobe-dng), AVIF (image/avif), HEIC (image/heic), MP4 "
        "(video/mp4), QuickTime (video/quicktime), M4A (audio/mp4), WAV (audio/wav), MP3 "
        "(audio/mpeg), FLAC (audio/flac). Check that the file is what its name says, or "
        "convert it to one of these",
    ),
    422: (
        "The request does not have the shape this endpoint takes (a missing field, a wrong "
        "type, a value too long); the message names the field.",
        "request.invalid",
        "body.file: Field required",
    ),
    429: (
        "Too many requests for this key (CAMEOGUARD_API_RATE_PER_MINUTE); see Retry-After.",
        "rate.limited",
        "too many requests for this key; retry in 3 s",
    ),
    503: (
        "This deployment is not configured for this (no signing keys, no watermark key, no "
        "webhook secret, a backend or model that is not set up).",
        "service.generation_unavailable",
        "generation is not available on this deployment: signing certificate chain not found "
        "at /var/lib/cameoguard/keys/signer-chain.pem; run `cameoguard keys init` for "
        "development keys, or set CAMEOGUARD_SIGNING_CERT and CAMEOGUARD_SIGNING_KEY",
    ),
}


def errors(*statuses: int, **codes: tuple[str, str]) -> dict[int | str, dict[str, Any]]:
    """The error responses of a ``/v1`` endpoint for FastAPI's ``responses=``: 401 and 429
    always (every key check can answer them) and ``statuses``, each with the envelope's
    schema and an example. ``codes`` gives an endpoint's own example code and message by
    status: ``errors(404, e404=("cameos.not_found", "no cameo 'c_0123456789ab' of yours"))``."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({401, 429, *statuses}):
        description, code, message = ERRORS[status]
        code, message = codes.get(f"e{status}", (code, message))
        response: dict[str, Any] = {
            "model": ErrorEnvelope,
            "description": description,
            "content": {
                "application/json": {"example": {"error": {"code": code, "message": message}}}
            },
        }
        if status == 429:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds until this key may send again.",
                    "schema": {"type": "integer"},
                }
            }
        out[status] = response
    return out


def ok(
    example: Any, *, status: int = 200, description: str | None = None
) -> dict[int | str, dict[str, Any]]:
    """A success response's JSON example (a real answer of the service) for ``responses=``."""
    response: dict[str, Any] = {"content": {"application/json": {"example": example}}}
    if description is not None:
        response["description"] = description
    return {status: response}
