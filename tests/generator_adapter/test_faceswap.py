"""The face-swap functions: landmarks, one swap (region, colour, identity) and video smoothing.

Real faces: NASA's portrait of Eileen Collins (in scikit-image) always; with ../shared/data,
Obama (source) into Biden (target) for the identity check and a FaceForensics++ news clip for
the jitter check.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder
from cameoguard.consent.faces import DetectedFace, FaceDetector, aligned_crop
from cameoguard.generator_adapter.backends.composite import FaceTracker
from cameoguard.generator_adapter.faceswap import (
    FaceSwapper,
    OneEuroFilter,
    SourceFace,
    color_stats,
    find_source,
    keep_source_shape,
    landmarks68,
    landmarks_box,
    source_landmarks,
    swap_face,
    track_landmarks68,
)
from cameoguard.media import load_image, write_video
from cameoguard.media.video import iter_frames
from tests.generator_adapter.conftest import LIMITS, astronaut

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]


def _hull(shape: tuple[int, ...], points: Points, grow: int = 0) -> npt.NDArray[np.bool_]:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points).astype(np.int32)), 255)
    if grow:
        mask = np.asarray(cv2.dilate(mask, np.ones((2 * grow + 1,) * 2, np.uint8)), np.uint8)
    return mask > 0


def _landmarks(rgb: Image, detector: FaceDetector) -> Points:
    face = detector.detect(rgb)[0]
    return track_landmarks68(rgb, landmarks68(rgb, face.box))


@pytest.fixture(scope="module")
def astro_face(detector: FaceDetector) -> DetectedFace:
    return detector.detect(astronaut())[0]


@pytest.fixture(scope="module")
def astro_crop(astro_face: DetectedFace) -> Image:
    """The astronaut as enrollment keeps her: aligned, 256 px, with margin."""
    return aligned_crop(astronaut(), astro_face, 256, 0.2)


@pytest.fixture(scope="module")
def astro_source(astro_crop: Image, detector: FaceDetector) -> SourceFace:
    source = find_source([astro_crop], detector)
    assert source is not None
    return source


@pytest.fixture(scope="module")
def other_source(astro_crop: Image, detector: FaceDetector) -> SourceFace:
    """A clearly different source picture: mirrored, darker, bluer, with a dark cheek patch."""
    shifted = astro_crop[:, ::-1].astype(np.int16) * 0.7 + np.array([-10, 0, 40])
    picture = np.clip(shifted, 0, 255).astype(np.uint8)
    source = find_source([picture], detector)
    assert source is not None
    x, y = source.landmarks[3] * 0.4 + source.landmarks[30] * 0.6
    cv2.circle(picture, (round(x), round(y)), 9, (20, 20, 20), -1)
    return SourceFace.from_landmarks(picture, source.landmarks)


# --- landmarks --------------------------------------------------------------------------------


def test_68_landmarks_on_a_real_face(astro_face: DetectedFace) -> None:
    rgb = astronaut()
    points = landmarks68(rgb, astro_face.box)
    assert points.shape == (68, 2) and points.dtype == np.float32
    x0, y0, x1, y1 = astro_face.box
    pad = 0.1 * (x1 - x0)
    inside = (points[:, 0] > x0 - pad) & (points[:, 0] < x1 + pad)
    inside &= (points[:, 1] > y0 - pad) & (points[:, 1] < y1 + pad)
    assert inside.all()
    eyes, mouth = points[36:48, 1].mean(), points[48:68, 1].mean()
    assert eyes < points[30, 1] < mouth < points[8, 1]  # eyes, nose tip, mouth, chin
    assert points[36:42, 0].mean() < points[42:48, 0].mean()  # the image's left eye first
    # dlib's eye centres sit on MTCNN's
    assert np.linalg.norm(points[36:42].mean(axis=0) - astro_face.landmarks[0]) < 0.1 * (x1 - x0)
    box = landmarks_box(points)
    assert abs(box[0] - x0) < pad and abs(box[2] - x1) < pad


def test_tracking_refit_is_stable(astro_face: DetectedFace) -> None:
    rgb = astronaut()
    first = track_landmarks68(rgb, landmarks68(rgb, astro_face.box))
    again = track_landmarks68(rgb, first)
    assert np.abs(again - first).mean() < 1.0  # a fixed point: no drift frame after frame


@pytest.mark.parametrize("size", [256, 160])
def test_source_landmarks_on_enrollment_crops(
    astro_face: DetectedFace, detector: FaceDetector, size: int
) -> None:
    margin = 0.2 if size == 256 else 0.0  # older cameos kept tight 160 px crops
    crop = aligned_crop(astronaut(), astro_face, size, margin)
    for finder in (detector, None):  # MTCNN, or dlib's own detector as the fallback
        points = source_landmarks(crop, finder)
        assert points is not None
        assert (points >= -2).all() and (
            points[17:] <= size + 2
        ).all()  # a tight crop cuts the chin
        eyes_at = 0.46 * (1 - 2 * margin) + margin  # the alignment template's eye height
        assert points[36:48, 1].mean() == pytest.approx(eyes_at * size, abs=0.06 * size)


def test_find_source_skips_pictures_without_a_face(
    astro_crop: Image, detector: FaceDetector
) -> None:
    blank = np.full((256, 256, 3), 128, np.uint8)
    assert find_source([blank], detector) is None
    source = find_source([blank, astro_crop], detector)
    assert source is not None and source.rgb is not blank
    assert len(source.triangles) > 90 and source.mask.any()
    assert "landmarks" not in repr(source) and "rgb" not in repr(source)


# --- one swap ---------------------------------------------------------------------------------


@pytest.mark.parametrize("blend", ["alpha", "seamless"])
def test_swap_changes_only_the_face(
    other_source: SourceFace, detector: FaceDetector, blend: str
) -> None:
    target = astronaut()
    points = _landmarks(target, detector)
    out, mask = swap_face(other_source.rgb, other_source.landmarks, target, points, blend=blend)
    assert out.shape == target.shape and out.dtype == np.uint8 and mask.shape == target.shape[:2]
    assert np.array_equal(out[mask == 0], target[mask == 0])
    hull = _hull(target.shape, points, grow=2)
    assert not mask[~hull].any()  # the mask stays inside the target face's hull
    assert np.array_equal(out[~hull], target[~hull])
    core = mask == 255
    assert core.sum() > 0.4 * _hull(target.shape, points).sum()
    assert np.abs(out[core].astype(int) - target[core]).mean() > 4


def test_swap_matches_the_target_skin_colour(
    other_source: SourceFace, detector: FaceDetector
) -> None:
    target = astronaut()
    points = _landmarks(target, detector)
    out, mask = swap_face(other_source.rgb, other_source.landmarks, target, points)
    skin = _hull(target.shape, points) & (mask == 255)
    before, after = color_stats(target, skin), color_stats(out, skin)
    source = color_stats(other_source.rgb, _hull(other_source.rgb.shape, other_source.landmarks))
    assert np.abs(after.mean - before.mean).max() < 4.0  # LAB units
    assert np.abs(source.mean - before.mean).max() > 12.0  # the source alone was far off


def test_given_colour_stats_replace_the_measured_ones(
    other_source: SourceFace, detector: FaceDetector
) -> None:
    target = astronaut()
    points = _landmarks(target, detector)
    measured, _ = swap_face(other_source.rgb, other_source.landmarks, target, points)
    skin = color_stats(target, _hull(target.shape, points))
    darker = type(skin)(skin.mean - np.array([15, 0, 0], np.float32), skin.std)
    source_stats = color_stats(other_source.rgb, other_source.mask > 0)
    dark, mask = swap_face(
        other_source.rgb, other_source.landmarks, target, points,
        color_stats=(source_stats, darker),
    )  # fmt: skip
    core = mask == 255
    assert dark[core].mean() < measured[core].mean() - 8


@pytest.mark.parametrize("blend", ["alpha", "seamless"])
def test_a_face_cut_by_the_frame_edge(
    astro_source: SourceFace, detector: FaceDetector, blend: str
) -> None:
    full = astronaut()
    points = _landmarks(full, detector)
    cut = int(points[:, 0].min() + 0.35 * np.ptp(points[:, 0]))  # a third of the face is off
    target = np.ascontiguousarray(full[:, cut:])
    out, mask = swap_face(astro_source.rgb, astro_source.landmarks, target, points - (cut, 0),
                          blend=blend)  # fmt: skip
    assert mask[:, 0].any() and np.array_equal(out[mask == 0], target[mask == 0])
    nothing, empty = swap_face(astro_source.rgb, astro_source.landmarks, target, points + 5000)
    assert not empty.any() and np.array_equal(nothing, target)


def test_keep_source_shape_moves_features_not_the_jaw(astro_source: SourceFace) -> None:
    target = astro_source.landmarks * 1.1 + np.float32(5)
    target[48:68, 1] += 6  # a lower mouth, an open one
    target[65:68, 1] += 4
    assert np.array_equal(keep_source_shape(astro_source.landmarks, target, 0.0), target)
    kept = keep_source_shape(astro_source.landmarks, target, 1.0)
    assert np.array_equal(kept[:17], target[:17])
    expected = astro_source.landmarks * 1.1 + np.float32(5)
    corners = (kept[48] + kept[54]) / 2
    assert np.abs(corners - (expected[48] + expected[54]) / 2).max() < 0.5  # the source's place
    opening = kept[66, 1] - kept[62, 1]
    assert opening == pytest.approx(target[66, 1] - target[62, 1], abs=0.5)  # the target's mouth


def test_bad_arguments_are_refused(astro_source: SourceFace) -> None:
    rgb = astronaut()
    with pytest.raises(ValueError, match="blend"):
        swap_face(astro_source.rgb, astro_source.landmarks, rgb, astro_source.landmarks,
                  blend="poisson")  # fmt: skip
    with pytest.raises(ValueError, match="smoothing"):
        FaceSwapper(astro_source, smoothing=1.5)
    with pytest.raises(ValueError, match="keep_shape"):
        FaceSwapper(astro_source, keep_shape=-0.1)


@pytest.mark.shared_data
def test_the_swapped_face_is_the_source_identity(
    shared_data: Path, detector: FaceDetector, embedder: DlibResnetEmbedder
) -> None:
    people = shared_data / "faces/face_recognition"
    source_photo = load_image(people / "obama/obama.jpg", LIMITS)
    target = load_image(people / "biden/biden.jpg", LIMITS)
    crop = aligned_crop(source_photo, detector.detect(source_photo)[0], 256, 0.2)
    source = find_source([crop], detector)
    assert source is not None
    out, _ = swap_face(source.rgb, source.landmarks, target, _landmarks(target, detector))

    def embed(rgb: Image) -> npt.NDArray[np.float32]:
        vectors = embedder.embed(rgb, detector.detect(rgb)[:1])
        return np.asarray(vectors[0], dtype=np.float32)

    swapped = embed(out)
    to_source = float(np.linalg.norm(swapped - embed(source_photo)))
    to_target = float(np.linalg.norm(swapped - embed(target)))
    # measured: 0.37 to Obama, 0.78 to Biden (the photos themselves are 0.86 apart)
    assert to_source < 0.5 < to_target
    assert to_source < to_target - 0.2


# --- video ------------------------------------------------------------------------------------


def test_one_euro_filter() -> None:
    still = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    x = np.array([[3.0, 4.0]])
    for _ in range(5):
        assert np.allclose(still(x, 1 / 30), x)
    step = np.array([[13.0, 4.0]])
    first = still(step, 1 / 30)[0, 0]
    assert 3.0 < first < 13.0  # a step is followed gradually
    for _ in range(60):
        last = still(step, 1 / 30)[0, 0]
    assert last == pytest.approx(13.0, abs=0.01)
    fast = OneEuroFilter(min_cutoff=1.0, beta=50.0)
    fast(x, 1 / 30)
    assert fast(step, 1 / 30)[0, 0] > first  # speed lifts the cutoff
    still.reset()
    assert still.value is None and np.array_equal(still(x, 1 / 30), x)


def _raw_and_smoothed(
    path: Path, frames: int, detector: FaceDetector, source: SourceFace, fps: float
) -> tuple[Points, Points]:
    tracker = FaceTracker(detector, 1)
    raw: list[Points] = []
    for frame in itertools.islice(iter_frames(path, LIMITS), frames):
        faces, _ = tracker.update(frame.rgb)
        assert faces[0] is not None
        raw.append(faces[0])
    swapper = FaceSwapper(source, smoothing=0.5, fps=fps)
    smoothed = [swapper.smooth(points) for points in raw]
    return np.stack(raw), np.stack(smoothed)


def _step(points: Points) -> float:
    """Mean frame-to-frame landmark displacement, px."""
    return float(np.linalg.norm(np.diff(points, axis=0), axis=2).mean())


def _jerk(points: Points) -> float:
    """Mean second difference (what jitter adds to smooth motion), px."""
    return float(np.linalg.norm(points[2:] - 2 * points[1:-1] + points[:-2], axis=2).mean())


def test_smoothing_removes_jitter_on_a_still_video(
    tmp_path: Path, detector: FaceDetector, astro_source: SourceFace
) -> None:
    rng = np.random.default_rng(7)
    canvas = np.zeros((480, 640, 3), np.uint8)
    canvas[:, 64:576] = astronaut()[16:496]
    noisy = (np.clip(canvas + rng.normal(0, 3, canvas.shape), 0, 255).astype(np.uint8)
             for _ in range(24))  # fmt: skip
    path = write_video(tmp_path / "still.mp4", noisy, 24, crf=26, preset="ultrafast")
    raw, smoothed = _raw_and_smoothed(path, 24, detector, astro_source, 24.0)
    # measured: 0.9 px raw, 0.15 px smoothed
    assert _step(raw) > 0.2
    assert _step(smoothed) < 0.4 * _step(raw)
    assert np.abs(smoothed - raw).mean() < 1.5  # smoothing, not drifting


@pytest.mark.shared_data
def test_smoothing_reduces_jitter_on_a_news_clip(
    shared_data: Path, detector: FaceDetector, astro_source: SourceFace
) -> None:
    clip = shared_data / "real_fake/videos/ffpp/original/004.mp4"
    raw, smoothed = _raw_and_smoothed(clip, 50, detector, astro_source, 25.0)
    # measured over 150 frames: step 2.1 -> 1.6 px, jerk 2.1 -> 0.8 px (eye distance 55 px)
    assert _step(smoothed) < 0.9 * _step(raw)
    assert _jerk(smoothed) < 0.6 * _jerk(raw)


def test_swapper_resets_on_a_jump(astro_source: SourceFace) -> None:
    swapper = FaceSwapper(astro_source, smoothing=1.0, fps=30)
    here = astro_source.landmarks + np.float32(100)
    swapper.smooth(here)
    swapper.smooth(here + 1)
    there = here + np.float32(300)  # another face, or a cut: no gliding across the frame
    assert np.allclose(swapper.smooth(there), there)
    assert np.array_equal(FaceSwapper(astro_source, smoothing=0.0).smooth(here), here)
