"""Consent fixtures: a migrated registry, one shared embedder, real and synthetic face samples."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from sqlalchemy import Engine

from cameoguard import db
from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder
from cameoguard.consent.enrollment import Sample
from cameoguard.consent.faces import DetectedFace, FaceDetector
from cameoguard.consent.registry import CameoRegistry
from cameoguard.media import Limits
from cameoguard.provenance.ledger import Ledger

LIMITS = Limits(512 << 20, 80_000_000, 300.0, 600.0)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.create_engine_for(f"sqlite:///{tmp_path / 'registry.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def registry(engine: Engine, embedder: DlibResnetEmbedder, detector: FaceDetector) -> CameoRegistry:
    return CameoRegistry(engine, embedder, detector=detector, limits=LIMITS,
                         ledger=Ledger(db.session_factory(engine)))  # fmt: skip


def _tiny_jpeg(seed: int) -> bytes:
    rgb = np.random.default_rng(seed).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG")
    return buffer.getvalue()


def synthetic_samples(identity: int, n: int = 3, dim: int = 128) -> list[Sample]:
    """Samples of a made-up person: a fixed random centre (norm ~1.4, like dlib's) plus noise.

    Two different identities are ~2 apart, samples of one are within ~0.1 of its centre.
    """
    centre = np.random.default_rng(10_000 + identity).normal(0, 0.125, dim)
    noise = np.random.default_rng(20_000 + identity)
    out = []
    for i in range(n):
        marks = np.array([[40, 50], [72, 50], [56, 70], [42, 90], [70, 90]], dtype=np.float32)
        face = DetectedFace((10.0, 10.0, 110.0, 120.0), 0.999, marks + i)
        vector = (centre + noise.normal(0, 0.01, dim)).astype(np.float32)
        out.append(
            Sample(f"synthetic {identity}.{i}", face, vector, _tiny_jpeg(identity * 10 + i), 300.0)
        )
    return out


def synthetic_probe(identity: int, dim: int = 128) -> npt.NDArray[np.float32]:
    centre = np.random.default_rng(10_000 + identity).normal(0, 0.125, dim)
    return (centre + np.random.default_rng(99).normal(0, 0.01, dim)).astype(np.float32)


@pytest.fixture(scope="session")
def faces_dir(shared_data: Path) -> Path:
    return shared_data / "faces"


@pytest.fixture(scope="session")
def identities(faces_dir: Path) -> dict[str, list[Path]]:
    """identity -> its single-face photos (multi-face photos left out)."""
    out: dict[str, list[Path]] = {}
    with (faces_dir / "identities.csv").open() as fh:
        for row in csv.DictReader(fh):
            if not row["identity"].startswith("MULTI"):
                out.setdefault(row["identity"], []).append(faces_dir / row["path"])
    return out


def astronaut() -> npt.NDArray[np.uint8]:
    """Eileen Collins' NASA portrait (public domain), shipped inside scikit-image."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())
