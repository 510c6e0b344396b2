"""The remote-service mapping behind the ``http`` backend: what to send, and how to read replies.

A :class:`JobSpec` (model, prompt, seconds, size and an optional image :class:`Reference`) flows
in; a :class:`Provider` turns it into :class:`HttpCall` values (create, retrieve, download,
cancel), each a method, a path relative to the service root and a body; a decoded JSON reply
flows back in and comes out as a :class:`RemoteJob` (id, :class:`JobStatus`, progress, error)
or as the human message of an error reply. Nothing here does I/O: sending the calls, retries,
polling and the download belong to :mod:`cameoguard.generator_adapter.backends.http`.

Providers are registered by name (:func:`register_provider`, :func:`create_provider`), like
backends; this module ships ``openai_videos``, OpenAI's Videos API (``POST /v1/videos``,
``GET /v1/videos/{id}``, ``GET /v1/videos/{id}/content``, ``DELETE /v1/videos/{id}``).
"""

from __future__ import annotations

import abc
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from cameoguard.errors import BackendError, ConfigurationError

__all__ = [
    "PROVIDERS",
    "HttpCall",
    "JobSpec",
    "JobStatus",
    "OpenAIVideosProvider",
    "Provider",
    "Reference",
    "RemoteJob",
    "available_providers",
    "create_provider",
    "register_provider",
]


class JobStatus(StrEnum):
    """Where a remote job stands."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Reference:
    """An image that guides the generation (the request's ``target``), ready to upload."""

    filename: str
    content: bytes = field(repr=False)
    mime: str


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What to generate, in the backend's terms; a provider turns it into a create call."""

    model: str
    prompt: str = field(repr=False)
    seconds: str
    size: str
    reference: Reference | None = None


@dataclass(frozen=True, slots=True)
class HttpCall:
    """One HTTP request, relative to the service root.

    ``fields`` and ``files`` make a ``multipart/form-data`` body (``files`` maps a field name
    to ``(filename, bytes, content type)``); ``json`` a JSON body.
    """

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict, repr=False)
    files: Mapping[str, tuple[str, bytes, str]] = field(default_factory=dict, repr=False)
    json: Any = field(default=None, repr=False)

    @property
    def idempotent(self) -> bool:
        return self.method.upper() in ("GET", "HEAD", "DELETE", "PUT", "OPTIONS")

    def httpx_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.params:
            kwargs["params"] = dict(self.params)
        if self.fields or self.files:
            # Every part goes through ``files`` so the body is multipart even without a file.
            parts: list[tuple[str, tuple[str | None, bytes, str | None]]] = [
                (name, (None, value.encode(), None)) for name, value in self.fields.items()
            ]
            parts += [(name, upload) for name, upload in self.files.items()]
            kwargs["files"] = parts
        elif self.json is not None:
            kwargs["json"] = self.json
        return kwargs


@dataclass(frozen=True, slots=True)
class RemoteJob:
    """A job as the service describes it. ``progress`` is a fraction in [0, 1] when known."""

    id: str
    status: JobStatus
    progress: float | None = None
    model: str | None = None
    seconds: str | None = None
    size: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class Provider(abc.ABC):
    """The wire protocol of one remote service: requests to send and how to read replies."""

    name: ClassVar[str]
    #: ``Content-Type`` values accepted for the downloaded video.
    content_types: ClassVar[frozenset[str]] = frozenset({"video/mp4"})

    @abc.abstractmethod
    def create_call(self, spec: JobSpec) -> HttpCall:
        """The request that submits a job."""

    @abc.abstractmethod
    def parse_job(self, payload: Any) -> RemoteJob:
        """A job from a create or retrieve reply; ``ValueError`` when it is not one."""

    @abc.abstractmethod
    def retrieve_call(self, job_id: str) -> HttpCall:
        """The request that describes a job (polled until it is finished)."""

    @abc.abstractmethod
    def download_call(self, job_id: str) -> HttpCall:
        """The request whose body is the finished video."""

    def cancel_call(self, job_id: str) -> HttpCall | None:
        """The request that stops (or deletes) a job; None when the service has none."""
        return None

    def error_message(self, payload: Any) -> str | None:
        """The human message in an error reply (``{"error": {"message": ...}}`` by default)."""
        if not isinstance(payload, dict):
            return None
        error = payload.get("error")
        if isinstance(error, dict):
            message, code = error.get("message"), error.get("code")
            if isinstance(message, str) and message:
                return f"{message} [{code}]" if isinstance(code, str) and code else message
        elif isinstance(error, str) and error:
            return error
        for key in ("message", "detail"):
            if isinstance(payload.get(key), str) and payload[key]:
                return str(payload[key])
        return None


