"""The ``cameo_composite`` backend end to end: pictures, videos with sound, faces, refusals.

The cameo is a real face picture made the way enrollment keeps it (aligned, 256 px, with
margin) from NASA's portrait of Eileen Collins; targets are made here from the same portrait
(and, with ../shared/data, a photo of Biden for the pipeline check).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder
from cameoguard.consent.enrollment import photo_samples
from cameoguard.consent.faces import DetectedFace, FaceDetector, aligned_crop
from cameoguard.errors import BackendError, BadInputError, GenerationCancelledError
from cameoguard.generator_adapter.backends import composite
from cameoguard.generator_adapter.backends.base import (
    BackendRequest,
    CameoLikeness,
    available_backends,
    create_backend,
)
from cameoguard.generator_adapter.backends.composite import (
    CompositeBackend,
    CompositeOptions,
    FaceTracker,
)
from cameoguard.generator_adapter.faceswap import FaceSwapper
from cameoguard.generator_adapter.pipeline import GenerationRequest
from cameoguard.media import AudioClip, load_image, probe, save_image, write_video
from cameoguard.media.types import MediaKind
from cameoguard.media.video import iter_frames, read_audio
from cameoguard.settings import Settings
from tests.generator_adapter.conftest import LIMITS, astronaut, make_pipeline

Image = npt.NDArray[np.uint8]
FPS = 10
BLANK_FRAMES = 3  # the video opens on frames without a face
FACE_FRAMES = 12


def _tone(seconds: float) -> AudioClip:
    t = np.arange(round(seconds * 16_000)) / 16_000
    return AudioClip((0.3 * np.sin(2 * np.pi * 330 * t))[None].astype(np.float32), 16_000)


def _blank(i: int) -> Image:
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :, 0] = np.linspace(0, 255, 640, dtype=np.uint8)[None]
    frame[:, :, 2] = 60 + 5 * i
    return frame


def _with_face(i: int) -> Image:
    frame = np.full((480, 640, 3), 40, np.uint8)
    x = 40 + 6 * i  # a slow pan
    frame[:, x : x + 512] = astronaut()[16:496, : 640 - x][:, :512]
    return frame


@pytest.fixture(scope="module")
def cameo(detector: FaceDetector) -> CameoLikeness:
    rgb = astronaut()
    crop = aligned_crop(rgb, detector.detect(rgb)[0], 256, 0.2)
    return CameoLikeness("cam_x", "gr_x", (crop,))


@pytest.fixture(scope="module")
def backend(detector: FaceDetector) -> CompositeBackend:
    return CompositeBackend(detector)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("targets")
    frames = [_blank(i) for i in range(BLANK_FRAMES)] + [_with_face(i) for i in range(FACE_FRAMES)]
    seconds = len(frames) / FPS
    two = np.concatenate([astronaut(), astronaut()[:, ::-1]], axis=1)
    return {
        "picture": save_image(astronaut(), root / "astronaut.png"),
        "two": save_image(two, root / "two.png"),
        "empty": save_image(_blank(0), root / "empty.png"),
        "video": write_video(root / "face.mp4", frames, FPS, _tone(seconds), crf=12),
        "silent": write_video(root / "silent.mp4", frames[BLANK_FRAMES:], FPS, crf=12),
        "no_face": write_video(root / "no_face.mp4", frames[:BLANK_FRAMES] * 2, FPS, crf=12),
    }


def _request(
    tmp_path: Path,
    target: Path,
    cameos: tuple[CameoLikeness, ...],
    kind: MediaKind | None = None,
    progress: Callable[[float, str], None] | None = None,
    **options: Any,
) -> BackendRequest:
    workdir = tmp_path / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    if kind is None:
        kind = MediaKind.VIDEO if target.suffix == ".mp4" else MediaKind.IMAGE
    return BackendRequest("", kind, workdir, LIMITS, cameos, target, options, progress=progress)


def test_registered_with_its_capabilities(tmp_path: Path) -> None:
    assert "cameo_composite" in available_backends()
    with create_backend("cameo_composite", Settings(data_dir=tmp_path)) as made:
        assert isinstance(made, CompositeBackend)
        assert made.describe() == {
            "name": "cameo_composite",
            "version": "1",
            "kinds": ["image", "video"],
            "needs_target": True,
            "needs_cameo": True,
        }


def test_a_picture(
    tmp_path: Path, backend: CompositeBackend, cameo: CameoLikeness, media: dict[str, Path]
) -> None:
    reports: list[tuple[float, str]] = []
    raw = backend.generate(
        _request(tmp_path, media["picture"], (cameo,), progress=lambda f, m: reports.append((f, m)))
    )
    assert raw.kind is MediaKind.IMAGE and raw.path.parent == tmp_path / "work"
    assert raw.path.suffix == ".png" and raw.model == "cameo_composite" and raw.model_version
    assert raw.details["frames"] == 1 and raw.details["frames_swapped"] == 1
    assert raw.details["audio"] is False and raw.details["faces_per_frame_max"] == 1
    out, target = load_image(raw.path, LIMITS), astronaut()
    assert out.shape == target.shape
    changed = np.abs(out.astype(int) - target).max(axis=2) > 0
    assert changed.sum() > 3000  # the face, and only the face, was replaced
    x0, y0, x1, y1 = (round(v) for v in backend.detector.detect(target)[0].box)
    pad = round(0.15 * (x1 - x0))
    changed[y0 - pad : y1 + pad, x0 - pad : x1 + pad] = False
    assert not changed.any()
    assert reports[-1][0] == 1.0
    flat = [v for v in raw.details.values() if not isinstance(v, dict)]
    flat += [v for v in raw.details["ms_per_frame"].values()]
    assert all(isinstance(v, str | int | float | bool) for v in flat)  # no face data


def test_a_video_keeps_sound_size_length_and_faceless_frames(
    tmp_path: Path, backend: CompositeBackend, cameo: CameoLikeness, media: dict[str, Path]
) -> None:
    raw = backend.generate(_request(tmp_path, media["video"], (cameo,), smoothing=0.6))
    source, made = probe(media["video"], LIMITS), probe(raw.path, LIMITS)
    assert raw.kind is MediaKind.VIDEO and raw.path.suffix == ".mp4"
    assert (made.width, made.height) == (source.width, source.height)
    assert made.frame_count == source.frame_count == BLANK_FRAMES + FACE_FRAMES
    assert made.duration_s == pytest.approx(source.duration_s, abs=0.15)
    assert made.has_audio and raw.details["audio"] is True
    audio = read_audio(raw.path, LIMITS)
    assert audio is not None and audio.duration_s == pytest.approx(1.5, abs=0.1)
    details = raw.details
    assert details["frames"] == BLANK_FRAMES + FACE_FRAMES
    assert details["frames_swapped"] == FACE_FRAMES
    assert details["frames_without_face"] == BLANK_FRAMES
    assert details["smoothing"] == 0.6 and details["detections"] < details["frames"]
    before = [f.rgb.astype(int) for f in iter_frames(media["video"], LIMITS)]
    after = [f.rgb.astype(int) for f in iter_frames(raw.path, LIMITS)]
    for i in range(BLANK_FRAMES):  # passed through (one more near-lossless encode)
        assert np.abs(after[i] - before[i]).mean() < 1.5
    _, y0, _, y1 = (round(v) for v in backend.detector.detect(_with_face(0))[0].box)
    face = (slice(y0, y1), slice(0, 640))
    changes = [np.abs(after[i][face] - before[i][face]).mean() for i in range(len(before))]
    assert min(changes[BLANK_FRAMES:]) > 2 * max(changes[:BLANK_FRAMES])


def test_a_silent_video_gives_a_silent_output(
    tmp_path: Path, backend: CompositeBackend, cameo: CameoLikeness, media: dict[str, Path]
) -> None:
    raw = backend.generate(_request(tmp_path, media["silent"], (cameo,), detect_every=3))
    assert raw.details["audio"] is False and not probe(raw.path, LIMITS).has_audio
    assert raw.details["frames_swapped"] == FACE_FRAMES


def _odd_sized_video(path: Path, frames: int) -> Path:
    """641 x 481 H.264 (4:4:4 allows odd sizes; our writer, in 4:2:0, does not)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 641, 481, "yuv444p"
        for i in range(frames):
            rgb = np.pad(_with_face(i), ((0, 1), (0, 1), (0, 0)), mode="edge")
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def test_an_odd_sized_video_loses_one_pixel_row_and_column(
    tmp_path: Path, backend: CompositeBackend, cameo: CameoLikeness
) -> None:
    target = _odd_sized_video(tmp_path / "odd.mp4", 4)
    raw = backend.generate(_request(tmp_path, target, (cameo,)))
    made = probe(raw.path, LIMITS)
    assert (made.width, made.height, made.frame_count) == (640, 480, 4)
    assert raw.details["frames_swapped"] == 4


