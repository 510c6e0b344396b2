"""Enrollment quality and liveness on real photos and videos, with clear refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from cameoguard.consent.enrollment import EnrollmentRules, find_loop
from cameoguard.consent.registry import CameoRegistry
from cameoguard.errors import CorruptMediaError, EnrollmentError, UnsupportedMediaError
from cameoguard.media import iter_frames, load_image, save_image, write_video
from tests.consent.conftest import LIMITS, astronaut

OBAMA = "face_recognition/obama"


def _refused(registry: CameoRegistry, photos: list[Path], code: str, text: str) -> str:
    with pytest.raises(EnrollmentError) as error:
        registry.enroll_photos("alice", "Alice", photos)
    assert error.value.code == code, str(error.value)
    assert text in str(error.value)
    assert registry.list_cameos() == []  # nothing was stored
    return str(error.value)


# --------------------------------------------------------------------------- no shared data


def test_the_same_photo_twice_is_refused(registry: CameoRegistry, tmp_path: Path) -> None:
    rgb = astronaut()
    paths = []
    variants = [rgb, np.ascontiguousarray(rgb[:, ::-1]), np.ascontiguousarray(rgb[10:480, 20:500])]
    for i, variant in enumerate(variants):
        paths.append(tmp_path / f"a{i}.jpg")
        save_image(variant, paths[-1])
    message = _refused(registry, paths, "enroll.rejected", "the same photo twice")
    assert "photo 1 (a0.jpg) and photo 3 (a2.jpg): the same photo twice" in message
    assert "photo 1 (a0.jpg) and photo 2 (a1.jpg)" in message  # a mirror image is no new photo
    assert "yaw spread" in message


def test_bad_files_and_counts(registry: CameoRegistry, tmp_path: Path) -> None:
    import skimage.data

    face, coffee = tmp_path / "face.png", tmp_path / "coffee.png"
    save_image(astronaut(), face)
    save_image(skimage.data.coffee(), coffee)
    _refused(registry, [face, face], "enroll.too_few_samples", "needs 3 to 20 photos, got 2")
    message = _refused(registry, [face, coffee, face], "enroll.no_face", "no face found")
    assert "photo 2 (coffee.png): no face found" in message
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))
    with pytest.raises((CorruptMediaError, UnsupportedMediaError), match=r"corrupt\.jpg"):
        registry.enroll_photos("alice", "Alice", [face, corrupt, face])
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(UnsupportedMediaError, match=r"notes\.jpg"):
        registry.enroll_photos("alice", "Alice", [face, text, face])


def test_a_tiny_and_a_blurred_face_are_refused(registry: CameoRegistry, tmp_path: Path) -> None:
    rgb = astronaut()
    tiny, blurred = tmp_path / "tiny.png", tmp_path / "blurred.png"
    save_image(cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA), tiny)
    save_image(cv2.GaussianBlur(rgb, (0, 0), 3.0), blurred)
    message = _refused(registry, [tiny, blurred, blurred], "enroll.rejected", "tiny.png")
    assert "the face is 4" in message and "at least 80 px is needed" in message
    assert "photo 2 (blurred.png): the face is blurred" in message


def test_identify_the_astronaut(registry: CameoRegistry, tmp_path: Path) -> None:
    from cameoguard.consent.enrollment import photo_samples

    rgb = astronaut()
    samples = photo_samples([("astronaut", rgb)], registry.detector, registry.embedder,
                            registry.rules, min_photos=1)  # fmt: skip
    cameo = registry.enroll_samples("eileen", "Eileen Collins", samples).cameo
    copy = tmp_path / "copy.jpg"
    save_image(cv2.resize(rgb, (384, 384), interpolation=cv2.INTER_AREA), copy, quality=70)
    result = registry.identify(copy)
    assert result.media_kind == "image" and result.frames_sampled == 1
    assert [f.decision.value for f in result.faces] == ["match"]
    assert result.faces[0].match is not None and result.faces[0].match.subject_id == cameo.id
    assert result.subjects()[0]["id"] == cameo.id
    nobody = tmp_path / "coffee.png"
    import skimage.data

    save_image(skimage.data.coffee(), nobody)
    empty = registry.identify(nobody)
    assert empty.faces == () and "no face found" in empty.notes


# --------------------------------------------------------------------------- real photos


@pytest.fixture
def obama(faces_dir: Path) -> list[Path]:
    return [faces_dir / OBAMA / n for n in ("obama2.jpg", "obama3.jpg", "obama1_knn_test.jpg")]


def test_real_photos_enroll_and_another_owner_is_refused(
    registry: CameoRegistry, obama: list[Path], faces_dir: Path
) -> None:
    result = registry.enroll_photos("barack", "Barack", obama)
    cameo = result.cameo
    assert cameo.sample_count == 3 and cameo.source == "photos"
    assert cameo.quality["yaw_span_deg"] >= 8 and cameo.quality["min_face_px"] >= 200
    others = [faces_dir / OBAMA / n for n in ("obama.jpg", "obama_partial_face.jpg", "obama2.jpg")]
    with pytest.raises(EnrollmentError, match="another account") as error:
        registry.enroll_photos("mallory", "Totally me", others)
    assert error.value.code == "enroll.already_enrolled"
    group = registry.identify(faces_dir / "face_recognition/multi_face/obama_and_biden.jpg")
    decisions = {f.match.subject_id if f.match else None for f in group.faces}
    assert cameo.id in decisions
    assert [s["id"] for s in group.subjects()] == [cameo.id]


def test_different_people_are_refused(registry: CameoRegistry, faces_dir: Path) -> None:
    photos = [faces_dir / OBAMA / "obama2.jpg", faces_dir / OBAMA / "obama3.jpg",
              faces_dir / "face_recognition/biden/biden2.jpg"]  # fmt: skip
    message = _refused(registry, photos, "enroll.inconsistent_identity", "biden2.jpg")
    assert "every sample must show the same person" in message


def test_two_faces_are_refused(registry: CameoRegistry, faces_dir: Path, obama: list[Path]) -> None:
    group = faces_dir / "face_recognition/multi_face/kit_with_rose.jpg"
    message = _refused(registry, [obama[0], group, obama[1]], "enroll.multiple_faces", "2 faces")
    assert "kit_with_rose.jpg" in message


def test_pose_spread_is_required(
    engine: object, embedder: object, detector: object, obama: list[Path]
) -> None:
    strict = dataclasses.replace(EnrollmentRules(), min_yaw_spread_deg=80.0)
    registry = CameoRegistry(engine, embedder, detector=detector, limits=LIMITS, rules=strict)  # type: ignore[arg-type]
    with pytest.raises(EnrollmentError, match="at least 80 needed") as error:
        registry.enroll_photos("barack", "Barack", obama)
    assert error.value.code == "enroll.pose_spread"


# --------------------------------------------------------------------------- videos


@pytest.fixture(scope="session")
def videos(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("liveness")
    original = shared_data / "real_fake/videos/ffpp/original"
    frames = [f.rgb for f in iter_frames(original / "004.mp4", LIMITS)]
    out = {"small_turn": original / "634.mp4"}
    out["live"] = root / "live.mp4"  # a real interview; after 9 s a second face comes in
    write_video(out["live"], frames[:225], fps=25)
    out["still"] = root / "still.mp4"
    write_video(out["still"], [frames[120]] * 100, fps=25)
    out["loop"] = root / "loop.mp4"  # a 2.8 s head turn played three times
    write_video(out["loop"], frames[80:150] * 3, fps=25)
    out["long"] = root / "long.mp4"
    write_video(out["long"], [np.full((64, 64, 3), i % 250, np.uint8) for i in range(62)], fps=2)
    return out


@pytest.mark.slow
def test_a_live_video_enrolls(registry: CameoRegistry, videos: dict[str, Path]) -> None:
    result = registry.enroll_video("anchor", "News anchor", videos["live"])
    assert result.liveness is not None and result.liveness.passed
    report = result.liveness.to_dict()
    assert report["yaw_span_deg"] >= 30 and report["loop_s"] is None
    assert result.cameo.source == "video" and 3 <= result.cameo.sample_count <= 6
    assert result.cameo.quality["liveness"]["passed"] is True
    seen = registry.identify(videos["live"])  # per sampled frame, with times
    assert seen.media_kind == "video" and seen.frames_sampled == 16
    times = [f.t_s for f in seen.faces if f.match and f.match.subject_id == result.cameo.id]
    assert len(times) >= 14 and times == sorted(times) and times[-1] > 7.0
    assert seen.subjects()[0]["frames"] == len(times)


@pytest.mark.parametrize(
    ("video", "text"),
    [
        ("still", "looks like a still image"),
        ("loop", "the video loops or replays a recording"),
        ("small_turn", "the head turned only 29 degrees"),
        ("long", "the enrollment video is 31.0 s long"),
    ],
)
def test_liveness_refusals(
    registry: CameoRegistry, videos: dict[str, Path], video: str, text: str
) -> None:
    with pytest.raises(EnrollmentError, match=text) as error:
        registry.enroll_video("anchor", "News anchor", videos[video])
    expected = "enroll.video_length" if video == "long" else "enroll.liveness_failed"
    assert error.value.code == expected
    assert registry.list_cameos() == []


def test_loop_detector_on_real_and_looped_video(videos: dict[str, Path]) -> None:
    rules = EnrollmentRules()
    assert find_loop(videos["live"], LIMITS, rules) is None
    loop = find_loop(videos["loop"], LIMITS, rules)
    assert loop is not None and loop[1] - loop[0] == pytest.approx(2.8, abs=0.05)


def test_an_image_is_not_an_enrollment_video(registry: CameoRegistry, tmp_path: Path) -> None:
    photo = tmp_path / "face.png"
    save_image(astronaut(), photo)
    with pytest.raises(EnrollmentError, match="not a video") as error:
        registry.enroll_video("anchor", "x", photo)
    assert error.value.code == "enroll.not_video"
    assert load_image(photo, LIMITS).shape == (512, 512, 3)
