"""The fail-closed generation pipeline: consent, face scan, marking, drafts, remixes, faults."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cameoguard.consent.values import OPERATOR, Actor
from cameoguard.errors import (
    BadInputError,
    CameoguardError,
    ConsentDeniedError,
    FaceScanViolationError,
    GenerationCancelledError,
    GenerationError,
    NotFoundError,
    PermissionDeniedError,
)
from cameoguard.generator_adapter.backends.base import CancelToken
from cameoguard.generator_adapter.library import GenerationStatus
from cameoguard.generator_adapter.pipeline import (
    STAGES,
    GenerationPipeline,
    GenerationRequest,
)
from cameoguard.provenance.ledger import LedgerStatus
from cameoguard.provenance.likeness import LIKENESS_LABEL, read_likeness
from cameoguard.provenance.report import ProvenanceState
from cameoguard.provenance.verify import verify_file
from cameoguard.settings import Settings
from tests.postgres import fresh_schema_url

from .conftest import LIMITS, enroll_astronaut, make_pipeline

ALICE, BOB, EVE = Actor("alice"), Actor("bob"), Actor("eve")


def request(
    target: Path, *cameos: str, requester: str = "alice", **kw: object
) -> GenerationRequest:
    return GenerationRequest(
        requester=requester,
        backend="copy_target",
        prompt=str(kw.pop("prompt", "a portrait in a spacesuit")),
        cameo_ids=cameos,
        target=target,
        **kw,  # type: ignore[arg-type]
    )


def leftovers(pipeline: GenerationPipeline) -> list[Path]:
    root = pipeline.library.root
    return sorted(root.rglob("*")) if root.exists() else []


def assert_nothing_written(pipeline: GenerationPipeline, ledger_before: int) -> None:
    ledger = pipeline.emitter.ledger
    assert ledger.count() == ledger_before, "the ledger gained a record"
    assert pipeline.library.visible(OPERATOR) == []
    assert leftovers(pipeline) == []


def test_generation_is_consented_marked_signed_recorded_and_a_draft(
    pipeline: GenerationPipeline, astronaut_png: Path
) -> None:
    cameo = enroll_astronaut(pipeline.registry)
    result = pipeline.generate(request(astronaut_png, cameo.id))

    gen = result.generation
    assert gen.status is GenerationStatus.DRAFT and gen.path is not None and gen.path.is_file()
    assert gen.cameo_ids == (cameo.id,) and len(gen.consent_grant_ids) == 1
    report = verify_file(gen.path, limits=LIMITS, trust=pipeline.emitter.trust)
    assert report.state is ProvenanceState.TRUSTED
    entry = pipeline.emitter.ledger.get(gen.id)
    assert entry is not None and entry.status is LedgerStatus.ACTIVE
    assert entry.cameo_ids == (cameo.id,) and entry.sha256 == gen.sha256

    manifest = json.loads(entry.manifest_json)
    active = manifest["manifests"][manifest["active_manifest"]]
    labels = [a["label"] for a in active["assertions"]]
    assert LIKENESS_LABEL in labels and "c2pa.soft-binding" in labels
    actions = next(a for a in active["assertions"] if a["label"].startswith("c2pa.actions"))
    created = actions["data"]["actions"][0]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    likeness = read_likeness(entry.manifest_json)
    assert likeness is not None
    (consent,) = likeness["cameos"]
    assert consent["cameo_id"] == cameo.id and consent["grant_id"] == gen.consent_grant_ids[0]
    assert consent["status_url"].endswith(f"/v1/consent/grants/{consent['grant_id']}")
    assert likeness["face_scan"]["cameos_seen"] == {cameo.id: 1}
    assert "alice" not in json.dumps(likeness), "no account names in a public manifest"

    detection = pipeline.emitter.watermarker.detect_file(gen.path, LIMITS)
    assert detection.found and detection.payload == entry.payload
    assert result.face_scan.ok and set(result.timings) >= {"generate", "scan", "sign", "ledger"}
    assert [p.name for p in leftovers(pipeline)] == [gen.path.name], "no temporary files left"


def test_drafts_are_seen_by_requester_and_cameo_owner_only(
    pipeline: GenerationPipeline, astronaut_png: Path
) -> None:
    cameo = enroll_astronaut(pipeline.registry)
    pipeline.registry.set_permissions(cameo.id, tier="approved", approve=["bob"], actor=ALICE)
    gen = pipeline.generate(request(astronaut_png, cameo.id, requester="bob")).generation

    assert [g.id for g in pipeline.library.visible(BOB)] == [gen.id]
    assert [g.id for g in pipeline.library.visible(ALICE)] == [gen.id]
    assert pipeline.library.visible(EVE) == []
    with pytest.raises(NotFoundError):
        pipeline.library.get(gen.id, EVE)
    with pytest.raises(PermissionDeniedError):
        pipeline.publish(gen.id, ALICE)  # only the requester publishes
    published = pipeline.publish(gen.id, BOB)
    assert published.status is GenerationStatus.PUBLISHED
    assert pipeline.library.get(gen.id, EVE).id == gen.id  # public now
    with pytest.raises(PermissionDeniedError):
        pipeline.library.delete(gen.id, EVE)

    deleted = pipeline.library.delete(gen.id, ALICE, "not how I want to appear")
    assert deleted.status is GenerationStatus.DELETED and deleted.prompt is None
    assert gen.path is not None and not gen.path.exists()
    entry = pipeline.emitter.ledger.get(gen.id)
    assert entry is not None and entry.status is LedgerStatus.TAKEN_DOWN
    assert "cameo owner alice" in (entry.takedown_reason or "")


def test_a_draft_cannot_be_published_after_revocation(
    pipeline: GenerationPipeline, astronaut_png: Path
) -> None:
    cameo = enroll_astronaut(pipeline.registry)
    pipeline.registry.set_permissions(cameo.id, tier="everyone", actor=ALICE)
    gen = pipeline.generate(request(astronaut_png, cameo.id, requester="bob")).generation
    pipeline.registry.revoke(cameo.id, actor=ALICE)
    with pytest.raises(PermissionDeniedError, match="no longer stands"):
        pipeline.publish(gen.id, BOB)


@pytest.mark.parametrize(
    ("setup", "who", "prompt", "code"),
    [
        ("only_me", "bob", "a portrait", "consent.not_approved"),
        ("restricted", "bob", "a portrait with a Gun", "consent.restricted_term"),
        ("revoked", "alice", "a portrait", "consent.revoked"),
    ],
)
def test_consent_denial_stops_before_the_backend(
    pipeline: GenerationPipeline, astronaut_png: Path, setup: str, who: str, prompt: str, code: str
) -> None:
    cameo = enroll_astronaut(pipeline.registry)
    if setup == "restricted":
        pipeline.registry.set_permissions(cameo.id, tier="everyone", actor=ALICE)
        pipeline.registry.restrict(cameo.id, forbid=["gun"], actor=ALICE)
    if setup == "revoked":
        pipeline.registry.revoke(cameo.id, actor=ALICE)
    stages: list[str] = []
    with pytest.raises(ConsentDeniedError) as caught:
        pipeline.generate(request(astronaut_png, cameo.id, requester=who, prompt=prompt),
                          on_stage=stages.append)  # fmt: skip
    assert caught.value.code == code
    assert "generate" not in stages
    assert_nothing_written(pipeline, 0)


def test_an_unconsented_enrolled_face_in_the_output_discards_it(
    pipeline: GenerationPipeline, astronaut_png: Path
) -> None:
    cameo = enroll_astronaut(pipeline.registry)
    with pytest.raises(FaceScanViolationError, match=f"cameo {cameo.id}"):
        pipeline.generate(request(astronaut_png, requester="bob"))  # asks for no cameo
    assert_nothing_written(pipeline, 0)


def test_a_protected_person_in_the_output_discards_it(
    pipeline: GenerationPipeline, astronaut_png: Path
) -> None:
    from cameoguard.consent.enrollment import photo_samples

    from .conftest import astronaut

    registry = pipeline.registry
    samples = photo_samples([("a.png", astronaut())], registry.detector, registry.embedder,
                            registry.rules, min_photos=1)  # fmt: skip
    person = registry.protect_samples("Eileen Collins", samples, reason="public figure")
    with pytest.raises(FaceScanViolationError, match=f"protected person {person.person.id}"):
        pipeline.generate(request(astronaut_png))
    assert_nothing_written(pipeline, 0)


def test_unknown_faces_follow_the_policy(
    settings: Settings, embedder: object, detector: object, astronaut_png: Path
) -> None:
    strict = settings.model_copy(update={"generation_unmatched_faces": "deny"})
    pipeline = make_pipeline(strict, embedder, detector)  # type: ignore[arg-type]
    with pytest.raises(FaceScanViolationError, match="matches no enrolled cameo"):
        pipeline.generate(request(astronaut_png))
    lenient = make_pipeline(settings, embedder, detector)  # type: ignore[arg-type]
    result = lenient.generate(request(astronaut_png))
    assert result.face_scan.summary()["unmatched"] == 1


@pytest.mark.parametrize("stage", [s for s in STAGES if s != "validate"])
def test_a_fault_at_any_stage_leaves_nothing_behind(
    settings: Settings, embedder: object, detector: object, astronaut_png: Path, stage: str
) -> None:
    with_badge = settings.model_copy(update={"generation_visible_badge": True})
    pipeline = make_pipeline(with_badge, embedder, detector)  # type: ignore[arg-type]
    cameo = enroll_astronaut(pipeline.registry)
    seen: list[str] = []

    def fault(name: str) -> None:
        seen.append(name)
        if name == stage:
            raise RuntimeError(f"injected fault at {name}")

    with pytest.raises(CameoguardError) as caught:
        pipeline.generate(request(astronaut_png, cameo.id), on_stage=fault)
    assert stage in seen, f"stage {stage} never ran (ran: {seen})"
    assert "injected fault" in str(caught.value)
    assert_nothing_written(pipeline, 0)
    # the same pipeline still works afterwards
    assert pipeline.generate(request(astronaut_png, cameo.id)).generation.path is not None


def test_validation_errors_are_clear(pipeline: GenerationPipeline, astronaut_png: Path) -> None:
    with pytest.raises(BadInputError, match="prompt is empty"):
        pipeline.generate(request(astronaut_png, prompt="  "))
    with pytest.raises(BadInputError, match="the limit is 4000"):
        pipeline.generate(request(astronaut_png, prompt="x" * 4001))
    with pytest.raises(BadInputError, match="does not exist"):
        pipeline.generate(request(astronaut_png.with_name("missing.png")))
    with pytest.raises(CameoguardError, match="unknown generator backend 'nope'"):
        pipeline.generate(GenerationRequest("alice", "nope", "x"))
    with pytest.raises(BadInputError, match="pass a target"):
        pipeline.generate(GenerationRequest("alice", "copy_target", "x"))
    assert_nothing_written(pipeline, 0)


def test_broken_backend_output_and_backend_errors_fail_closed(
    pipeline: GenerationPipeline, astronaut_png: Path
) -> None:
    with pytest.raises(GenerationError, match="unusable media"):
        pipeline.generate(request(astronaut_png, options={"junk": True}))
    with pytest.raises(GenerationError, match="told to fail"):
        pipeline.generate(request(astronaut_png, options={"fail": True}))
    assert_nothing_written(pipeline, 0)


def test_cancellation(pipeline: GenerationPipeline, astronaut_png: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(GenerationCancelledError):
        pipeline.generate(request(astronaut_png), cancel=token)
    assert_nothing_written(pipeline, 0)


def test_remix_names_the_parent_and_rechecks_its_cameos(
    pipeline: GenerationPipeline, astronaut_png: Path, tmp_path: Path
) -> None:
    cameo = enroll_astronaut(pipeline.registry)
    pipeline.registry.set_permissions(cameo.id, tier="everyone", actor=ALICE)
    parent = pipeline.generate(request(astronaut_png, cameo.id)).generation
    assert parent.path is not None

    # bob remixes alice's output without naming the cameo: it is checked anyway
    remix = pipeline.generate(
        GenerationRequest("bob", "copy_target", "the same, at night", parent=parent.path)
    ).generation
    assert remix.parent_id == parent.id and remix.cameo_ids == (cameo.id,)
    entry = pipeline.emitter.ledger.get(remix.id)
    assert entry is not None
    manifest = json.loads(entry.manifest_json)
    active = manifest["manifests"][manifest["active_manifest"]]
    assert [i["relationship"] for i in active["ingredients"]] == ["parentOf"]
    likeness = read_likeness(entry.manifest_json)
    assert likeness is not None and likeness["parent_generation"] == parent.id
    assert [c["role"] for c in likeness["cameos"]] == ["from_parent"]

    pipeline.registry.revoke(cameo.id, actor=ALICE)
    count = pipeline.emitter.ledger.count()
    with pytest.raises(ConsentDeniedError, match="revoked"):
        pipeline.generate(GenerationRequest("bob", "copy_target", "again", parent=parent.path))
    with pytest.raises(ConsentDeniedError, match="revoked"):
        pipeline.generate(request(astronaut_png, cameo.id))
    assert pipeline.emitter.ledger.count() == count


def test_remix_of_media_that_is_not_ours_is_refused(
    pipeline: GenerationPipeline, astronaut_png: Path
) -> None:
    with pytest.raises(BadInputError, match="not a cameoguard output") as caught:
        pipeline.generate(GenerationRequest("bob", "copy_target", "x", parent=astronaut_png))
    assert caught.value.code == "generation.parent_unknown"


def test_video_with_audio_keeps_both_and_scans_frames(
    pipeline: GenerationPipeline, tmp_path: Path
) -> None:
    from cameoguard.demo import make_voice
    from cameoguard.media import probe, write_video
    from cameoguard.media.video import read_audio

    from .conftest import astronaut

    # 4 s: the audio watermark needs at least 3 s of sound
    frames = [astronaut()[::-1].copy() if i % 12 == 11 else astronaut() for i in range(48)]
    target = tmp_path / "target.mp4"
    write_video(target, frames, fps=12, audio=make_voice(4.0))
    cameo = enroll_astronaut(pipeline.registry)
    result = pipeline.generate(request(target, cameo.id))
    assert result.generation.path is not None
    info = probe(result.generation.path, LIMITS)
    assert info.kind.value == "video" and info.duration_s == pytest.approx(4.0, abs=0.2)
    assert read_audio(result.generation.path, LIMITS) is not None
    assert set(result.watermark_tracks) == {"video", "audio"}
    assert result.face_scan.frames_sampled > 1
    assert result.face_scan.cameos_seen()[cameo.id] >= result.face_scan.frames_sampled // 2


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from fresh_schema_url()


def test_generation_and_owner_views_on_postgresql(
    settings: Settings, embedder: object, detector: object, astronaut_png: Path, postgres_url: str
) -> None:
    on_pg = settings.model_copy(update={"database_url": postgres_url})
    pipeline = make_pipeline(on_pg, embedder, detector)  # type: ignore[arg-type]
    try:
        cameo = enroll_astronaut(pipeline.registry)
        pipeline.registry.set_permissions(cameo.id, tier="everyone", actor=ALICE)
        gen = pipeline.generate(request(astronaut_png, cameo.id, requester="bob")).generation
        assert [g.id for g in pipeline.library.visible(ALICE)] == [gen.id]
        assert pipeline.library.visible(EVE) == []
        with pytest.raises(CameoguardError, match="injected fault"):
            pipeline.generate(request(astronaut_png, cameo.id, requester="bob"),
                              on_stage=_fail_at("publish"))  # fmt: skip
        assert pipeline.emitter.ledger.count() == 1
        assert pipeline.library.delete(gen.id, ALICE).status is GenerationStatus.DELETED
    finally:
        pipeline.emitter.signer.close()
        pipeline.registry.engine.dispose()


def _fail_at(stage: str) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == stage:
            raise RuntimeError(f"injected fault at {name}")

    return hook


def test_remote_http_backend_output_goes_through_every_stage(
    settings: Settings, embedder: object, detector: object
) -> None:
    from cameoguard.generator_adapter.backends.http import Backoff, HttpBackend, RetryPolicy

    from .videos_api_server import Behaviour, VideosApiServer

    fast = Backoff(0.01, 1.5, 0.05, 0.0)
    with VideosApiServer(Behaviour(polls_before_complete=1)) as server:
        remote = HttpBackend(server.url, poll=fast, retry=RetryPolicy(max_retries=2, backoff=fast))
        pipeline = make_pipeline(settings, embedder, detector, {"http": remote})  # type: ignore[arg-type]
        result = pipeline.generate(
            GenerationRequest(
                "bob", "http", "a gradient", options={"seconds": 4, "size": "256x256"}
            )
        )
    gen = result.generation
    assert gen.path is not None and gen.backend == "http" and gen.cameo_ids == ()
    report = verify_file(gen.path, limits=LIMITS, trust=pipeline.emitter.trust)
    assert report.state is ProvenanceState.TRUSTED
    assert result.backend_details["remote_id"].startswith("video_")
    assert "video" in result.watermark_tracks
    likeness = read_likeness(pipeline.emitter.ledger.get(gen.id).manifest_json)  # type: ignore[union-attr]
    assert likeness is not None and likeness["cameos"] == []
