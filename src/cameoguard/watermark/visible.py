"""The optional visible layer: an "AI-generated" badge drawn on images and video frames.

The badge is for people; the invisible mark is for machines. They are separate layers: the
badge is drawn first and the invisible mark embedded after, so the mark also covers the badge
area and nothing about detection depends on the badge. On video the badge moves between the
four corners every ``dwell_s`` seconds (as consumer video generators do), so that cropping one
corner away does not remove it from the whole clip.

Configured with :class:`VisibleBadge` (text, size relative to the short side, opacity, fixed
corner or moving); ``None`` means no visible layer, the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["VisibleBadge"]

Corner = Literal["top-left", "top-right", "bottom-right", "bottom-left"]
_CORNERS: tuple[Corner, ...] = ("top-left", "top-right", "bottom-right", "bottom-left")


@dataclass(frozen=True, slots=True)
class VisibleBadge:
    """A semi-transparent text badge.

    ``height`` is the badge height as a share of the image's short side; ``position`` is a
    corner or ``"moving"`` (video: next corner every ``dwell_s`` seconds; images: bottom-right).
    """

    text: str = "AI-generated"
    height: float = 0.06
    opacity: float = 0.65
    position: Corner | Literal["moving"] = "moving"
    dwell_s: float = 3.0

    def __post_init__(self) -> None:
        if not self.text.isascii() or not self.text.strip() or len(self.text) > 40:
            raise ValueError("badge text must be 1-40 printable ASCII characters")
        if not 0.02 <= self.height <= 0.25:
            raise ValueError(f"badge height must be 0.02-0.25 of the short side, got {self.height}")
        if not 0.1 <= self.opacity <= 1.0:
            raise ValueError(f"badge opacity must be 0.1-1.0, got {self.opacity}")
        if self.dwell_s <= 0:
            raise ValueError(f"dwell_s must be positive, got {self.dwell_s}")

    def corner_at(self, t_s: float) -> Corner:
        if self.position != "moving":
            return self.position
        return _CORNERS[int(max(t_s, 0.0) // self.dwell_s) % len(_CORNERS)]

    def box(self, height: int, width: int, corner: Corner) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the badge for an image of this size in this corner."""
        box_h = max(12, round(min(height, width) * self.height))
        scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, round(box_h * 0.55), 2)
        (text_w, _), _ = cv2.getTextSize(self.text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        box_w = min(width - 2, text_w + box_h)
        margin = max(2, box_h // 3)
        x0 = margin if corner.endswith("left") else width - margin - box_w
        y0 = margin if corner.startswith("top") else height - margin - box_h
        return x0, y0, x0 + box_w, y0 + box_h

    def draw(self, rgb: npt.NDArray[np.uint8], t_s: float | None = None) -> npt.NDArray[np.uint8]:
        """A copy of ``rgb`` with the badge: a video frame at time ``t_s``, or a still image
        (``t_s`` None: the fixed corner, or bottom-right when moving)."""
        h, w = rgb.shape[:2]
        if t_s is None:
            corner: Corner = "bottom-right" if self.position == "moving" else self.position
        else:
            corner = self.corner_at(t_s)
        x0, y0, x1, y1 = self.box(h, w, corner)
        overlay = rgb.copy()
        cv2.rectangle(overlay, (x0, y0), (x1, y1), (20, 20, 20), thickness=-1)
        box_h = y1 - y0
        scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, round(box_h * 0.55), 2)
        (text_w, text_h), _ = cv2.getTextSize(self.text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        origin = (x0 + (x1 - x0 - text_w) // 2, y0 + (box_h + text_h) // 2)
        cv2.putText(overlay, self.text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
        out = cv2.addWeighted(overlay, self.opacity, rgb, 1.0 - self.opacity, 0.0)
        return np.asarray(out, np.uint8)
