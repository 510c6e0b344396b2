"""The registry over a real SQLite database: enrollment rules, authorize, revocation, deletion.

Synthetic samples (tests/consent/conftest.py) stand in for faces here, so these tests run on
any machine; the face pipeline itself is tested on real photos in test_enrollment.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select, text

from cameoguard import db
from cameoguard.consent.models import ClockRow, GrantRow, SampleRow, TemplateRow
from cameoguard.consent.policy import DenialReason
from cameoguard.consent.registry import CameoRegistry
from cameoguard.consent.values import OPERATOR, Actor
from cameoguard.errors import (
    BadInputError,
    ConsentPolicyError,
    EnrollmentError,
    NotFoundError,
    PermissionDeniedError,
)
from cameoguard.media.types import MediaKind
from cameoguard.provenance.ledger import LedgerEntry
from tests.conftest import REPO
from tests.consent.conftest import synthetic_probe, synthetic_samples
from tests.postgres import fresh_schema_url

ALICE, BOB, CAROL = Actor("alice"), Actor("bob"), Actor("carol")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """SQLite, and PostgreSQL where CAMEOGUARD_TEST_POSTGRES_URL is set (tests/postgres.py)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
        engine = db.create_engine_for(url)
        db.upgrade(engine)
        yield engine
        engine.dispose()
        return
    for url in fresh_schema_url():
        engine = db.create_engine_for(url)
        db.upgrade(engine)
        yield engine
        engine.dispose()


def enroll(registry: CameoRegistry, owner: str, identity: int, **kw: object) -> str:
    return registry.enroll_samples(owner, f"person {identity}", synthetic_samples(identity),
                                   **kw).cameo.id  # type: ignore[arg-type]  # fmt: skip


def test_enroll_and_read_back(registry: CameoRegistry) -> None:
    result = registry.enroll_samples("alice", "Alice", synthetic_samples(1))
    cameo = result.cameo
    assert cameo.id.startswith("c_") and len(cameo.id) == 14
    assert (cameo.owner, cameo.name, cameo.status.value, cameo.tier.value) == (
        "alice",
        "Alice",
        "active",
        "only_me",
    )
    assert cameo.sample_count == 3 and cameo.embedder == "dlib_resnet"
    assert registry.get(cameo.id) == cameo
    assert [c.id for c in registry.list_cameos(owner="alice")] == [cameo.id]
    assert registry.list_cameos(owner="bob") == []
    assert registry.counts() == {"cameos_active": 1, "cameos_revoked": 0, "cameos_deleted": 0,
                                 "protected": 0, "templates": 1, "samples": 3}  # fmt: skip
    assert "vector" not in repr(cameo) and "embedding" not in str(cameo.to_dict())


def test_nobody_enrolls_someone_elses_face(registry: CameoRegistry) -> None:
    alice = enroll(registry, "alice", 1)
    with pytest.raises(EnrollmentError, match="already belongs to a cameo of another account") as e:
        enroll(registry, "bob", 1)
    assert e.value.code == "enroll.already_enrolled"
    with pytest.raises(EnrollmentError, match=f"already enrolled this face as cameo {alice}") as e:
        enroll(registry, "alice", 1)
    assert e.value.code == "enroll.duplicate_own"
    # A revoked cameo still blocks other owners (the template stays) but not its own owner.
    registry.revoke(alice, actor=ALICE)
    with pytest.raises(EnrollmentError, match="another account"):
        enroll(registry, "bob", 1)
    again = enroll(registry, "alice", 1)
    assert again != alice
    refused = [e for e in registry.audit_entries() if e.action == "cameo.enroll_refused"]
    assert [e.details["reason"] for e in refused] == [
        "enroll.already_enrolled",
        "enroll.duplicate_own",
        "enroll.already_enrolled",
    ]
    assert all(e.details["matched"] == alice for e in refused)
    assert registry.audit_verify().ok


def test_a_protected_face_cannot_be_enrolled(registry: CameoRegistry) -> None:
    bob = enroll(registry, "bob", 3)
    protected = registry.protect_samples("Public Figure", synthetic_samples(3), reason="opt-out")
    assert protected.conflicting_cameos == (bob,)
    with pytest.raises(EnrollmentError, match="matches a protected person") as e:
        enroll(registry, "carol", 3)
    assert e.value.code == "enroll.protected_person"
    with pytest.raises(PermissionDeniedError, match="only an operator"):
        registry.protect_samples("X", synthetic_samples(4), actor=CAROL)
    assert [p.id for p in registry.list_protected()] == [protected.person.id]
    match, _ = registry.match_embeddings(synthetic_probe(3)[None, :])[0]
    assert match is not None and match.subject_id in (bob, protected.person.id)
    registry.unprotect(protected.person.id)
    assert registry.list_protected() == []
    enroll(registry, "dave", 5)


