"""Demo helpers for steps 8 to 10: the people and the target video, and step 9 (detection).

Steps 8 and 10 (the consent story over HTTP) are in :mod:`cameoguard.demo_service`. With
``../shared/data`` alice is Obama (three real photos) rendered into a target video made from a
photo of Biden; without it, NASA's public-domain portrait of Eileen Collins (in scikit-image)
is rendered into a target video made from a mirrored, colour-shifted copy of the same
portrait. The target video (4 s, 25 fps, slow zoom and pan, a synthetic voice track) is made
here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from rich.console import Console

from cameoguard.media import Limits, load_image, write_video
from cameoguard.settings import Settings

__all__ = ["detection_step", "make_target_video"]

Row = tuple[str, str, str, str, bool]
#: ``../shared/data`` beside the checkout (project machines only).
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
Image = npt.NDArray[np.uint8]


def _people(out: Path) -> tuple[list[Path], Image, str]:
    """Enrollment photos, a target picture of someone (else), and where they came from."""
    from cameoguard.demo import _portraits

    photos, where = _portraits(out)
    biden = Path(__file__).resolve().parents[3] / "shared/data/faces/face_recognition/biden"
    limits = Limits(64 << 20, 50_000_000, 60.0, 60.0)
    if len(photos) >= 3 and (biden / "biden.jpg").is_file():
        return photos, load_image(biden / "biden.jpg", limits), where + "; target: Biden"
    portrait = load_image(photos[0], limits)
    tint = np.array([12, -6, -10], dtype=np.int16)
    shifted = np.clip(portrait[:, ::-1].astype(np.int16) + tint, 0, 255)
    return photos, shifted.astype(np.uint8), where + "; target: the same portrait, mirrored"


def make_target_video(
    picture: Image,
    path: Path,
    seconds: float = 4.0,
    fps: int = 25,
    size: tuple[int, int] = (640, 480),
    face: tuple[float, float, float, float] | None = None,
) -> Path:
    """A slow zoom and pan over ``picture`` (around ``face``, a box) with a synthetic voice."""
    from cameoguard.demo import make_voice

    width, height = size
    if face is not None:  # frame the face: a 4:3 window about 3 face heights tall
        x0, y0, x1, y1 = face
        win_h = min(picture.shape[0], 3.0 * (y1 - y0))
        win_w = min(picture.shape[1], win_h * width / height)
        cx = min(max((x0 + x1) / 2, win_w / 2), picture.shape[1] - win_w / 2)
        cy = min(max((y0 + y1) / 2, win_h / 2), picture.shape[0] - win_h / 2)
        left, top = round(cx - win_w / 2), round(cy - win_h / 2)
        picture = np.ascontiguousarray(
            picture[top : top + round(win_h), left : left + round(win_w)]
        )
    h, w = picture.shape[:2]
    scale = max(width / w, height / h) * 1.15
    frames: list[Image] = []
    n = int(seconds * fps)
    for i in range(n):
        t = i / max(n - 1, 1)
        zoom = scale * (1.0 + 0.08 * t)
        dx = (w * zoom - width) * (0.35 + 0.3 * t)
        dy = (h * zoom - height) * 0.4
        matrix = np.array([[zoom, 0.0, -dx], [0.0, zoom, -dy]], dtype=np.float64)
        frame = cv2.warpAffine(
            picture, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        frames.append(np.ascontiguousarray(frame, dtype=np.uint8))
    return write_video(path, frames, fps=fps, audio=make_voice(seconds), crf=18)


def _enroll(registry: Any, photos: list[Path], limits: Limits) -> str:
    from cameoguard.consent.enrollment import photo_samples

    if len(photos) >= 3:
        return str(registry.enroll_photos("alice", "Alice", photos).cameo.id)
    rgb = load_image(photos[0], limits)
    samples = photo_samples(
        [(photos[0].name, rgb)], registry.detector, registry.embedder, registry.rules, min_photos=1
    )
    return str(registry.enroll_samples("alice", "Alice", samples).cameo.id)


def detection_step(console: Console, out: Path, settings: Settings) -> list[Row]:
    """The verify flow with the shipped detector: the fused verdict of the stripped composite
    (hard evidence from the ledger, the detector's calibrated score beside it) and of a face
    swap nobody here made (FaceForensics++ FaceSwap from ``../shared/data`` when present)."""
    from cameoguard.detection.fusion import AuthenticityLabel, EvidenceKind
    from cameoguard.detection.scorer import BUILTIN
    from cameoguard.verification import Verifier

    rows: list[Row] = []
    configured = settings.model_copy(update={"detector_model": Path(BUILTIN)})
    files = [out / "composite.reposted.mp4"]
    stranger = SHARED_DATA / "real_fake/videos/ffpp/FaceSwap/634_660.mp4"
    if stranger.is_file():
        files.append(stranger)
    with Verifier.from_settings(configured) as verifier:
        if verifier.scorer is None:
            return [
                (
                    "passive detector",
                    "the built-in model",
                    "unavailable",
                    verifier.scorer_problem,
                    False,
                )
            ]
        for path in files:
            if not path.is_file():
                continue
            report = verifier.verify(path).authenticity
            console.print(f"{path.name}: [bold]{report.headline}[/bold]")
            for item in report.evidence:
                console.print(f"  [{item.kind.value}] {item.source}: {item.sentence}")
            scored = [e for e in report.evidence if e.source == "detector"]
            statistical = bool(scored) and scored[0].kind is EvidenceKind.STATISTICAL
            if path == files[0]:
                good = report.label is AuthenticityLabel.MADE_HERE and statistical
                expected = "made here (ledger) + detector score"
            else:
                good = statistical and report.label in {
                    AuthenticityLabel.LIKELY_MANIPULATED,
                    AuthenticityLabel.UNCERTAIN,
                    AuthenticityLabel.NO_EVIDENCE,
                }
                expected = "no provenance; calibrated detector score"
            rows.append(
                (
                    path.name,
                    expected,
                    report.label.value,
                    scored[0].sentence if scored else "-",
                    good,
                )
            )
    return rows
