"""The ``http`` backend: a client for remote video-generation services.

A :class:`~cameoguard.generator_adapter.backends.base.BackendRequest` flows in; the prompt and
options (and the request's ``target`` picture, as an image reference, when given) go to the
remote service; an MP4 flows back into the request's work directory as
:class:`~cameoguard.generator_adapter.backends.base.RawMedia`. Cameo likenesses are never sent.

The exchange is submit → poll → download:

1. **Submit** one job. A submit is retried only when the service cannot have accepted it: a
   connection that failed before the request went out (``ConnectError``, ``ConnectTimeout``,
   ``PoolTimeout``) or an explicit refusal, HTTP 429 or 503 (``Retry-After`` is honoured). A
   read timeout, a dropped connection or a 500/502/504 after the request was sent is *not*
   retried: the service may have queued the job, and a second submit would pay for a second
   video.
2. **Poll** the job with exponential backoff and jitter (:class:`Backoff`), sleeping on the
   request's :class:`~cameoguard.generator_adapter.backends.base.CancelToken` so that a cancel
   from another thread takes effect at once (one arriving during an HTTP exchange takes effect
   when it returns, within the per-request timeout). Polls (idempotent GETs) are retried on
   connection errors, timeouts, 429 and 5xx.
3. **Download** the finished video as a stream into a temporary file beside
   ``request.output_path(".mp4")``: a non-video ``Content-Type``, a body over
   ``request.limits.max_bytes``, or a file that :func:`cameoguard.media.probe.probe` does not
   accept as a video is refused, and a refused or interrupted download leaves no file behind.

One deadline (``CAMEOGUARD_HTTP_BACKEND_TIMEOUT_S``, shortened by the ``timeout_s`` option)
covers the whole exchange; when it passes, or when the caller cancels, the remote job is asked
to stop (best effort) and :class:`~cameoguard.errors.BackendTimeoutError` or
:class:`~cameoguard.errors.GenerationCancelledError` is raised.

The wire protocol lives in a :class:`~cameoguard.generator_adapter.backends.providers.Provider`
(see :mod:`cameoguard.generator_adapter.backends.providers`, which ships ``openai_videos``,
OpenAI's Videos API); this module sends its calls. ``CAMEOGUARD_HTTP_BACKEND_URL`` is the service
root (``https://api.openai.com``), without ``/v1``.

The API key travels only in the ``Authorization`` header: it is never logged and is blanked out
of any server message quoted in an error. The prompt is never logged; job ids and statuses are.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import SecretStr

from cameoguard import __version__
from cameoguard.errors import (
    BackendError,
    BackendTimeoutError,
    BadInputError,
    CameoguardError,
    ConfigurationError,
    GenerationCancelledError,
    UnsupportedMediaError,
)
from cameoguard.fsutil import atomic_output
from cameoguard.generator_adapter.backends.base import (
    Backend,
    BackendRequest,
    RawMedia,
    register_backend,
)
from cameoguard.generator_adapter.backends.providers import (
    HttpCall,
    JobSpec,
    JobStatus,
    Provider,
    Reference,
    RemoteJob,
    create_provider,
)
from cameoguard.media.probe import probe
from cameoguard.media.types import MediaKind

if TYPE_CHECKING:
    from cameoguard.settings import Settings

__all__ = ["Backoff", "HttpBackend", "RetryPolicy"]

log = logging.getLogger(__name__)

_JSON_LIMIT = 1 << 20  # a job description or error body is small; more is refused
_ERROR_SNIPPET = 300  # characters of a non-JSON error body quoted in a message
_CHUNK = 64 * 1024
_CANCEL_TIMEOUT_S = 5.0  # the best-effort DELETE on cancel or timeout
_SIZE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")
_REFERENCE_MIMES = frozenset({"image/jpeg", "image/png", "image/webp"})


# --- waiting ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential delays: ``initial_s * factor**attempt``, capped at ``max_s``, ± ``jitter``."""

    initial_s: float = 0.5
    factor: float = 1.7
    max_s: float = 10.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not (self.initial_s >= 0 and self.max_s >= self.initial_s):
            raise ValueError(f"Backoff needs 0 <= initial_s <= max_s, got {self}")
        if self.factor < 1:
            raise ValueError(f"Backoff.factor must be at least 1, got {self.factor}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"Backoff.jitter must be in [0, 1), got {self.jitter}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 0)."""
        base = min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))
        return max(0.0, base * (1.0 + rng.uniform(-self.jitter, self.jitter)))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often one HTTP call is retried, and how long to wait in between.

    ``Retry-After`` from a 429 or 503 replaces the backoff delay, up to ``max_retry_after_s``.
    """

    max_retries: int = 4
    backoff: Backoff = field(default_factory=lambda: Backoff(1.0, 2.0, 20.0, 0.25))
    max_retry_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"RetryPolicy.max_retries must be >= 0, got {self.max_retries}")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class _Run:
    """One generation's clock, cancel token and remote job id."""

    def __init__(self, request: BackendRequest, timeout_s: float) -> None:
        self.request = request
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.remote_id: str | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        if self.request.cancel.cancelled:
            raise self.cancelled()
        if self.remaining() <= 0:
            raise self.timed_out()

    def sleep(self, seconds: float) -> None:
        """Wait, waking at once on cancel; raises when cancelled or out of time."""
        self.check()
        if self.request.cancel.wait(min(seconds, self.remaining())):
            raise self.cancelled()
        self.check()

    def _job(self) -> str:
        return f"remote job {self.remote_id}" if self.remote_id else "the remote job"

    def cancelled(self) -> GenerationCancelledError:
        stop = f"; {self._job()} was asked to stop" if self.remote_id else ""
        return GenerationCancelledError(f"the generation was cancelled{stop}; nothing was written")

    def timed_out(self) -> BackendTimeoutError:
        return BackendTimeoutError(
            f"{self._job()} did not finish within {self.timeout_s:g} s and was abandoned; "
            "try again later, or raise CAMEOGUARD_HTTP_BACKEND_TIMEOUT_S (or the timeout_s "
            "option) if the service is just slow"
        )


