"""Shared fixtures: an isolated data dir, a fresh development CA, settings, sample media."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from cameoguard.provenance.keys import DevCAPaths, init_dev_ca
from cameoguard.settings import Settings, get_settings

if TYPE_CHECKING:
    from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder
    from cameoguard.consent.faces import FaceDetector

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No test reads the developer's CAMEOGUARD_* settings or writes to their data dir."""
    import os

    for name in list(os.environ):
        if name.startswith("CAMEOGUARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CAMEOGUARD_DATA_DIR", str(tmp_path_factory.mktemp("cg-data")))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (only on project machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def dev_ca(tmp_path_factory: pytest.TempPathFactory) -> DevCAPaths:
    return init_dev_ca(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def settings(tmp_path: Path, dev_ca: DevCAPaths) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        signing_cert=dev_ca.signer_chain,
        signing_key=dev_ca.signer_key,
        trust_anchors=dev_ca.trust_anchors,
    )


@pytest.fixture(scope="session")
def sample_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Unsigned media made here: jpeg, png, webp, mp4 (H.264 + AAC), wav, mp3, m4a."""
    from cameoguard.demo import make_sample_image, make_sample_video_frames, make_tone
    from cameoguard.media import save_image, write_audio, write_video

    root = tmp_path_factory.mktemp("samples")
    image = make_sample_image(640, 360)
    out: dict[str, Path] = {}
    for fmt in ("jpeg", "png", "webp"):
        out[fmt] = root / f"sample.{fmt}"
        save_image(image, out[fmt])
    out["mp4"] = root / "sample.mp4"
    write_video(out["mp4"], make_sample_video_frames(30, 320, 240), fps=15, audio=make_tone(2.0))
    for fmt in ("wav", "mp3", "m4a"):
        out[fmt] = root / f"sample.{fmt}"
        write_audio(make_tone(2.0, 44_100), out[fmt])
    return out


@pytest.fixture(scope="session")
def embedder() -> Iterator[DlibResnetEmbedder]:
    """dlib's face embedder, loaded once for the whole run."""
    from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder

    with DlibResnetEmbedder() as model:
        yield model


@pytest.fixture(scope="session")
def detector() -> Iterator[FaceDetector]:
    """The MTCNN face detector, loaded once for the whole run."""
    from cameoguard.consent.faces import FaceDetector

    with FaceDetector() as model:
        yield model


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