#: name -> provider class (registered with :func:`register_provider`).
PROVIDERS: dict[str, type[Provider]] = {}


def register_provider(name: str) -> Callable[[type[Provider]], type[Provider]]:
    """Register a provider class under ``name``; a name registered twice raises ``ValueError``."""

    def decorator(cls: type[Provider]) -> type[Provider]:
        if name in PROVIDERS:
            raise ValueError(f"http backend provider {name!r} is already registered")
        cls.name = name
        PROVIDERS[name] = cls
        return cls

    return decorator


def available_providers() -> list[str]:
    return sorted(PROVIDERS)


def create_provider(name: str) -> Provider:
    """The provider registered as ``name``; an unknown name lists the known ones."""
    cls = PROVIDERS.get(name)
    if cls is None:
        raise ConfigurationError(
            f"unknown http backend provider {name!r}; set CAMEOGUARD_HTTP_BACKEND_PROVIDER to "
            f"one of {', '.join(available_providers())}",
            code="generation.provider_unknown",
        )
    return cls()


@register_provider("openai_videos")
class OpenAIVideosProvider(Provider):
    """OpenAI's Videos API (Sora): multipart create, JSON job objects, MP4 content."""

    def create_call(self, spec: JobSpec) -> HttpCall:
        files: dict[str, tuple[str, bytes, str]] = {}
        if spec.reference is not None:
            ref = spec.reference
            files["input_reference"] = (ref.filename, ref.content, ref.mime)
        return HttpCall(
            "POST",
            "/v1/videos",
            fields={
                "model": spec.model,
                "prompt": spec.prompt,
                "seconds": spec.seconds,
                "size": spec.size,
            },
            files=files,
        )

    def parse_job(self, payload: Any) -> RemoteJob:
        if not isinstance(payload, dict):
            raise ValueError("the reply is not a JSON object")
        job_id, status = payload.get("id"), payload.get("status")
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("the reply has no job id")
        try:
            job_status = JobStatus(str(status))
        except ValueError:
            raise ValueError(f"the job status {status!r} is not one this client knows") from None
        progress = payload.get("progress")
        fraction = None
        if isinstance(progress, int | float) and math.isfinite(progress):
            fraction = min(1.0, max(0.0, float(progress) / 100.0))
        error = payload.get("error")
        code = message = None
        if isinstance(error, dict):
            code = _str_or_none(error.get("code"))
            message = _str_or_none(error.get("message"))
        return RemoteJob(
            id=job_id,
            status=job_status,
            progress=fraction,
            model=_str_or_none(payload.get("model")),
            seconds=_str_or_none(payload.get("seconds")),
            size=_str_or_none(payload.get("size")),
            error_code=code,
            error_message=message,
        )

    def retrieve_call(self, job_id: str) -> HttpCall:
        return HttpCall("GET", f"/v1/videos/{_path_segment(job_id)}")

    def download_call(self, job_id: str) -> HttpCall:
        return HttpCall(
            "GET", f"/v1/videos/{_path_segment(job_id)}/content", params={"variant": "video"}
        )

    def cancel_call(self, job_id: str) -> HttpCall | None:
        return HttpCall("DELETE", f"/v1/videos/{_path_segment(job_id)}")


def _str_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return f"{value:g}"
    return value if isinstance(value, str) and value else None


def _path_segment(job_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,200}", job_id):
        raise BackendError(
            f"the remote service returned a job id that is not a plain token ({job_id[:60]!r})"
            "; check CAMEOGUARD_HTTP_BACKEND_PROVIDER matches the service",
            code="generation.backend_protocol",
        )
    return job_id