# --- the backend ------------------------------------------------------------------------------


class _StreamBroken(Exception):
    """A download stopped half way (connection lost); the whole download is retried."""


class HttpBackend(Backend):
    """Generates videos on a remote service (see the module docstring for the protocol).

    Options: ``seconds`` (number, default 4), ``size`` (``"WxH"``, default ``"1280x720"``),
    ``model`` (default the configured model), ``poll_interval_s`` (first poll delay),
    ``timeout_s`` (shortens the configured deadline).
    """

    name = "http"
    kinds = frozenset({MediaKind.VIDEO})
    needs_target = False
    needs_cameo = False

    default_seconds: ClassVar[str] = "4"
    default_size: ClassVar[str] = "1280x720"

    def __init__(
        self,
        base_url: str | None,
        *,
        provider: Provider | str = "openai_videos",
        model: str = "sora-2",
        api_key: SecretStr | str | None = None,
        timeout_s: float = 900.0,
        poll: Backoff | None = None,
        retry: RetryPolicy | None = None,
        request_timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.base_url = base_url.rstrip("/") if base_url else None
        self.provider = create_provider(provider) if isinstance(provider, str) else provider
        self.model = model
        self._api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self.timeout_s = timeout_s
        self.poll = poll or Backoff()
        self.retry = retry or RetryPolicy()
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpBackend:
        return cls(
            settings.http_backend_url,
            provider=settings.http_backend_provider,
            model=settings.http_backend_model,
            api_key=settings.http_backend_api_key,
            timeout_s=settings.http_backend_timeout_s,
        )

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "provider": self.provider.name,
            "model": self.model,
            "url": self.base_url,
        }

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- generate

    def generate(self, request: BackendRequest) -> RawMedia:
        if self.base_url is None:
            raise ConfigurationError(
                "the http backend has no service URL; set CAMEOGUARD_HTTP_BACKEND_URL to the "
                "remote video API's root (for example https://api.openai.com)",
                code="generation.backend_unconfigured",
            )
        if request.kind is not MediaKind.VIDEO:
            raise BadInputError(
                f"the http backend makes videos, not {request.kind.value}s; ask for kind "
                "'video' or choose another backend",
                code="generation.bad_option",
            )
        spec, poll, timeout_s = self._plan(request)
        request.check_cancelled()
        run = _Run(request, timeout_s)
        try:
            request.report(0.0, "submitting to the remote service")
            job = self._submit(run, spec)
            job = self._wait(run, job, poll)
            path = self._download(run, job)
        except (GenerationCancelledError, BackendTimeoutError):
            self._abandon(run)
            raise
        request.report(1.0, "downloaded the remote video")
        return RawMedia(
            path,
            MediaKind.VIDEO,
            model=job.model or spec.model,
            model_version=None,
            details={
                "provider": self.provider.name,
                "remote_id": job.id,
                "seconds": job.seconds or spec.seconds,
                "size": job.size or spec.size,
            },
        )

    def _plan(self, request: BackendRequest) -> tuple[JobSpec, Backoff, float]:
        options = request.options
        seconds = _seconds_option(options.get("seconds", self.default_seconds))
        if float(seconds) > request.limits.max_video_seconds:
            raise BadInputError(
                f"the seconds option asks for {seconds} s of video, the limit is "
                f"{request.limits.max_video_seconds:g} s; ask for less or raise "
                "CAMEOGUARD_MAX_VIDEO_SECONDS",
                code="generation.bad_option",
            )
        size = _size_option(options.get("size", self.default_size), request.limits.max_pixels)
        model = options.get("model", self.model)
        if not isinstance(model, str) or not model.strip():
            raise BadInputError(
                f"the model option must be a model name, got {model!r}",
                code="generation.bad_option",
            )
        poll = self.poll
        if "poll_interval_s" in options:
            first = _positive_option(options, "poll_interval_s")
            poll = replace(poll, initial_s=first, max_s=max(first, poll.max_s))
        timeout_s = self.timeout_s
        if "timeout_s" in options:
            timeout_s = min(timeout_s, _positive_option(options, "timeout_s"))
        reference = _reference(request) if request.target is not None else None
        spec = JobSpec(model.strip(), request.prompt, seconds, size, reference)
        return spec, poll, timeout_s

    def _submit(self, run: _Run, spec: JobSpec) -> RemoteJob:
        call = self.provider.create_call(spec)
        _, body = self._send(run, call, idempotent=False, what="submitting the job")
        job = self._job(body, "the submit reply")
        run.remote_id = job.id
        log.info("remote job %s submitted to %s (%s)", job.id, self.provider.name, job.status)
        run.request.report(0.05, f"remote job {job.status.value}")
        return job

    def _wait(self, run: _Run, job: RemoteJob, poll: Backoff) -> RemoteJob:
        attempt = 0
        status = job.status
        while not job.status.finished:
            run.sleep(poll.delay(attempt, self._rng))
            attempt += 1
            call = self.provider.retrieve_call(job.id)
            _, body = self._send(run, call, idempotent=True, what="polling the job")
            job = self._job(body, "the job status reply")
            if job.status is not status:
                log.info("remote job %s is %s", job.id, job.status.value)
                status = job.status
            done = f" {job.progress:.0%}" if job.progress is not None else ""
            run.request.report(0.05 + 0.85 * (job.progress or 0.0), f"remote job {status}{done}")
        if job.status is JobStatus.FAILED:
            reason = ": ".join(x for x in (job.error_code, job.error_message) if x) or "no reason"
            raise BackendError(
                f"remote job {job.id} failed ({self._scrub(reason)}); change the prompt or "
                "options if the service refused them, otherwise try again",
                code="generation.remote_failed",
            )
        return job

    def _download(self, run: _Run, job: RemoteJob) -> Path:
        call = self.provider.download_call(job.id)
        for attempt in itertools.count():
            response, _ = self._send(
                run, call, idempotent=True, what="downloading the video", stream=True
            )
            try:
                return self._save(run, response)
            except _StreamBroken as exc:
                if attempt >= self.retry.max_retries:
                    raise BackendError(
                        f"the download of remote job {job.id} kept breaking off ({exc}); "
                        "try again later",
                        code="generation.backend_unreachable",
                    ) from None
            finally:
                response.close()
            run.sleep(self.retry.backoff.delay(attempt, self._rng))
        raise AssertionError("unreachable")  # pragma: no cover

    def _save(self, run: _Run, response: httpx.Response) -> Path:
        """Stream the reply into the output path, checked; refused bodies leave no file."""
        limit = run.request.limits.max_bytes
        mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if mime not in self.provider.content_types:
            raise BackendError(
                f"the remote service sent {mime or 'content without a type'} instead of a "
                f"video ({', '.join(sorted(self.provider.content_types))}); check "
                "CAMEOGUARD_HTTP_BACKEND_PROVIDER matches the service",
                code="generation.backend_bad_output",
            )
        declared = _content_length(response)
        if declared is not None and declared > limit:
            raise _too_big(f"declares {declared:,} bytes", limit)
        dest = run.request.output_path(".mp4")
        try:
            with atomic_output(dest) as tmp:
                received = self._stream_to(run, response, tmp, declared)
                if received == 0:
                    raise BackendError(
                        "the remote service sent an empty video; try again",
                        code="generation.backend_bad_output",
                    )
                self._check_video(tmp, run)
        except OSError as exc:
            raise BackendError(
                f"could not write the downloaded video into {dest.parent} "
                f"({exc.strerror or exc}); check the disk space and permissions"
            ) from None
        return dest

    def _stream_to(
        self, run: _Run, response: httpx.Response, path: Path, declared: int | None
    ) -> int:
        limit, received = run.request.limits.max_bytes, 0
        with open(path, "wb") as fh:
            try:
                for chunk in response.iter_bytes(_CHUNK):
                    received += len(chunk)
                    if received > limit:
                        raise _too_big(f"sent more than {limit:,} bytes", limit)
                    fh.write(chunk)
                    run.check()
                    if declared:
                        run.request.report(0.9 + 0.1 * received / declared, "downloading")
            except httpx.TimeoutException as exc:
                run.check()  # out of time: BackendTimeoutError, not a retry
                raise _StreamBroken(type(exc).__name__) from None
            except httpx.TransportError as exc:
                raise _StreamBroken(type(exc).__name__) from None
        return received

    def _check_video(self, path: Path, run: _Run) -> None:
        try:
            info = probe(path, run.request.limits)
        except CameoguardError as exc:
            reason = exc.message.replace(str(path), "the download")
            raise BackendError(
                "the remote service returned a file that is not a playable video "
                f"({reason}); remote job {run.remote_id} gave no usable output, try again",
                code="generation.backend_bad_output",
            ) from None
        if info.kind is not MediaKind.VIDEO:
            raise BackendError(
                "the remote service returned a file that is not a playable video (it is "
                f"{info.type.format} {info.kind.value}); try again",
                code="generation.backend_bad_output",
            )

    def _job(self, body: bytes, what: str) -> RemoteJob:
        try:
            if len(body) > _JSON_LIMIT:
                raise ValueError(f"it is over {_JSON_LIMIT:,} bytes")
            payload = json.loads(body)
        except ValueError as exc:
            raise BackendError(
                f"{what} is not valid JSON ({exc}); check CAMEOGUARD_HTTP_BACKEND_URL points "
                "at the video API",
                code="generation.backend_protocol",
            ) from None
        try:
            return self.provider.parse_job(payload)
        except ValueError as exc:
            raise BackendError(
                f"{what} is not a job description ({exc}); check CAMEOGUARD_HTTP_BACKEND_URL "
                "and CAMEOGUARD_HTTP_BACKEND_PROVIDER match the service",
                code="generation.backend_protocol",
            ) from None

    def _abandon(self, run: _Run) -> None:
        """Best effort: ask the service to stop the job (on cancel or timeout)."""
        if run.remote_id is None:
            return
        call = self.provider.cancel_call(run.remote_id)
        if call is None:
            return
        client = self._http()
        try:
            request = client.build_request(
                call.method, call.path, timeout=_CANCEL_TIMEOUT_S, **call.httpx_kwargs()
            )
            response = client.send(request, stream=True)
            response.close()
            log.info("asked remote job %s to stop (HTTP %d)", run.remote_id, response.status_code)
        except httpx.HTTPError as exc:
            log.warning(
                "could not ask remote job %s to stop: %s", run.remote_id, type(exc).__name__
            )

    # -- HTTP with retries

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                headers = {"User-Agent": f"cameoguard/{__version__}"}
                if self._api_key is not None and self._api_key.get_secret_value():
                    headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
                self._client = httpx.Client(base_url=self.base_url or "", headers=headers)
            return self._client

    def _send(
        self, run: _Run, call: HttpCall, *, idempotent: bool, what: str, stream: bool = False
    ) -> tuple[httpx.Response, bytes]:
        """Send ``call``, retrying as the module docstring says, until a 2xx reply.

        Returns the reply and its body (at most ``_JSON_LIMIT + 1`` bytes); with ``stream``
        the body is left unread and the caller closes the reply.
        """
        client = self._http()
        idempotent = idempotent and call.idempotent
        for attempt in itertools.count():
            run.check()
            remaining = run.remaining()
            timeout = httpx.Timeout(
                min(self.request_timeout_s, remaining),
                connect=min(self.connect_timeout_s, remaining),
            )
            request = client.build_request(
                call.method, call.path, timeout=timeout, **call.httpx_kwargs()
            )
            wait: float | None = None
            try:
                response = client.send(request, stream=True, follow_redirects=call.method == "GET")
                if stream and response.status_code < 400:
                    return response, b""
                try:
                    body = _read_limited(response, _JSON_LIMIT)
                finally:
                    response.close()
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.TimeoutException):
                    run.check()  # the deadline capped this request: BackendTimeoutError
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                unsent = unsent or isinstance(exc, httpx.PoolTimeout)
                if not (idempotent or unsent) or attempt >= self.retry.max_retries:
                    raise self._transport_error(exc, what, attempt, maybe_sent=not unsent) from None
                log.info("%s: %s, retrying", what, type(exc).__name__)
            else:
                status = response.status_code
                if status < 400:
                    return response, body
                retryable = status in (429, 503) or (idempotent and status >= 500)
                if not retryable or attempt >= self.retry.max_retries:
                    raise self._http_error(status, body, what, attempt)
                wait = _retry_after(response)
                if wait is not None:
                    wait = min(wait, self.retry.max_retry_after_s)
                log.info("%s: HTTP %d, retrying", what, status)
            run.sleep(wait if wait is not None else self.retry.backoff.delay(attempt, self._rng))
        raise AssertionError("unreachable")  # pragma: no cover

    def _transport_error(
        self, exc: httpx.TransportError, what: str, attempt: int, *, maybe_sent: bool
    ) -> BackendError:
        failure = f"{type(exc).__name__}: {self._scrub(str(exc))}"
        hint = ""
        if maybe_sent and what == "submitting the job":
            hint = (
                "; it was not retried because the service may have accepted the job, so check "
                "the service's dashboard before trying again"
            )
        return BackendError(
            f"{what} failed: could not talk to {self.base_url} ({failure}) after {attempt + 1} "
            f"tries{hint}; check CAMEOGUARD_HTTP_BACKEND_URL and the network",
            code="generation.backend_unreachable",
        )

    def _http_error(self, status: int, body: bytes, what: str, attempt: int) -> BackendError:
        message = self._scrub(self._server_message(body))
        said = f"HTTP {status}: {message}" if message else f"HTTP {status}"
        if status in (401, 403):
            fix = (
                "check CAMEOGUARD_HTTP_BACKEND_API_KEY"
                if self._api_key is not None
                else "no API key is set; set CAMEOGUARD_HTTP_BACKEND_API_KEY"
            )
            return BackendError(
                f"the remote service refused the credentials while {what} ({said}); {fix}",
                code="generation.backend_auth",
            )
        if status == 404:
            return BackendError(
                f"the remote service has no such resource while {what} ({said}); check "
                "CAMEOGUARD_HTTP_BACKEND_URL (the service root, without /v1) and "
                "CAMEOGUARD_HTTP_BACKEND_PROVIDER",
                code="generation.backend_rejected",
            )
        if status < 500 and status != 429:
            return BackendError(
                f"the remote service rejected the request while {what} ({said}); check the "
                "prompt and the options (seconds, size, model)",
                code="generation.backend_rejected",
            )
        tries = f" after {attempt + 1} tries" if attempt else ""
        return BackendError(
            f"the remote service failed while {what} ({said}){tries}; try again later",
            code="generation.backend_unavailable",
        )

    def _server_message(self, body: bytes) -> str:
        text = body.decode("utf-8", "replace").strip()
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        message = self.provider.error_message(payload) if payload is not None else None
        if message is None:
            message = text
        message = " ".join(message.split())
        return message[:_ERROR_SNIPPET] + ("…" if len(message) > _ERROR_SNIPPET else "")

    def _scrub(self, text: str) -> str:
        """``text`` with the API key blanked out (servers sometimes echo what they got)."""
        key = self._api_key.get_secret_value() if self._api_key is not None else ""
        if len(key) >= 4:
            text = text.replace(key, "***")
        return text