def test_two_cameos_go_left_to_right(
    tmp_path: Path,
    backend: CompositeBackend,
    cameo: CameoLikeness,
    media: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[int, float]] = []
    swap = FaceSwapper.swap

    def spy(self: FaceSwapper, frame: Image, points: npt.NDArray[np.float32]) -> Any:
        seen.append((id(self), float(points[:, 0].mean())))
        return swap(self, frame, points)

    monkeypatch.setattr(FaceSwapper, "swap", spy)
    other = CameoLikeness("cam_y", "gr_y", cameo.faces)
    raw = backend.generate(_request(tmp_path, media["two"], (cameo, other)))
    assert raw.details["faces_per_frame_max"] == 2 and raw.details["cameos"] == 2
    (first, left), (second, right) = seen
    assert first != second and left < 512 < right  # cameo 1 on the left face

    seen.clear()
    raw = backend.generate(_request(tmp_path / "one", media["two"], (cameo, other), max_faces=1))
    assert raw.details["faces_per_frame_max"] == 1 and len(seen) == 1


def _fake_landmarks(box: tuple[float, float, float, float]) -> npt.NDArray[np.float32]:
    x0, y0, x1, y1 = box
    t = np.linspace(0, 1, 68, dtype=np.float32)
    return np.stack([x0 + t * (x1 - x0), y0 + 0.2 * (y1 - y0) + t[::-1] * 0.8 * (y1 - y0)], 1)


