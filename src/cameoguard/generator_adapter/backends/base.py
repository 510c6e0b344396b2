"""The backend protocol: what a generator must do, and the registry that names them.

A backend turns a :class:`BackendRequest` (prompt, authorized cameo likenesses, an optional
target or parent file, options, a private work directory) into :class:`RawMedia`: an unmarked
file *inside that work directory*. Raw media never leaves the package: only
:mod:`cameoguard.generator_adapter.pipeline` calls backends, and it hands their output straight
to the watermark / sign / verify / ledger stages, then deletes the work directory.

Backends are registered by a stable name (``cameo_composite``, ``http``, ``diffusers``); a
name registered twice raises, an unknown name lists the known ones. Creating a backend loads
nothing heavy; models load on first use. Backends are context managers (``close`` releases
models and connections).

Cancellation is cooperative: long-running backends call :meth:`BackendRequest.check_cancelled`
between frames or polls; it raises :class:`~cameoguard.errors.GenerationCancelledError`.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from cameoguard.errors import ConfigurationError, GenerationCancelledError
from cameoguard.media.types import AudioClip, Limits, MediaKind

if TYPE_CHECKING:
    from cameoguard.settings import Settings

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendRequest",
    "CameoLikeness",
    "CancelToken",
    "RawMedia",
    "available_backends",
    "create_backend",
    "register_backend",
]

Image = npt.NDArray[np.uint8]


class CancelToken:
    """Set by the caller (another thread, a signal handler) to stop a generation."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cancelled meanwhile (for polling loops)."""
        return self._event.wait(max(0.0, seconds))


@dataclass(frozen=True, slots=True)
class CameoLikeness:
    """An authorized cameo's reference faces, handed to a backend only after consent.

    ``faces`` are RGB face pictures from enrollment, sharpest and most frontal first. They are
    biometric: backends must not log, cache or send them anywhere the request does not say.
    """

    cameo_id: str
    grant_id: str
    faces: tuple[Image, ...] = field(repr=False)


@dataclass(frozen=True)
class BackendRequest:
    """One generation, as a backend sees it (consent has already been granted)."""

    prompt: str
    kind: MediaKind
    workdir: Path
    limits: Limits
    cameos: tuple[CameoLikeness, ...] = ()
    target: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    cancel: CancelToken = field(default_factory=CancelToken)
    progress: Callable[[float, str], None] | None = None

    def check_cancelled(self) -> None:
        if self.cancel.cancelled:
            raise GenerationCancelledError("the generation was cancelled; nothing was written")

    def report(self, fraction: float, message: str) -> None:
        if self.progress is not None:
            self.progress(min(1.0, max(0.0, fraction)), message)

    def output_path(self, suffix: str) -> Path:
        """Where a backend writes its raw output (inside the private work directory)."""
        return self.workdir / f"raw{suffix if suffix.startswith('.') else '.' + suffix}"

    def write_video(
        self, frames: Iterable[Image], fps: float, audio: AudioClip | None = None
    ) -> Path:
        """Encode frames (and sound) as a near-lossless MP4 in the work directory."""
        from cameoguard.media.video import write_video

        return write_video(self.output_path(".mp4"), frames, fps, audio, crf=16, preset="veryfast")

    def write_image(self, rgb: Image) -> Path:
        from cameoguard.media.image import save_image

        return save_image(rgb, self.output_path(".png"))


@dataclass(frozen=True, slots=True)
class RawMedia:
    """Unmarked backend output: a file inside the request's work directory.

    ``model`` / ``model_version`` name what produced the pixels (for the manifest's
    ``softwareAgent``); ``details`` are facts for the generation record (frames swapped,
    remote job id...), never biometric data.
    """

    path: Path
    kind: MediaKind
    model: str
    model_version: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class Backend(abc.ABC):
    """A generator. Subclasses set the class attributes and implement :meth:`generate`."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    #: Output kinds this backend can produce.
    kinds: ClassVar[frozenset[MediaKind]]
    #: Needs a requester-supplied target picture or video (the composite swaps into it).
    needs_target: ClassVar[bool] = False
    #: Needs at least one cameo (it renders a likeness it is given).
    needs_cameo: ClassVar[bool] = False

    @abc.abstractmethod
    def generate(self, request: BackendRequest) -> RawMedia:
        """Produce raw media in ``request.workdir``; raise a CameoguardError on failure."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models, sessions and connections."""

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "kinds": sorted(k.value for k in self.kinds),
            "needs_target": self.needs_target,
            "needs_cameo": self.needs_cameo,
        }

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


BackendFactory = Callable[["Settings"], Backend]

#: name -> factory taking the settings (registered by the backend modules).
BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Register a factory under ``name``; a name registered twice raises ``ValueError``."""

    def decorator(factory: BackendFactory) -> BackendFactory:
        if name in BACKENDS:
            raise ValueError(f"generator backend {name!r} is already registered")
        BACKENDS[name] = factory
        return factory

    return decorator


def _load_builtin() -> None:
    from cameoguard.generator_adapter.backends import (  # noqa: F401
        composite,
        diffusers_backend,
        http,
    )


def available_backends() -> list[str]:
    _load_builtin()
    return sorted(BACKENDS)


def create_backend(name: str, settings: Settings) -> Backend:
    """The backend registered as ``name``, configured from ``settings`` (models load lazily)."""
    _load_builtin()
    factory = BACKENDS.get(name)
    if factory is None:
        raise ConfigurationError(
            f"unknown generator backend {name!r}; choose one of {', '.join(sorted(BACKENDS))}",
            code="generation.backend_unknown",
        )
    return factory(settings)
