"""Generation fixtures: a wired pipeline over a fresh database, and a cameo of a real face.

``CopyTarget`` is a real backend plugin (it re-encodes the requester's target, or renders
junk when asked to misbehave) so that pipeline tests exercise every other stage for real:
consent registry, MTCNN + dlib face scan, watermark, C2PA signing, self-verification, ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pytest

from cameoguard import db
from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder
from cameoguard.consent.enrollment import photo_samples
from cameoguard.consent.faces import FaceDetector
from cameoguard.consent.registry import CameoRegistry
from cameoguard.consent.values import Cameo
from cameoguard.errors import BackendError
from cameoguard.generator_adapter.backends.base import Backend, BackendRequest, RawMedia
from cameoguard.generator_adapter.emit import Emitter
from cameoguard.generator_adapter.library import GenerationLibrary
from cameoguard.generator_adapter.pipeline import GenerationPipeline
from cameoguard.media import Limits, load_image, save_image
from cameoguard.media.types import MediaKind
from cameoguard.media.video import iter_frames, read_audio
from cameoguard.provenance.ledger import Ledger
from cameoguard.provenance.signers import signer_from_settings
from cameoguard.provenance.softbinding import Resolver
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.settings import Settings
from cameoguard.watermark.keys import load_or_create_watermark_key
from cameoguard.watermark.marker import Watermarker
from cameoguard.watermark.visible import VisibleBadge
from tests.consent.conftest import astronaut

LIMITS = Limits(512 << 20, 80_000_000, 300.0, 600.0)
Image = npt.NDArray[np.uint8]


class CopyTarget(Backend):
    """Re-encodes the target as raw output. Options: ``junk`` writes a corrupt file."""

    name: ClassVar[str] = "copy_target"
    kinds: ClassVar[frozenset[MediaKind]] = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})
    needs_target: ClassVar[bool] = True

    def generate(self, request: BackendRequest) -> RawMedia:
        assert request.target is not None
        if request.options.get("junk"):
            path = request.output_path(".png")
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
            return RawMedia(path, request.kind, "copy")
        if request.options.get("fail"):
            raise BackendError("the copy backend was told to fail")
        if request.kind is MediaKind.IMAGE:
            path = request.write_image(load_image(request.target, request.limits))
        else:
            info_audio = read_audio(request.target, request.limits)
            frames = (f.rgb for f in iter_frames(request.target, request.limits))
            fps = float(request.options.get("fps", 12))
            path = request.write_video(frames, fps, info_audio)
        return RawMedia(path, request.kind, "copy", "1", {"copied": request.target.name})


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faces") / "astronaut.png"
    save_image(astronaut(), path)
    return path


def make_pipeline(
    settings: Settings,
    embedder: DlibResnetEmbedder,
    detector: FaceDetector,
    extra: dict[str, Backend] | None = None,
) -> GenerationPipeline:
    engine = db.create_engine_for(settings.effective_database_url)
    db.upgrade(engine)
    sessions = db.session_factory(engine)
    ledger = Ledger(sessions)
    watermarker = Watermarker(load_or_create_watermark_key(settings.watermark_key_path))
    registry = CameoRegistry(engine, embedder, detector=detector, limits=LIMITS, ledger=ledger)
    signer = signer_from_settings(settings)
    badge = VisibleBadge() if settings.generation_visible_badge else None
    emitter = Emitter(
        watermarker, signer, ledger, LIMITS, TrustPolicy.from_settings(settings), badge
    )
    library = GenerationLibrary(sessions, settings.data_dir / "generations", ledger)
    backends: dict[str, Backend] = {"copy_target": CopyTarget(), **(extra or {})}
    return GenerationPipeline(
        registry=registry,
        emitter=emitter,
        library=library,
        resolver=Resolver(ledger, watermarker, LIMITS),
        settings=settings,
        backends=backends,
    )


@pytest.fixture
def pipeline(
    settings: Settings, embedder: DlibResnetEmbedder, detector: FaceDetector
) -> Iterator[GenerationPipeline]:
    made = make_pipeline(settings, embedder, detector)
    yield made
    made.emitter.signer.close()
    made.registry.engine.dispose()


def enroll_astronaut_in(
    settings: Settings, embedder: DlibResnetEmbedder, detector: FaceDetector, owner: str
) -> Cameo:
    """The astronaut enrolled in the database of ``settings``; what that opened is closed."""
    made = make_pipeline(settings, embedder, detector)
    try:
        return enroll_astronaut(made.registry, owner=owner)
    finally:
        made.emitter.signer.close()
        made.registry.engine.dispose()


def enroll_astronaut(registry: CameoRegistry, owner: str = "alice") -> Cameo:
    """The one public-domain portrait as a single-sample cameo (real enrollments need 3)."""
    rgb = astronaut()
    samples = photo_samples(
        [("astronaut.png", rgb)], registry.detector, registry.embedder, registry.rules,
        min_photos=1,
    )  # fmt: skip
    return registry.enroll_samples(owner, "Eileen", samples).cameo