@register_backend("http")
def _create_http_backend(settings: Settings) -> Backend:
    return HttpBackend.from_settings(settings)


# --- helpers -----------------------------------------------------------------------------------


def _bad_option(message: str) -> BadInputError:
    return BadInputError(message, code="generation.bad_option")


def _seconds_option(value: Any) -> str:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _bad_option(
                f"the seconds option must be a number of seconds, got {value!r}"
            ) from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise _bad_option(f"the seconds option must be a number of seconds, got {value!r}")
    if not (math.isfinite(number) and number > 0):
        raise _bad_option(f"the seconds option must be positive, got {value!r}")
    return f"{number:g}"


def _size_option(value: Any, max_pixels: int) -> str:
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        raise _bad_option(f"the size option must look like '1280x720', got {value!r}")
    width, height = int(match[1]), int(match[2])
    if width * height > max_pixels:
        raise _bad_option(
            f"the size option {value} is {width * height:,} pixels a frame, the limit is "
            f"{max_pixels:,}; ask for a smaller size or raise CAMEOGUARD_MAX_PIXELS"
        )
    return f"{width}x{height}"


def _positive_option(options: Mapping[str, Any], name: str) -> float:
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad_option(f"the {name} option must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise _bad_option(f"the {name} option must be positive, got {value!r}")
    return float(value)


def _reference(request: BackendRequest) -> Reference:
    """The request's target picture as an upload (its local file name is not sent)."""
    assert request.target is not None
    info = probe(request.target, request.limits)
    if info.type.mime not in _REFERENCE_MIMES:
        raise UnsupportedMediaError(
            f"{request.target}: the remote service takes a JPEG, PNG or WebP picture as the "
            f"reference, not {info.type.format} {info.kind.value}; convert it first"
        )
    return Reference(
        f"input_reference{info.type.extension}", info.path.read_bytes(), info.type.mime
    )


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or "content-encoding" in response.headers:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _too_big(what: str, limit: int) -> BackendError:
    return BackendError(
        f"the remote service's video {what}, over the {limit:,}-byte limit; nothing was kept. "
        "Ask for a shorter or smaller video, or raise CAMEOGUARD_MAX_UPLOAD_BYTES",
        code="generation.backend_bad_output",
    )


def _read_limited(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a streamed body (enough to tell it is too long)."""
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes(_CHUNK):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(parts)[: limit + 1]
