"""Face detection, pose and the embedder conformance suite (every registered embedder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cameoguard.consent.embedders import EMBEDDERS, FaceEmbedder, available_embedders
from cameoguard.consent.embedders.base import create_embedder, register_embedder
from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder
from cameoguard.consent.embedders.facenet import CHECKPOINT_NAME, FacenetEmbedder
from cameoguard.consent.faces import FaceDetector, aligned_crop, sharpness
from cameoguard.errors import ConfigurationError, ModelUnavailableError
from cameoguard.media import load_image
from cameoguard.settings import Settings
from tests.consent.conftest import LIMITS, astronaut


def test_detects_the_astronaut_with_landmarks(detector: FaceDetector) -> None:
    faces = detector.detect(astronaut())
    assert len(faces) == 1
    face = faces[0]
    x0, y0, x1, y1 = face.box
    assert face.score > 0.99 and 80 < face.size < 140
    assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in face.landmarks)
    assert abs(face.yaw_deg) < 10 and abs(face.roll_deg) < 15
    assert "landmarks" not in repr(face)


def test_no_face_is_an_empty_result(detector: FaceDetector) -> None:
    import skimage.data

    assert detector.detect(np.zeros((200, 300, 3), dtype=np.uint8)) == []
    assert detector.detect(skimage.data.coffee()) == []


def test_yaw_changes_sign_when_mirrored(detector: FaceDetector, faces_dir: Path) -> None:
    rgb = load_image(faces_dir / "face_recognition/obama/obama2.jpg", LIMITS)
    yaw = detector.detect(rgb)[0].yaw_deg
    mirrored = detector.detect(np.ascontiguousarray(rgb[:, ::-1]))[0].yaw_deg
    assert abs(yaw) > 10 and np.sign(yaw) == -np.sign(mirrored)
    assert abs(yaw + mirrored) < 6


@pytest.mark.slow
def test_every_shared_face_is_found(
    detector: FaceDetector, identities: dict[str, list[Path]]
) -> None:
    photos = [p for paths in identities.values() for p in paths]
    assert len(photos) == 56
    for photo in photos:  # tight 150 px crops need the padding, large photos the downscale
        faces = detector.detect(load_image(photo, LIMITS))
        assert len(faces) == 1, photo
        assert faces[0].size >= 100, photo


@pytest.mark.parametrize(
    ("name", "at_least"), [("obama_and_biden.jpg", 2), ("kit_with_rose.jpg", 2)]
)
def test_group_photos(detector: FaceDetector, faces_dir: Path, name: str, at_least: int) -> None:
    faces = detector.detect(load_image(faces_dir / "face_recognition/multi_face" / name, LIMITS))
    assert len(faces) >= at_least
    areas = [f.width * f.height for f in faces]
    assert areas == sorted(areas, reverse=True)


def test_sharpness_falls_with_blur(detector: FaceDetector) -> None:
    import cv2

    rgb = astronaut()
    face = detector.detect(rgb)[0]
    sharp = sharpness(aligned_crop(rgb, face, 160))
    blurred = cv2.GaussianBlur(rgb, (0, 0), face.size / 112 * 3)
    assert sharp > 100 and sharpness(aligned_crop(blurred, face, 160)) < 25


# --------------------------------------------------------------------------- embedders


@pytest.fixture(scope="session")
def facenet_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint in the standard facenet-pytorch layout, from a randomly initialised net."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    state = InceptionResnetV1(classify=False).state_dict()
    state["logits.weight"] = torch.zeros(8631, 512)  # the released file carries its classifier
    state["logits.bias"] = torch.zeros(8631)
    path = tmp_path_factory.mktemp("torch-home") / CHECKPOINT_NAME
    torch.save(state, path)
    return path


@pytest.fixture(params=["dlib_resnet", "facenet_vggface2-onnxruntime", "facenet_vggface2-torch"])
def any_embedder(
    request: pytest.FixtureRequest,
    embedder: DlibResnetEmbedder,
    facenet_checkpoint: Path,
    tmp_path: Path,
) -> Iterator[FaceEmbedder]:
    if request.param == "dlib_resnet":
        yield embedder
        return
    runtime = request.param.split("-")[1]
    with FacenetEmbedder(facenet_checkpoint, cache_dir=tmp_path, runtime=runtime) as model:
        yield model


def test_conformance(any_embedder: FaceEmbedder, detector: FaceDetector) -> None:
    assert any_embedder.name in available_embedders()
    rgb = astronaut()
    faces = detector.detect(rgb)
    probe = any_embedder.embed(rgb, faces)
    sample = any_embedder.embed(rgb, faces, enrollment=True)
    for rows in (probe, sample):
        assert rows.shape == (1, any_embedder.dim) and rows.dtype == np.float32
        assert np.all(np.isfinite(rows)) and np.linalg.norm(rows) > 0.1
    assert np.array_equal(probe, any_embedder.embed(rgb, faces))  # deterministic
    assert any_embedder.embed(rgb, []).shape == (0, any_embedder.dim)
    two = any_embedder.embed(rgb, [faces[0], faces[0]])
    assert np.allclose(two[0], two[1], atol=1e-5) and np.allclose(two[0], probe[0], atol=1e-4)
    point = any_embedder.operating_point
    assert 0 < point.match <= point.possible and point.source
    described = any_embedder.describe()
    assert described["dim"] == any_embedder.dim and "embedding" not in str(described)
    if point.calibrated:  # a resized copy of the same photo is the same person
        import cv2

        small = np.ascontiguousarray(cv2.resize(rgb, (400, 400), interpolation=cv2.INTER_AREA))
        again = any_embedder.embed(small, detector.detect(small))
        assert float(np.linalg.norm(again[0] - probe[0])) < point.match / 2


def test_facenet_runtimes_agree_and_the_onnx_export_is_cached(
    facenet_checkpoint: Path, detector: FaceDetector, tmp_path: Path
) -> None:
    rgb = astronaut()
    faces = detector.detect(rgb)
    with FacenetEmbedder(facenet_checkpoint, cache_dir=tmp_path, runtime="torch") as torch_model:
        reference = torch_model.embed(rgb, faces)
    onnx_model = FacenetEmbedder(facenet_checkpoint, cache_dir=tmp_path)
    assert np.allclose(onnx_model.embed(rgb, faces), reference, atol=1e-4)
    exported = list(tmp_path.glob("facenet_vggface2-*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    FacenetEmbedder(facenet_checkpoint, cache_dir=tmp_path).embed(rgb, faces)
    assert exported[0].stat().st_mtime_ns == stamp


def test_facenet_without_weights_says_where_to_put_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, detector: FaceDetector
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    model = create_embedder("facenet_vggface2", Settings(data_dir=tmp_path))
    rgb = astronaut()
    with pytest.raises(ModelUnavailableError) as error:
        model.embed(rgb, detector.detect(rgb))
    message = str(error.value)
    assert str(tmp_path / "torch" / "checkpoints" / CHECKPOINT_NAME) in message
    assert "never downloaded" in message and "CAMEOGUARD_FACENET_CHECKPOINT" in message


@pytest.mark.parametrize("content", ["garbage", "wrong-shape"])
def test_facenet_with_a_bad_checkpoint_is_a_clear_error(
    tmp_path: Path, detector: FaceDetector, content: str
) -> None:
    import torch

    path = tmp_path / CHECKPOINT_NAME
    if content == "garbage":
        path.write_bytes(b"not a checkpoint" * 10)
    else:
        torch.save({"conv2d_1a.conv.weight": torch.zeros(1)}, path)
    rgb = astronaut()
    with pytest.raises(ModelUnavailableError, match="replace it with the original"):
        FacenetEmbedder(path, cache_dir=tmp_path).embed(rgb, detector.detect(rgb))


def test_the_registry_of_embedders() -> None:
    assert available_embedders() == ["dlib_resnet", "facenet_vggface2"]
    with pytest.raises(ConfigurationError, match="unknown face embedder 'arcface'; choose one of"):
        create_embedder("arcface", Settings())
    with pytest.raises(ValueError, match="already registered"):
        register_embedder("dlib_resnet")(lambda settings: DlibResnetEmbedder())
    assert set(EMBEDDERS) == {"dlib_resnet", "facenet_vggface2"}
