"""invisible-watermark's schemes, registered for comparison: ``dwtdct``, ``dwtdctsvd``, ``rivagan``.

They carry 32 raw bits (no error correction, no key), so they cannot hold a keyed cameoguard
payload (:data:`~cameoguard.watermark.payload.CODED_BITS` channel bits); ``payload=False`` in
the registry keeps them out of production marking. They are here so that the benchmark measures
them beside ``tiled`` in one run, under the same attacks. Measured on this 2-core VM (GUIDE.md
and ``benchmarks/watermark.py``): dwtDct fails even unattacked on many images, dwtDctSvd loses
crops and brightness changes, rivaGan survives them but costs seconds per 720p frame.

The key is ignored: these schemes have none, which is one more reason not to use them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cameoguard.errors import WatermarkCapacityError
from cameoguard.media.types import MediaKind
from cameoguard.watermark.base import Bits, SoftBits, register_scheme
from cameoguard.watermark.keys import WatermarkKey

__all__ = ["ImwatermarkScheme"]

RAW_BITS = 32
_RIVA_LOCK = threading.Lock()


class ImwatermarkScheme:
    """One invisible-watermark method behind the :class:`ImageScheme` protocol (32 bits)."""

    capacity_bits = RAW_BITS
    max_candidates = 1
    min_side = 256

    def __init__(self, method: str) -> None:
        self.method = method
        self.name = {"dwtDct": "dwtdct", "dwtDctSvd": "dwtdctsvd", "rivaGan": "rivagan"}[method]

    def _check(self, rgb: npt.NDArray[np.uint8], bits: Bits) -> list[int]:
        h, w = rgb.shape[:2]
        if h * w < 256 * 256:
            raise WatermarkCapacityError(
                f"image is {w}x{h}; invisible-watermark needs at least 256x256 pixels"
            )
        flat = np.asarray(bits, np.uint8).reshape(-1)
        if flat.shape != (RAW_BITS,) or np.any(flat > 1):
            raise ValueError(f"expected {RAW_BITS} bits of 0/1, got shape {flat.shape}")
        return [int(b) for b in flat]

    def embed_image(self, rgb: npt.NDArray[np.uint8], bits: Bits) -> npt.NDArray[np.uint8]:
        from imwatermark import WatermarkEncoder

        values = self._check(rgb, bits)
        encoder = WatermarkEncoder()
        encoder.set_watermark("bits", values)
        if self.method == "rivaGan":
            _load_riva()
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        marked: Any = encoder.encode(bgr, self.method)
        return np.ascontiguousarray(np.asarray(marked, np.uint8)[:, :, ::-1])

    def detect_image(self, rgb: npt.NDArray[np.uint8]) -> list[SoftBits]:
        h, w = rgb.shape[:2]
        if h * w < 256 * 256:
            return []
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        if self.method == "rivaGan":
            soft = _riva_soft(bgr)
        else:
            from imwatermark import WatermarkDecoder

            decoder = WatermarkDecoder("bits", RAW_BITS)
            hard = np.asarray(decoder.decode(bgr, self.method), np.float64)
            soft = hard * 2.0 - 1.0
        return [SoftBits(soft, float(np.mean(np.abs(soft))), "whole image")]

    def video_embedder(
        self, bits: Bits, height: int, width: int, reference: Sequence[npt.NDArray[np.uint8]] = ()
    ) -> Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.uint8]]:
        return lambda rgb: self.embed_image(rgb, bits)

    def detect_frames(self, frames: Iterable[npt.NDArray[np.uint8]]) -> list[SoftBits]:
        total: npt.NDArray[np.float64] | None = None
        for rgb in frames:
            for cand in self.detect_image(rgb):
                total = cand.values if total is None else total + cand.values
        if total is None:
            return []
        return [SoftBits(total, float(np.mean(np.abs(total))), "sum over frames")]


def _load_riva() -> None:
    from imwatermark.rivaGan import RivaWatermark

    with _RIVA_LOCK:
        RivaWatermark.loadModel()


def _riva_soft(bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """rivaGan's decoder output before its 0.52 threshold, centred: positive means 1."""
    from imwatermark.rivaGan import RivaWatermark

    _load_riva()
    frame = (bgr.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None, :, None, :, :]
    out = RivaWatermark.decoder.run(None, {"frame": np.ascontiguousarray(frame)})
    return np.asarray(out[0][0], np.float64) - 0.52


def _register(method: str, name: str, description: str) -> None:
    def factory(key: WatermarkKey) -> ImwatermarkScheme:
        return ImwatermarkScheme(method)

    register_scheme(name, kind=MediaKind.IMAGE, description=description, payload=False)(factory)


_register("dwtDct", "dwtdct", "invisible-watermark dwtDct, 32 raw bits (baseline)")
_register("dwtDctSvd", "dwtdctsvd", "invisible-watermark dwtDctSvd, 32 raw bits (baseline)")
_register("rivaGan", "rivagan", "invisible-watermark rivaGan (ONNX), 32 raw bits (baseline)")