def test_every_authorize_outcome(registry: CameoRegistry) -> None:
    c = enroll(registry, "alice", 1)
    minor = enroll(registry, "kid", 2, is_minor=True)
    gone = enroll(registry, "erin", 6)
    registry.delete(gone, actor=Actor("erin"))

    def reason(requester: str, ids: list[str], prompt: str = "a walk") -> DenialReason | None:
        result = registry.authorize(requester, ids, prompt)
        assert result.allowed == (not result.denials)
        return result.denials[0].reason if result.denials else None

    assert reason("alice", [c]) is None  # only_me: the owner
    assert reason("bob", [c]) is DenialReason.NOT_APPROVED
    registry.set_permissions(c, tier="approved", approve=["bob"], actor=ALICE)
    assert reason("bob", [c]) is None
    assert reason("carol", [c]) is DenialReason.NOT_APPROVED
    registry.set_permissions(c, tier="everyone", actor=ALICE)
    assert reason("carol", [c]) is None
    registry.restrict(c, forbid=["topic:politics", "Beer"], actor=ALICE)
    assert reason("carol", [c], "an ELECTION rally") is DenialReason.RESTRICTED_TERM
    assert reason("carol", [c], "two beers") is DenialReason.RESTRICTED_TERM
    registry.restrict(c, allow=["beer"], actor=ALICE)
    assert reason("carol", [c], "two beers") is None
    assert reason("carol", ["c_ffffffffffff"]) is DenialReason.UNKNOWN_CAMEO
    assert reason("carol", [gone]) is DenialReason.DELETED
    assert reason("carol", [minor]) is DenialReason.MINOR_PROTECTION
    assert reason("kid", [minor]) is None
    registry.revoke(c, actor=ALICE, reason="changed my mind")
    assert reason("alice", [c]) is DenialReason.REVOKED
    # Several cameos: one refusal means no grants at all.
    registry.set_permissions(minor, tier="approved", guardians=["mum"], actor=Actor("kid"))
    mixed = registry.authorize("mum", [minor, c], "a walk")
    assert not mixed.allowed and mixed.grants == () and mixed.permitted == (minor,)


def test_grants_are_recorded_and_their_status_follows_revocation(
    registry: CameoRegistry, engine: Engine
) -> None:
    c = enroll(registry, "alice", 1)
    result = registry.authorize("alice", [c], "a portrait in the park")
    assert result.allowed and len(result.grants) == 1
    grant = result.grants[0]
    assert grant.grant_id.startswith("gr_") and grant.cameo_id == c
    assert grant.scope["prompt_sha256"] == result.prompt_sha256
    assert (grant.expires_at - datetime.now(UTC)).total_seconds() == pytest.approx(3600, abs=60)
    with db.session_scope(db.session_factory(engine)) as session:
        assert session.get(GrantRow, grant.grant_id) is not None
    status = registry.grant_status(grant.grant_id)
    assert status.state == "active" and status.usable_for_new_generation
    registry.revoke(c, actor=ALICE)
    status = registry.grant_status(grant.grant_id)
    assert status.state == "revoked" and not status.usable_for_new_generation
    assert status.revoked_at is not None
    with pytest.raises(NotFoundError, match="no consent grant"):
        registry.grant_status("gr_nope")
    decisions = [e for e in registry.audit_entries(c) if e.action == "consent.authorize"]
    assert decisions[0].details["grants"] == [grant.grant_id]


def test_owners_only_change_their_own_cameos(registry: CameoRegistry) -> None:
    c = enroll(registry, "alice", 1)
    for change in (
        lambda: registry.set_permissions(c, tier="everyone", actor=BOB),
        lambda: registry.restrict(c, forbid=["x"], actor=BOB),
        lambda: registry.revoke(c, actor=BOB),
        lambda: registry.delete(c, actor=BOB),
    ):
        with pytest.raises(PermissionDeniedError, match="does not own cameo"):
            change()
    with pytest.raises(PermissionDeniedError, match="enroll their own face"):
        registry.enroll_samples("alice", "x", synthetic_samples(9), actor=BOB)
    registry.set_permissions(c, tier="everyone", actor=OPERATOR)  # the operator may
    assert registry.get(c).tier.value == "everyone"


