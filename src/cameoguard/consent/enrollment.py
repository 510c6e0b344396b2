"""Enrollment samples: from photos or a short video to checked, embedded face samples.

What flows through: photos (decoded RGB arrays with a label each) or a video file go through
the face detector; each candidate sample must show exactly one face, large enough and sharp
enough; the set must be one person, without duplicates, seen from more than one angle. A
video must also pass a liveness check: the face is there in most frames, the head turns
(yaw span), the frames are not one still image replayed and no frame repeats. What passes
comes back as :class:`Sample` values (embedding, aligned face crop, measurements) for the
registry to store; what fails raises :class:`~cameoguard.errors.EnrollmentError` whose
message lists every problem found, per photo or per time in the video, and what to do.

The liveness check is a motion challenge, not presentation-attack detection: a video of a
real turning head passes, and so would a well-made replay of one on a screen or a synthesised
turn. Identity rules (not someone else's face, not a protected person) are the registry's.

Thresholds (:class:`EnrollmentRules`) were measured on ``../shared/data``: all 56 single-face
photos pass the per-photo checks; the first 9 s of FaceForensics++ original 004 (a real
interview, the head turning about 60 degrees in all) pass liveness, and 634 (29 degrees over
24 sampled frames) does not.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from cameoguard.consent.embedders.base import FaceEmbedder
from cameoguard.consent.faces import DetectedFace, FaceDetector, aligned_crop, sharpness
from cameoguard.errors import EnrollmentError
from cameoguard.media import Limits, probe, sample_frames
from cameoguard.media.types import MediaKind

__all__ = [
    "EnrollmentRules",
    "LivenessReport",
    "Problem",
    "Sample",
    "find_loop",
    "photo_samples",
    "video_samples",
]

CROP_SIZE = 160
#: The face picture kept with each sample: aligned, 256 px, with room for jaw and forehead (the
#: cameo_composite backend renders the likeness from it; deleted with the cameo).
LIKENESS_SIZE = 256
LIKENESS_MARGIN = 0.2


@dataclass(frozen=True, slots=True)
class EnrollmentRules:
    min_photos: int = 3
    max_photos: int = 20
    min_face_px: int = 80
    min_sharpness: float = 40.0
    min_yaw_spread_deg: float = 8.0
    #: two samples nearer than this fraction of the match distance are the same photo
    duplicate_fraction: float = 0.25
    #: faces smaller than this fraction of the largest one are background, not a second face
    background_fraction: float = 0.25
    video_min_s: float = 2.0
    video_max_s: float = 30.0
    video_frames: int = 24
    video_samples: int = 6
    liveness_min_yaw_span_deg: float = 40.0
    liveness_min_face_share: float = 0.8
    #: median grey-level change between consecutive sampled face crops below this: a still
    static_mad: float = 1.5
    #: loop detection on 16 x 16 grey thumbnails of every frame: a run of ``loop_run`` frames
    #: that recurs at least ``loop_gap`` frames later within ``loop_mad`` grey levels, while
    #: the run itself moves by more than ``loop_motion`` (a still moment is not a loop)
    loop_run: int = 8
    loop_gap: int = 10
    loop_mad: float = 0.15
    loop_motion: float = 0.8


@dataclass(frozen=True, slots=True, eq=False)
class Sample:
    """One accepted enrollment sample. ``embedding`` and ``crop_jpeg`` are biometric."""

    source: str
    face: DetectedFace
    embedding: npt.NDArray[np.float32] = field(repr=False)
    crop_jpeg: bytes = field(repr=False)
    sharpness: float

    @property
    def quality(self) -> dict[str, float]:
        return {
            "score": round(self.face.score, 4),
            "face_px": round(self.face.size, 1),
            "yaw_deg": round(self.face.yaw_deg, 1),
            "sharpness": round(self.sharpness, 1),
        }


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    where: str
    text: str


@dataclass(frozen=True, slots=True)
class LivenessReport:
    passed: bool
    frames_sampled: int
    frames_with_one_face: int
    yaw_min_deg: float
    yaw_max_deg: float
    median_change: float
    #: (first time, repeat time) in seconds of a segment that recurs, or None
    loop_s: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "frames_sampled": self.frames_sampled,
            "frames_with_one_face": self.frames_with_one_face,
            "yaw_span_deg": round(self.yaw_max_deg - self.yaw_min_deg, 1),
            "median_change": round(self.median_change, 2),
            "loop_s": None if self.loop_s is None else [round(t, 2) for t in self.loop_s],
        }


def _raise(problems: Sequence[Problem], advice: str) -> None:
    codes = {p.code for p in problems}
    code = problems[0].code if len(codes) == 1 else "enroll.rejected"
    listed = "; ".join(f"{p.where}: {p.text}" for p in problems)
    raise EnrollmentError(f"enrollment refused: {listed}. {advice}", code=code)


def _jpeg(crop: npt.NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _the_face(
    faces: Sequence[DetectedFace], where: str, rules: EnrollmentRules
) -> tuple[DetectedFace | None, Problem | None]:
    if not faces:
        return None, Problem("enroll.no_face", where, "no face found")
    largest = faces[0]
    others = [f for f in faces[1:] if f.size >= rules.background_fraction * largest.size]
    if others:
        return None, Problem(
            "enroll.multiple_faces",
            where,
            f"{len(others) + 1} faces found; a sample must show only you",
        )
    if largest.size < rules.min_face_px:
        return None, Problem(
            "enroll.face_too_small",
            where,
            f"the face is {largest.size:.0f} px across, at least {rules.min_face_px} px is needed",
        )
    return largest, None


def _check_set(
    samples: Sequence[Sample], embedder: FaceEmbedder, rules: EnrollmentRules
) -> list[Problem]:
    problems: list[Problem] = []
    vectors = np.stack([s.embedding for s in samples])
    point = embedder.operating_point
    duplicate = rules.duplicate_fraction * point.match
    for (i, a), (j, b) in itertools.combinations(enumerate(samples), 2):
        if float(np.linalg.norm(vectors[i] - vectors[j])) < duplicate:
            problems.append(
                Problem(
                    "enroll.duplicate_sample",
                    f"{a.source} and {b.source}",
                    "the same photo twice; use different photos",
                )
            )
    if len(samples) >= 2:
        for i, sample in enumerate(samples):
            others = np.delete(vectors, i, axis=0).mean(axis=0)
            distance = float(np.linalg.norm(vectors[i] - others))
            if distance > point.possible:
                problems.append(
                    Problem(
                        "enroll.inconsistent_identity",
                        sample.source,
                        f"this face differs from the others (distance "
                        f"{distance:.2f}); every sample must show the same "
                        "person",
                    )
                )
    return problems


def _accept(
    rgb: npt.NDArray[np.uint8], face: DetectedFace, source: str, embedding: npt.NDArray[np.float32]
) -> Sample:
    crop = aligned_crop(rgb, face, CROP_SIZE)
    likeness = aligned_crop(rgb, face, LIKENESS_SIZE, LIKENESS_MARGIN)
    return Sample(source, face, embedding.astype(np.float32), _jpeg(likeness), sharpness(crop))


def photo_samples(
    photos: Sequence[tuple[str, npt.NDArray[np.uint8]]],
    detector: FaceDetector,
    embedder: FaceEmbedder,
    rules: EnrollmentRules,
    *,
    min_photos: int | None = None,
) -> list[Sample]:
    """Check and embed enrollment photos (``(label, rgb)`` pairs); all pass or it raises."""
    need = rules.min_photos if min_photos is None else min_photos
    if len(photos) < need or len(photos) > rules.max_photos:
        raise EnrollmentError(
            f"enrollment needs {need} to {rules.max_photos} photos, got {len(photos)}; "
            "give photos of the face from slightly different angles",
            code="enroll.too_few_samples" if len(photos) < need else "enroll.too_many_samples",
        )
    problems: list[Problem] = []
    found: list[tuple[str, npt.NDArray[np.uint8], DetectedFace]] = []
    for label, rgb in photos:
        face, problem = _the_face(detector.detect(rgb), label, rules)
        if problem is not None:
            problems.append(problem)
            continue
        assert face is not None
        crop_sharpness = sharpness(aligned_crop(rgb, face, CROP_SIZE))
        if crop_sharpness < rules.min_sharpness:
            problems.append(
                Problem(
                    "enroll.blurry",
                    label,
                    f"the face is blurred (sharpness {crop_sharpness:.0f}, "
                    f"at least {rules.min_sharpness:.0f} is needed)",
                )
            )
            continue
        found.append((label, rgb, face))
    if problems:
        _raise(problems, "Use well-lit, sharp photos that show only your face, large enough.")
    samples = [
        _accept(rgb, face, label, embedder.embed(rgb, [face], enrollment=True)[0])
        for label, rgb, face in found
    ]
    problems = _check_set(samples, embedder, rules)
    if len(samples) >= 3:
        yaws = [s.face.yaw_deg for s in samples]
        if max(yaws) - min(yaws) < rules.min_yaw_spread_deg:
            problems.append(
                Problem(
                    "enroll.pose_spread",
                    "all photos",
                    f"the head is turned the same way in every photo (yaw "
                    f"spread {max(yaws) - min(yaws):.0f} degrees, at least "
                    f"{rules.min_yaw_spread_deg:.0f} needed)",
                )
            )
    if problems:
        _raise(problems, "Use photos of one person, taken at different moments and angles.")
    return samples


def _mad(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def find_loop(path: Path, limits: Limits, rules: EnrollmentRules) -> tuple[float, float] | None:
    """Where a moving segment of the video recurs frame for frame, or None.

    Every frame is reduced to a 16 x 16 grey thumbnail; for each lag of at least
    ``rules.loop_gap`` frames the thumbnails are compared with those ``lag`` frames later, and a
    window of ``rules.loop_run`` consecutive frames that all agree within ``rules.loop_mad``
    grey levels, while moving by more than ``rules.loop_motion`` inside the window, is a loop.
    Measured on FaceForensics++ 004 (real): nearest window 0.26 with motion 0.27; the same
    video with 70 frames played three times: 0.02 with motion 1.2.
    """
    import cv2

    from cameoguard.media import iter_frames

    thumbs, times = [], []
    for frame in iter_frames(path, limits):
        gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
        thumbs.append(cv2.resize(gray, (16, 16), interpolation=cv2.INTER_AREA).ravel())
        times.append(frame.pts_s)
    run = rules.loop_run
    if len(thumbs) < rules.loop_gap + run:
        return None
    grid = np.stack(thumbs).astype(np.float32)
    motion = np.abs(np.diff(grid, axis=0)).mean(axis=1)
    for lag in range(rules.loop_gap, len(grid) - run + 1):
        mad = np.abs(grid[:-lag] - grid[lag:]).mean(axis=1)
        worst = np.lib.stride_tricks.sliding_window_view(mad, run).max(axis=1)
        for start in np.flatnonzero(worst < rules.loop_mad):
            if float(motion[start : start + run - 1].sum()) > rules.loop_motion:
                return times[int(start)], times[int(start) + lag]
    return None


def video_samples(
    path: Path,
    detector: FaceDetector,
    embedder: FaceEmbedder,
    rules: EnrollmentRules,
    limits: Limits,
) -> tuple[list[Sample], LivenessReport]:
    """Check a short enrollment video (liveness included) and embed samples spread by pose."""
    info = probe(path, limits)
    if info.kind is not MediaKind.VIDEO:
        raise EnrollmentError(
            f"{path.name} is {info.type.mime}, not a video; record a short video of your face",
            code="enroll.not_video",
        )
    duration = info.duration_s or 0.0
    if not rules.video_min_s <= duration <= rules.video_max_s:
        raise EnrollmentError(
            f"the enrollment video is {duration:.1f} s long; record {rules.video_min_s:.0f} "
            f"to {rules.video_max_s:.0f} s, turning your head slowly left and right",
            code="enroll.video_length",
        )
    frames = sample_frames(path, rules.video_frames, limits)
    problems: list[Problem] = []
    seen: list[tuple[str, npt.NDArray[np.uint8], DetectedFace, npt.NDArray[np.uint8]]] = []
    for frame in frames:
        where = f"{frame.pts_s:.1f} s"
        face, problem = _the_face(detector.detect(frame.rgb), where, rules)
        if problem is not None:
            if problem.code in ("enroll.multiple_faces", "enroll.face_too_small"):
                problems.append(problem)
            continue
        assert face is not None
        gray = aligned_crop(frame.rgb, face, 112).mean(axis=2).astype(np.uint8)
        seen.append((where, frame.rgb, face, gray))
    if problems:
        _raise(problems[:5], "Record the video alone, close enough to the camera.")
    yaws = [face.yaw_deg for _, _, face, _ in seen]
    changes = [_mad(a[3], b[3]) for a, b in itertools.pairwise(seen)]
    median_change = float(np.median(changes)) if changes else 0.0
    enough_faces = len(seen) >= max(3, rules.liveness_min_face_share * len(frames))
    # Decoding every frame for the loop check is the slow part: only when it can matter.
    moving = enough_faces and median_change >= rules.static_mad
    loop = find_loop(path, limits, rules) if moving else None
    report = LivenessReport(
        passed=False,
        frames_sampled=len(frames),
        frames_with_one_face=len(seen),
        yaw_min_deg=min(yaws, default=0.0),
        yaw_max_deg=max(yaws, default=0.0),
        median_change=median_change,
        loop_s=loop,
    )
    if not enough_faces:
        problems.append(
            Problem(
                "enroll.liveness_failed",
                "video",
                f"a face was found in only {len(seen)} of {len(frames)} "
                "sampled frames; keep your face in view",
            )
        )
    elif not moving:
        problems.append(
            Problem(
                "enroll.liveness_failed",
                "video",
                "the frames do not change: this looks like a still image, not a live recording",
            )
        )
    elif loop is not None:
        problems.append(
            Problem(
                "enroll.liveness_failed",
                "video",
                f"the frames from {loop[0]:.1f} s repeat at {loop[1]:.1f} s: the video loops "
                "or replays a recording",
            )
        )
    elif report.yaw_max_deg - report.yaw_min_deg < rules.liveness_min_yaw_span_deg:
        problems.append(
            Problem(
                "enroll.liveness_failed",
                "video",
                f"the head turned only {report.yaw_max_deg - report.yaw_min_deg:.0f} "
                f"degrees; turn it at least {rules.liveness_min_yaw_span_deg:.0f} "
                "degrees in all, slowly left and right",
            )
        )
    if problems:
        _raise(problems, "Record a new video: a live face, turning slowly left and right.")
    # Every sampled face must be the same person (cheap probe embeddings).
    probes = np.stack([embedder.embed(rgb, [face])[0] for _, rgb, face, _ in seen])
    centre = np.median(probes, axis=0)
    strangers = [
        seen[i][0]
        for i, v in enumerate(probes)
        if float(np.linalg.norm(v - centre)) > embedder.operating_point.possible
    ]
    if strangers:
        _raise(
            [
                Problem(
                    "enroll.inconsistent_identity",
                    ", ".join(strangers[:5]),
                    "a different person appears",
                )
            ],
            "Record a video of one person only.",
        )
    # Samples spread over the pose range: the sharpest face in each yaw bin.
    order = np.argsort(yaws)
    bins = np.array_split(order, min(rules.video_samples, len(order)))
    chosen = []
    for members in bins:
        best = max(members, key=lambda i: sharpness(aligned_crop(seen[i][1], seen[i][2], 112)))
        chosen.append(seen[int(best)])
    samples = [
        _accept(rgb, face, f"video {where}", embedder.embed(rgb, [face], enrollment=True)[0])
        for where, rgb, face, _ in chosen
    ]
    return samples, dataclasses.replace(report, passed=True)
