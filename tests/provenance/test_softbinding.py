"""The emit stage and resolution of stripped, re-encoded, cropped and forged copies."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cameoguard import db
from cameoguard.errors import WatermarkCapacityError
from cameoguard.generator_adapter.emit import Emitter
from cameoguard.media import Limits, load_image, save_image, write_video
from cameoguard.media.video import iter_frames
from cameoguard.provenance.ledger import Ledger
from cameoguard.provenance.manifest import ManifestSpec
from cameoguard.provenance.report import ProvenanceState
from cameoguard.provenance.signers import signer_from_settings
from cameoguard.provenance.softbinding import SOFT_BINDING_ALG, ResolutionStatus, Resolver
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import verify_file
from cameoguard.settings import Settings
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.marker import Watermarker

from ..watermark.conftest import picture

SPEC = ManifestSpec.ai_generated("test output", generator="test-backend")


@pytest.fixture
def env(settings: Settings) -> tuple[Emitter, Resolver, Ledger, Limits]:
    engine = db.create_engine_for(settings.effective_database_url)
    db.upgrade(engine)
    ledger = Ledger(db.session_factory(engine))
    limits = Limits.from_settings(settings)
    marker = Watermarker(WatermarkKey(bytes(range(32))))
    trust = TrustPolicy.from_settings(settings)
    emitter = Emitter(marker, signer_from_settings(settings), ledger, limits, trust)
    return emitter, Resolver(ledger, marker, limits), ledger, limits


def _emit_image(emitter: Emitter, tmp_path: Path, seed: int = 0) -> tuple[Path, str]:
    raw = save_image(picture(640, 480, seed), tmp_path / f"raw{seed}.png")
    result = emitter.emit(
        raw, tmp_path / f"out{seed}.jpg", SPEC, requester="alice", backend="test",
        cameo_ids=("c_1",), consent_grant_ids=("g_1",),
    )  # fmt: skip
    return result.path, result.generation_id


def test_emitted_image_is_marked_signed_and_recorded(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    emitter, resolver, ledger, limits = env
    out, gid = _emit_image(emitter, tmp_path)
    report = verify_file(out, limits=limits, trust=emitter.trust)
    assert report.state is ProvenanceState.TRUSTED
    assert [a.action for a in report.actions] == ["c2pa.created", "c2pa.watermarked"]
    binding = next(a for a in report.custom_assertions if a.label == "c2pa.soft-binding")
    assert SOFT_BINDING_ALG in str(binding) and gid in str(binding)
    entry = ledger.get(gid)
    assert entry is not None and entry.cameo_ids == ("c_1",) and entry.pdq is not None
    assert len(entry.pdq_crops) == 8 and entry.manifest_store and entry.watermark_key_id
    exact = resolver.resolve(out)
    assert (exact.status, exact.method, exact.generation_id) == (
        ResolutionStatus.MATCHED, "sha256", gid)  # fmt: skip
    assert exact.to_dict()["manifest"]["active_manifest"] == entry.manifest_label


@pytest.mark.parametrize("attack", ["reencode", "crop", "screenshot"])
def test_stripped_copies_resolve(env, tmp_path: Path, attack: str) -> None:  # type: ignore[no-untyped-def]
    emitter, resolver, _, limits = env
    out, gid = _emit_image(emitter, tmp_path)
    rgb = load_image(out, limits)
    h, w = rgb.shape[:2]
    if attack == "crop":
        rgb = cv2.resize(rgb[24 : h - 24, 32 : w - 32], (w, h))
    elif attack == "screenshot":
        rgb = cv2.resize(rgb, (w * 3 // 4, h * 3 // 4), interpolation=cv2.INTER_AREA)
    copy = save_image(rgb, tmp_path / "copy.jpg", quality=70)
    assert verify_file(copy, limits=limits).state is ProvenanceState.ABSENT
    found = resolver.resolve(copy)
    assert found.status is ResolutionStatus.MATCHED and found.generation_id == gid
    assert found.method == "watermark+fingerprint"
    assert found.evidence["fingerprint"]["pdq_distance"] <= 31


def test_fingerprint_alone_when_the_mark_is_destroyed(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    emitter, resolver, _, limits = env
    out, gid = _emit_image(emitter, tmp_path)
    blurred = cv2.GaussianBlur(load_image(out, limits), (0, 0), 8)  # sigma 3 spared 1 mark in 30
    found = resolver.resolve(save_image(blurred, tmp_path / "blur.png"))
    assert not found.watermark or not found.watermark.found
    assert (found.status, found.method, found.generation_id) == (
        ResolutionStatus.MATCHED, "fingerprint", gid)  # fmt: skip


def test_transplanted_watermark_is_not_a_match(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    emitter, resolver, ledger, _ = env
    _, gid = _emit_image(emitter, tmp_path, seed=0)
    entry = ledger.get(gid)
    assert entry is not None
    forged = emitter.watermarker.embed_image(picture(640, 480, 2), entry.payload)
    result = resolver.resolve(save_image(forged, tmp_path / "forged.png"))
    assert result.status is ResolutionStatus.TRANSPLANT_SUSPECTED
    assert result.generation_id == gid and not result.matched
    assert result.evidence["fingerprint"]["pdq_distance"] > 31


def test_unrelated_and_unknown(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    emitter, resolver, _, _ = env
    _emit_image(emitter, tmp_path)
    assert resolver.resolve(save_image(picture(640, 480, 3), tmp_path / "u.png")).status is (
        ResolutionStatus.NOT_FOUND
    )
    marked = emitter.watermarker.embed_image(picture(640, 480, 1), 0x0000DEADBEEF)
    unknown = resolver.resolve(save_image(marked, tmp_path / "k.png"))
    assert unknown.status is ResolutionStatus.UNKNOWN_PAYLOAD
    assert unknown.generation_id == "g_0000deadbeef"


def test_video_stripped_and_trimmed_resolves(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    emitter, resolver, ledger, limits = env
    frames = [np.roll(picture(512, 288, i // 10), 3 * i, axis=1) for i in range(40)]
    raw = write_video(tmp_path / "raw.mp4", frames, fps=10)
    result = emitter.emit(raw, tmp_path / "out.mp4", SPEC, requester="bob", backend="test")
    entry = ledger.get(result.generation_id)
    assert entry is not None and len(entry.frame_hashes) == 4
    kept = [f.rgb for f in iter_frames(result.path, limits)][12:]
    copy = write_video(tmp_path / "copy.mp4", kept, fps=10, crf=28)
    found = resolver.resolve(copy)
    assert found.status is ResolutionStatus.MATCHED
    assert found.generation_id == result.generation_id


def test_emit_fails_closed(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    emitter, _, ledger, _ = env
    raw = save_image(picture(200, 150), tmp_path / "tiny.png")
    with pytest.raises(WatermarkCapacityError):
        emitter.emit(raw, tmp_path / "tiny-out.png", SPEC, requester="x", backend="test")
    assert not (tmp_path / "tiny-out.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "tiny.png"]  # no temp dirs left
    assert ledger.count() == 0


@pytest.mark.parametrize(
    ("flipped", "matches", "refutes"), [(10, True, False), (45, False, False), (90, False, True)]
)
def test_fingerprint_grey_zone_neither_confirms_nor_refutes(
    flipped: int, matches: bool, refutes: bool
) -> None:
    from cameoguard.media.types import MediaKind
    from cameoguard.provenance.fingerprint import ImageFingerprint
    from cameoguard.provenance.softbinding import MediaFingerprints, compare_fingerprints

    bits = np.zeros(256, np.uint8)
    other = bits.copy()
    other[:flipped] = 1
    a = ImageFingerprint(np.packbits(bits).tobytes(), 100)
    b = ImageFingerprint(np.packbits(other).tobytes(), 100)
    cmp = compare_fingerprints(
        MediaFingerprints(MediaKind.IMAGE, image=a), MediaFingerprints(MediaKind.IMAGE, image=b)
    )
    assert cmp.decided and cmp.detail["pdq_distance"] == flipped
    assert (cmp.matches, cmp.refutes) == (matches, refutes)
    low = ImageFingerprint(np.packbits(other).tobytes(), 20)  # PDQ quality < 50: cannot decide
    cmp = compare_fingerprints(
        MediaFingerprints(MediaKind.IMAGE, image=a), MediaFingerprints(MediaKind.IMAGE, image=low)
    )
    assert not cmp.decided and not cmp.refutes