def test_minor_cameos_are_limited(registry: CameoRegistry) -> None:
    kid = enroll(registry, "kid", 2, is_minor=True)
    with pytest.raises(ConsentPolicyError, match="only_me or approved") as e:
        registry.set_permissions(kid, tier="everyone", actor=Actor("kid"))
    assert e.value.code == "consent.minor_tier"
    with pytest.raises(ConsentPolicyError, match="only guardians"):
        registry.set_permissions(kid, tier="approved", approve=["stranger"], actor=Actor("kid"))
    cameo = registry.set_permissions(kid, tier="approved", guardians=["mum"], actor=Actor("kid"))
    assert cameo.guardians == ("mum",) and cameo.approved == ()
    assert registry.authorize("mum", [kid], "at the zoo").allowed
    assert not registry.authorize("stranger", [kid], "at the zoo").allowed


def test_bad_requests_are_clear(registry: CameoRegistry) -> None:
    c = enroll(registry, "alice", 1)
    with pytest.raises(BadInputError, match="1 to 16 cameos"):
        registry.authorize("bob", [], "x")
    with pytest.raises(BadInputError, match="at most 4000"):
        registry.authorize("bob", [c], "x" * 4001)
    with pytest.raises(BadInputError, match="non-empty account"):
        registry.authorize(" ", [c], "x")
    with pytest.raises(ConsentPolicyError, match="unknown tier 'public'"):
        registry.set_permissions(c, tier="public", actor=ALICE)
    with pytest.raises(NotFoundError, match="no cameo with id 'c_nope'"):
        registry.revoke("c_nope", actor=ALICE)
    with pytest.raises(BadInputError, match="display name"):
        registry.enroll_samples("alice", "", synthetic_samples(8))
    registry.revoke(c, actor=ALICE)
    with pytest.raises(ConsentPolicyError, match="is revoked") as e:
        registry.set_permissions(c, tier="everyone", actor=ALICE)
    assert e.value.code == "consent.cameo_revoked"
    assert registry.revoke(c, actor=ALICE).already_revoked


def _entry(payload: int, cameo_ids: tuple[str, ...]) -> LedgerEntry:
    return LedgerEntry(payload=payload, created_at=datetime.now(UTC), requester="alice",
                       backend="test", media_kind=MediaKind.IMAGE, mime="image/jpeg",
                       sha256="ab" * 32, size_bytes=10, manifest_store=b"m", manifest_json="{}",
                       cameo_ids=cameo_ids, pdq="cd" * 32, pdq_quality=90)  # fmt: skip


def test_revocation_lists_generations_from_the_ledger(registry: CameoRegistry) -> None:
    c = enroll(registry, "alice", 1)
    assert registry.ledger is not None
    first = registry.ledger.record(_entry(0x123456789ABC, (c,)))
    registry.ledger.record(_entry(0x223456789ABC, ("c_someoneelse",)))
    result = registry.revoke(c, actor=ALICE)
    assert result.generations == (first.generation_id,)
    assert result.cameo.status.value == "revoked"


def test_identify_by_embedding_reports_status_fresh(registry: CameoRegistry) -> None:
    c = enroll(registry, "alice", 1)
    (match, distance), (none, far) = registry.match_embeddings(
        np.stack([synthetic_probe(1), synthetic_probe(50)])
    )
    assert match is not None and match.subject_id == c and match.decision.value == "match"
    assert match.status == "active" and distance is not None and distance < 0.2
    assert none is None and far is not None and far > 1.0
    registry.revoke(c, actor=ALICE)
    match, _ = registry.match_embeddings(synthetic_probe(1)[None, :])[0]
    assert match is not None and match.status == "revoked"
    registry.delete(c, actor=ALICE)
    assert registry.match_embeddings(synthetic_probe(1)[None, :])[0][0] is None


