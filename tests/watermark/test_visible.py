"""The visible badge layer: where it is drawn, that it moves in video, and that it is separate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cameoguard.media import Limits, load_image, save_image, write_video
from cameoguard.media.video import iter_frames
from cameoguard.settings import Settings
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.marker import Watermarker
from cameoguard.watermark.visible import VisibleBadge

from .conftest import picture


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30


def test_badge_is_drawn_in_its_corner_only() -> None:
    rgb = picture(640, 480)
    badge = VisibleBadge(position="top-left")
    out = badge.draw(rgb)
    x0, y0, x1, y1 = badge.box(480, 640, "top-left")
    changed = _changed(out, rgb)
    assert changed[y0:y1, x0:x1].mean() > 0.5
    changed[y0 : y1 + 1, x0 : x1 + 1] = False  # cv2 rectangles include their far edge
    assert not changed.any()
    assert np.array_equal(rgb, picture(640, 480)), "input untouched"


def test_moving_badge_visits_every_corner() -> None:
    badge = VisibleBadge(dwell_s=1.0)
    corners = [badge.corner_at(t) for t in (0.5, 1.5, 2.5, 3.5, 4.5)]
    assert corners == ["top-left", "top-right", "bottom-right", "bottom-left", "top-left"]
    assert VisibleBadge(position="bottom-left").corner_at(99) == "bottom-left"


@pytest.mark.parametrize("bad", [{"text": ""}, {"text": "é"}, {"height": 0.5}, {"opacity": 0}])
def test_bad_badge_settings(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"badge|must"):
        VisibleBadge(**bad)  # type: ignore[arg-type]


def test_badge_and_invisible_mark_together(settings: Settings, tmp_path: Path) -> None:
    limits = Limits.from_settings(settings)
    marker = Watermarker(WatermarkKey(bytes(range(32))))
    src = save_image(picture(640, 480), tmp_path / "in.png")
    out = marker.embed_file(src, tmp_path / "out.png", 5, limits, badge=VisibleBadge()).path
    marked = load_image(out, limits)
    x0, y0, x1, y1 = VisibleBadge().box(480, 640, "bottom-right")
    assert _changed(marked, picture(640, 480))[y0:y1, x0:x1].mean() > 0.5
    assert marker.detect_file(out, limits).payload == 5
    frames = [picture(512, 288, 0)] * 40
    video = write_video(tmp_path / "v.mp4", frames, fps=10)
    vout = marker.embed_file(video, tmp_path / "vo.mp4", 6, limits,
                             badge=VisibleBadge(dwell_s=1.0)).path  # fmt: skip
    decoded = [f.rgb for f in iter_frames(vout, limits)]
    first, second = decoded[5], decoded[15]  # t = 0.5 s (top-left), 1.5 s (top-right)
    tl = VisibleBadge().box(288, 512, "top-left")
    assert _changed(first, frames[0])[tl[1] : tl[3], tl[0] : tl[2]].mean() > 0.5
    assert _changed(second, frames[0])[tl[1] : tl[3], tl[0] : tl[2]].mean() < 0.1
    assert marker.detect_file(vout, limits).payload == 6