def test_the_tracker_stays_on_its_face(monkeypatch: pytest.MonkeyPatch) -> None:
    """One slot keeps following the face it started on when another grows larger; a lost
    face gives way to the next largest one."""
    a, b = (100.0, 100.0, 200.0, 220.0), (400.0, 100.0, 460.0, 170.0)
    grown_b = (380.0, 60.0, 560.0, 260.0)
    script = [[a, b], [grown_b, a], [grown_b]]

    class Detector:
        calls = 0

        def detect(self, _rgb: Image) -> list[DetectedFace]:
            boxes = script[min(self.calls, len(script) - 1)]
            self.calls += 1
            return [DetectedFace(box, 0.99, np.zeros((5, 2), np.float32)) for box in boxes]

    monkeypatch.setattr(composite, "landmarks68", lambda _rgb, box: _fake_landmarks(box))
    monkeypatch.setattr(composite, "track_landmarks68", lambda _rgb, points: points)
    tracker = FaceTracker(Detector(), 1, detect_every=1, detect_short_side=480)  # type: ignore[arg-type]
    frame = np.zeros((480, 640, 3), np.uint8)
    faces, fresh = tracker.update(frame)
    assert fresh == [True] and faces[0] is not None and faces[0][:, 0].max() < 300  # a
    faces, fresh = tracker.update(frame)
    assert fresh == [False] and faces[0] is not None and faces[0][:, 0].max() < 300  # still a
    faces, fresh = tracker.update(frame)
    assert fresh == [True] and faces[0] is not None and faces[0][:, 0].min() > 300  # a left

    two = FaceTracker(Detector(), 2, detect_every=1, detect_short_side=480)  # type: ignore[arg-type]
    two.detector.calls = 1  # type: ignore[attr-defined]
    faces, _ = two.update(frame)  # detections come largest first: grown b, then a
    assert faces[0] is not None and faces[1] is not None
    assert faces[0][:, 0].mean() < faces[1][:, 0].mean()  # slot 0 is the left face