def test_deletion_leaves_no_embedding_behind(registry: CameoRegistry, engine: Engine) -> None:
    sqlite = engine.dialect.name == "sqlite"  # the file scan is SQLite's; rows: both
    samples = synthetic_samples(1)
    c = registry.enroll_samples("alice", "Alice", samples).cameo.id
    keep = enroll(registry, "bob", 2)
    secrets = [s.embedding.astype("<f4").tobytes() for s in samples] + [
        s.crop_jpeg for s in samples
    ]
    database = Path(str(engine.url.database))

    def on_disk() -> bytes:
        files = [database, database.with_name(database.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())

    if sqlite:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert all(secret in on_disk() for secret in secrets)  # the check can fail
    result = registry.delete(c, actor=ALICE)
    assert (result.removed_samples, result.removed_templates) == (3, 1)
    if sqlite:
        data = on_disk()
        assert not any(secret in data for secret in secrets)
        assert b"Alice" not in data.replace(b"alice", b"")  # the display name went too
    with db.session_scope(db.session_factory(engine)) as session:
        assert session.scalars(select(SampleRow).where(SampleRow.subject_id == c)).all() == []
        assert session.scalars(select(TemplateRow).where(TemplateRow.subject_id == c)).all() == []
    tombstone = registry.get(c)
    assert tombstone.status.value == "deleted" and tombstone.name == ""
    registry.sync()
    assert c not in registry.index and keep in registry.index
    assert registry.list_cameos() == [registry.get(keep)]


def _run_in_other_process(database_url: str, code: str) -> str:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from cameoguard import db
        from cameoguard.consent.embedders.dlib_resnet import DlibResnetEmbedder
        from cameoguard.consent.registry import CameoRegistry
        from cameoguard.consent.values import Actor
        from tests.consent.conftest import synthetic_samples
        registry = CameoRegistry(db.create_engine_for({database_url!r}), DlibResnetEmbedder())
        """
    ) + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_revocation_is_seen_by_another_process_at_once(
    registry: CameoRegistry, engine: Engine
) -> None:
    c = enroll(registry, "alice", 1)
    registry.set_permissions(c, tier="everyone", actor=ALICE)
    assert registry.authorize("bob", [c], "a walk").allowed  # warm: index loaded, rows read
    assert registry.match_embeddings(synthetic_probe(1)[None, :])[0][0] is not None
    url = engine.url.render_as_string(hide_password=False)
    _run_in_other_process(url, f"registry.revoke({c!r}, actor=Actor('alice'))")
    denied = registry.authorize("bob", [c], "a walk")
    assert [d.reason for d in denied.denials] == [DenialReason.REVOKED]
    match, _ = registry.match_embeddings(synthetic_probe(1)[None, :])[0]
    assert match is not None and match.status == "revoked"
    # Deletion and enrollment elsewhere reach this process's index on the next call.
    new = _run_in_other_process(url, f"""
        registry.delete({c!r}, actor=Actor('alice'))
        print(registry.enroll_samples('carol', 'Carol', synthetic_samples(7)).cameo.id)
    """)  # fmt: skip
    assert registry.match_embeddings(synthetic_probe(1)[None, :])[0][0] is None
    match, _ = registry.match_embeddings(synthetic_probe(7)[None, :])[0]
    assert match is not None and match.subject_id == new
    # ... and this process's revocation reaches the other one.
    registry.revoke(new, actor=OPERATOR)
    out = _run_in_other_process(
        url, f"print(registry.authorize('carol', [{new!r}], 'x').denials[0].reason)"
    )
    assert out == "revoked"


def test_audit_chain_detects_edits_and_deletions(registry: CameoRegistry, engine: Engine) -> None:
    c = enroll(registry, "alice", 1)
    registry.set_permissions(c, tier="everyone", actor=ALICE)
    registry.authorize("bob", [c], "a walk")
    registry.revoke(c, actor=ALICE)
    check = registry.audit_verify()
    assert check.ok and check.entries == 4 and check.problems == []
    actions = [e.action for e in registry.audit_entries()]
    assert actions == ["cameo.enroll", "cameo.permit", "consent.authorize", "cameo.revoke"]

    def tamper(sql: str) -> list[str]:
        with engine.begin() as connection:
            connection.execute(text(sql))
        return registry.audit_verify().problems

    backup = engine.url.database
    assert backup is not None
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE audit_backup AS SELECT * FROM consent_audit")

    def restore() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM consent_audit")
            connection.exec_driver_sql("INSERT INTO consent_audit SELECT * FROM audit_backup")
        assert registry.audit_verify().ok

    problems = tamper("UPDATE consent_audit SET actor = 'mallory' WHERE seq = 2")
    assert problems == ["entry 2 (cameo.permit) was modified: its hash does not recompute"]
    restore()
    problems = tamper('UPDATE consent_audit SET details = \'{"tier": "only_me"}\' WHERE seq = 2')
    assert any("entry 2" in p and "modified" in p for p in problems)
    restore()
    problems = tamper("DELETE FROM consent_audit WHERE seq = 3")
    assert any("entries 3 are missing" in p for p in problems)
    restore()
    problems = tamper("DELETE FROM consent_audit WHERE seq = 4")
    assert problems == [
        "the log ends at entry 3 but 4 were written (entries at the end were deleted)"
    ]
    restore()
    with engine.begin() as connection:
        clock = connection.execute(select(ClockRow.audit_seq)).scalar_one()
    assert clock == 4
