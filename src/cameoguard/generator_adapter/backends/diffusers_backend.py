"""The ``diffusers`` backend: text-to-image with a local Hugging Face diffusers pipeline.

A :class:`~cameoguard.generator_adapter.backends.base.BackendRequest` (prompt and options)
flows in; the pipeline at ``CAMEOGUARD_DIFFUSERS_MODEL_PATH`` renders one picture, written as a
PNG into the request's work directory and returned as
:class:`~cameoguard.generator_adapter.backends.base.RawMedia`. Cameo likenesses and targets are
not used.

``diffusers`` (with ``transformers`` and ``accelerate``) is the optional extra
``cameoguard[diffusers]``: importing this module imports neither it nor torch. The first
:meth:`DiffusersBackend.generate` checks the model folder, imports diffusers and loads the
pipeline with ``local_files_only=True``: nothing is ever downloaded. A missing folder raises
:class:`~cameoguard.errors.ModelUnavailableError`, a missing package
:class:`~cameoguard.errors.ConfigurationError`.

Options: ``seed`` (int, reproducible noise), ``steps`` (inference steps), ``guidance``
(classifier-free guidance scale), ``width`` / ``height`` (multiples of 8), ``negative_prompt``.
Cancellation is checked between denoising steps when the pipeline takes
``callback_on_step_end``, which also reports progress.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cameoguard.errors import (
    BackendError,
    BadInputError,
    ConfigurationError,
    GenerationCancelledError,
    ModelUnavailableError,
)
from cameoguard.generator_adapter.backends.base import (
    Backend,
    BackendRequest,
    RawMedia,
    register_backend,
)
from cameoguard.media.types import MediaKind

if TYPE_CHECKING:
    from cameoguard.settings import Settings

__all__ = ["DiffusersBackend"]

log = logging.getLogger(__name__)

_DEFAULT_STEPS = 30
_MAX_STEPS = 500


class _Interrupted(Exception):
    """Raised inside the step callback to stop the pipeline when the caller cancels."""


class DiffusersBackend(Backend):
    """Text-to-image with a diffusers pipeline loaded from a local folder on first use."""

    name = "diffusers"
    kinds = frozenset({MediaKind.IMAGE})
    needs_target = False
    needs_cameo = False

    def __init__(self, model_path: Path | None, *, device: str | None = None) -> None:
        self.model_path = model_path
        self.device = device
        self._pipeline: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> DiffusersBackend:
        return cls(settings.diffusers_model_path)

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "model_path": str(self.model_path) if self.model_path else None,
        }

    def close(self) -> None:
        with self._lock:
            pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None and str(getattr(pipeline, "device", "")).startswith("cuda"):
            import torch

            del pipeline
            torch.cuda.empty_cache()

    # -- loading

    def _check_folder(self) -> Path:
        if self.model_path is None:
            raise ModelUnavailableError(
                "the diffusers backend has no model; set CAMEOGUARD_DIFFUSERS_MODEL_PATH to a "
                "local diffusers pipeline folder (one with model_index.json); nothing is "
                "downloaded"
            )
        path = self.model_path
        if not (path / "model_index.json").is_file():
            what = "does not exist" if not path.exists() else "has no model_index.json"
            raise ModelUnavailableError(
                f"{path}: the diffusers pipeline folder {what}; point "
                "CAMEOGUARD_DIFFUSERS_MODEL_PATH at a folder saved with "
                "DiffusionPipeline.save_pretrained (nothing is downloaded)"
            )
        return path

    def _load(self) -> Any:
        with self._lock:
            if self._pipeline is not None:
                return self._pipeline
            path = self._check_folder()
            try:
                diffusers = importlib.import_module("diffusers")
            except ImportError as exc:
                raise ConfigurationError(
                    f"the diffusers backend needs the optional packages ({exc.name or exc} is "
                    "missing); install cameoguard[diffusers]",
                    code="generation.backend_unconfigured",
                ) from None
            import torch

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            dtype = torch.float16 if device.startswith("cuda") else torch.float32
            try:
                pipeline = diffusers.DiffusionPipeline.from_pretrained(
                    str(path), local_files_only=True, torch_dtype=dtype
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ModelUnavailableError(
                    f"{path}: the diffusers pipeline could not be loaded ({type(exc).__name__}: "
                    f"{str(exc)[:300]}); check CAMEOGUARD_DIFFUSERS_MODEL_PATH points at a "
                    "complete pipeline saved with save_pretrained"
                ) from None
            pipeline = pipeline.to(device)
            if hasattr(pipeline, "set_progress_bar_config"):
                pipeline.set_progress_bar_config(disable=True)
            log.info("loaded diffusers pipeline %s on %s", type(pipeline).__name__, device)
            self._pipeline = pipeline
            return pipeline

    # -- generate

    def generate(self, request: BackendRequest) -> RawMedia:
        if request.kind is not MediaKind.IMAGE:
            raise BadInputError(
                f"the diffusers backend makes pictures, not {request.kind.value}s; ask for "
                "kind 'image' or choose another backend",
                code="generation.bad_option",
            )
        params = _parameters(request)
        request.check_cancelled()
        pipeline = self._load()
        import torch

        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "num_inference_steps": params["steps"],
        }
        for key, name in (("guidance", "guidance_scale"), ("width", "width"), ("height", "height")):
            if params[key] is not None:
                kwargs[name] = params[key]
        if params["negative_prompt"] is not None:
            kwargs["negative_prompt"] = params["negative_prompt"]
        if params["seed"] is not None:
            generator_device = "cpu" if str(pipeline.device) == "mps" else str(pipeline.device)
            kwargs["generator"] = torch.Generator(generator_device).manual_seed(params["seed"])
        accepted = inspect.signature(pipeline.__call__).parameters
        if "callback_on_step_end" in accepted:
            steps = params["steps"]

            def on_step(_pipe: Any, step: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
                if request.cancel.cancelled:
                    raise _Interrupted
                request.report((step + 1) / steps, f"denoising step {step + 1}/{steps}")
                return tensors

            kwargs["callback_on_step_end"] = on_step
        unknown = sorted(set(kwargs) - set(accepted) - {"prompt"})
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            raise BadInputError(
                f"the {type(pipeline).__name__} pipeline takes no {', '.join(unknown)}; drop "
                "those options",
                code="generation.bad_option",
            )
        request.report(0.0, "rendering")
        try:
            with torch.inference_mode():
                result = pipeline(**kwargs)
        except _Interrupted:
            raise GenerationCancelledError(
                "the generation was cancelled between denoising steps; nothing was written"
            ) from None
        except (RuntimeError, ValueError) as exc:
            raise BackendError(
                f"the diffusers pipeline failed ({type(exc).__name__}: {str(exc)[:300]}); check "
                "the options (width and height must be multiples of 8) and the free memory"
            ) from None
        request.check_cancelled()
        flagged = getattr(result, "nsfw_content_detected", None)
        if flagged and any(flagged):
            raise BackendError(
                "the pipeline's safety checker flagged the picture and blanked it; change the "
                "prompt",
                code="generation.backend_refused",
            )
        image = result.images[0]
        rgb = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
        path = request.write_image(rgb)
        request.report(1.0, "rendered")
        cls = type(pipeline).__name__
        model_name = Path(str(getattr(pipeline.config, "_name_or_path", "") or "")).name
        return RawMedia(
            path,
            MediaKind.IMAGE,
            model=f"{cls}/{model_name or (self.model_path.name if self.model_path else cls)}",
            model_version=None,
            details={
                "pipeline": cls,
                "steps": params["steps"],
                "guidance": params["guidance"],
                "seed": params["seed"],
                "width": int(rgb.shape[1]),
                "height": int(rgb.shape[0]),
                "device": str(pipeline.device),
            },
        )


def _parameters(request: BackendRequest) -> dict[str, Any]:
    options = request.options

    def bad(message: str) -> BadInputError:
        return BadInputError(message, code="generation.bad_option")

    def integer(name: str, low: int, high: int) -> int | None:
        value = options.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise bad(
                f"the {name} option must be a whole number from {low} to {high}, got {value!r}"
            )
        return value

    seed = integer("seed", 0, 2**63 - 1)
    steps = integer("steps", 1, _MAX_STEPS) or _DEFAULT_STEPS
    width, height = integer("width", 8, 8192), integer("height", 8, 8192)
    for name, side in (("width", width), ("height", height)):
        if side is not None and side % 8:
            raise bad(f"the {name} option must be a multiple of 8, got {side}")
    if width is not None and height is not None and width * height > request.limits.max_pixels:
        raise bad(
            f"{width}x{height} is over the {request.limits.max_pixels:,}-pixel limit; ask for "
            "a smaller picture or raise CAMEOGUARD_MAX_PIXELS"
        )
    guidance = options.get("guidance")
    if guidance is not None and (
        isinstance(guidance, bool) or not isinstance(guidance, int | float) or not guidance >= 0
    ):
        raise bad(f"the guidance option must be a number of at least 0, got {guidance!r}")
    negative = options.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise bad(f"the negative_prompt option must be text, got {type(negative).__name__}")
    return {
        "seed": seed,
        "steps": steps,
        "width": width,
        "height": height,
        "guidance": float(guidance) if guidance is not None else None,
        "negative_prompt": negative,
    }


@register_backend("diffusers")
def _create_diffusers_backend(settings: Settings) -> Backend:
    return DiffusersBackend.from_settings(settings)