def test_no_face_in_the_target_is_refused(
    tmp_path: Path, backend: CompositeBackend, cameo: CameoLikeness, media: dict[str, Path]
) -> None:
    for name in ("empty", "no_face"):
        with pytest.raises(BackendError, match="no face found in the target") as caught:
            backend.generate(_request(tmp_path, media[name], (cameo,)))
        assert caught.value.code == "generation.no_target_face"
        assert list((tmp_path / "work").iterdir()) == [], "nothing written"


def test_a_cameo_without_a_usable_face_is_refused(
    tmp_path: Path, backend: CompositeBackend, media: dict[str, Path]
) -> None:
    faceless = CameoLikeness("cam_z", "gr_z", (np.full((256, 256, 3), 90, np.uint8),))
    with pytest.raises(BackendError, match="cam_z") as caught:
        backend.generate(_request(tmp_path, media["picture"], (faceless,)))
    assert caught.value.code == "generation.cameo_unusable"


def test_cancelling_mid_video_leaves_nothing(
    tmp_path: Path, backend: CompositeBackend, cameo: CameoLikeness, media: dict[str, Path]
) -> None:
    holder: list[BackendRequest] = []

    def cancel_at_first_frame(_fraction: float, message: str) -> None:
        if message.startswith("frame"):
            holder[0].cancel.cancel()

    request = _request(tmp_path, media["video"], (cameo,), progress=cancel_at_first_frame)
    holder.append(request)
    with pytest.raises(GenerationCancelledError):
        backend.generate(request)
    assert list(request.workdir.iterdir()) == []


def test_bad_requests(
    tmp_path: Path, backend: CompositeBackend, cameo: CameoLikeness, media: dict[str, Path]
) -> None:
    for options in ({"blend": "poisson"}, {"smoothing": 2}, {"smoothing": True},
                    {"max_faces": 0}, {"detect_every": "often"}):  # fmt: skip
        with pytest.raises(BadInputError, match="option"):
            CompositeOptions.parse(options)
    assert CompositeOptions.parse({"blend": "seamless", "other": 1}).blend == "seamless"
    with pytest.raises(BackendError, match="requested"):
        backend.generate(_request(tmp_path, media["picture"], (cameo,), kind=MediaKind.VIDEO))
    with pytest.raises(BackendError, match="target"):
        backend.generate(BackendRequest("", MediaKind.IMAGE, tmp_path, LIMITS, (cameo,)))
    with pytest.raises(BackendError, match="cameo"):
        backend.generate(_request(tmp_path, media["picture"], ()))


@pytest.mark.shared_data
def test_through_the_pipeline_the_output_face_is_the_cameo(
    shared_data: Path,
    tmp_path: Path,
    settings: Settings,
    embedder: DlibResnetEmbedder,
    detector: FaceDetector,
) -> None:
    """Obama's cameo rendered into a photo of Biden passes the pipeline's face scan as him."""
    people = shared_data / "faces/face_recognition"
    pipeline = make_pipeline(
        settings, embedder, detector, {"cameo_composite": CompositeBackend(detector)}
    )
    try:
        photo = load_image(people / "obama/obama.jpg", LIMITS)
        samples = photo_samples([("obama.jpg", photo)], detector, embedder,
                                pipeline.registry.rules, min_photos=1)  # fmt: skip
        cameo = pipeline.registry.enroll_samples("alice", "Barack", samples).cameo
        target = save_image(load_image(people / "biden/biden.jpg", LIMITS), tmp_path / "t.png")
        result = pipeline.generate(
            GenerationRequest("alice", "cameo_composite", "a portrait", (cameo.id,), target=target)
        )
        assert result.face_scan.ok and result.face_scan.cameos_seen() == {cameo.id: 1}
        assert result.backend_details["frames_swapped"] == 1
    finally:
        pipeline.emitter.signer.close()
        pipeline.registry.engine.dispose()
