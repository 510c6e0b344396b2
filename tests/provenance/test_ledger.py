"""The generation ledger: migration 0002, models vs schema, and the Ledger repository.

Runs on SQLite, and on PostgreSQL too when ``CAMEOGUARD_TEST_POSTGRES_URL`` is set (see
tests/test_db.py: each test gets its own schema there, dropped afterwards).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, func, inspect, select

from cameoguard import db
from cameoguard.errors import BadInputError, OperationError
from cameoguard.media.types import MediaKind
from cameoguard.provenance.ledger import (
    FrameHashRow,
    Ledger,
    LedgerCameoLink,
    LedgerConflictError,
    LedgerEntry,
    LedgerFrameHash,
    LedgerGeneration,
    LedgerNotFoundError,
    LedgerStatus,
)
from cameoguard.watermark import payload as wm_payload
from tests.postgres import fresh_schema_url

LEDGER_TABLES = {"ledger_generations", "ledger_frame_hashes", "ledger_generation_cameos"}
MANIFEST = b"\x00\x00\x00\x40jumbc2pa" + bytes(range(256)) * 8  # stands in for a C2PA store
PLUS_TWO = timezone(timedelta(hours=2))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a fresh SQLite file, or a fresh schema in the PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    yield from fresh_schema_url()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.create_engine_for(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.create_engine_for(f"sqlite:///{tmp_path / 'ledger.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    """A ledger on a migrated database (SQLite and, when configured, PostgreSQL)."""
    db.upgrade(engine)
    return Ledger(db.session_factory(engine))


@pytest.fixture
def sqlite_ledger(sqlite_engine: Engine) -> Ledger:
    return Ledger(sqlite_engine)


def _alembic(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def video_entry(payload: int = 0x0123456789AB, **changes: Any) -> LedgerEntry:
    """A video generation with every field set."""
    fields: dict[str, Any] = {
        "payload": payload,
        "created_at": datetime(2025, 3, 4, 12, 30, 15, 123456, tzinfo=PLUS_TWO),
        "requester": "user:alice@example.org",
        "backend": "sora-like-v1",
        "media_kind": MediaKind.VIDEO,
        "mime": "video/mp4",
        "sha256": "AB" * 32,
        "size_bytes": 12_345_678_901,
        "manifest_store": MANIFEST,
        "manifest_json": '{"active_manifest": "urn:c2pa:1234", "manifests": {}}',
        "manifest_label": "urn:c2pa:1234",
        "width": 1280,
        "height": 720,
        "duration_s": 4.25,
        "watermark_scheme": "video-dct-v1",
        "watermark_key_id": "0123456789abcdef",
        "cameo_ids": ["cameo_bob", "cameo_carol"],
        "consent_grant_ids": ("grant_1", "grant_2"),
        "audio_fingerprint": b"\x01\x02\x00\xff" * 64,
        "frame_hashes": (
            FrameHashRow(t_s=1.0, pdq="1" * 64, quality=90),
            FrameHashRow(t_s=0.0, pdq="F" * 64, quality=100),
            FrameHashRow(t_s=2.5, pdq="2" * 64, quality=30),
        ),
    }
    fields.update(changes)
    return LedgerEntry(**fields)


def image_entry(payload: int, **changes: Any) -> LedgerEntry:
    fields: dict[str, Any] = {
        "payload": payload,
        "created_at": datetime(2025, 3, 5, 8, 0, tzinfo=UTC),
        "requester": "user:bob",
        "backend": "image-gen",
        "media_kind": MediaKind.IMAGE,
        "mime": "image/png",
        "sha256": "cd" * 32,
        "size_bytes": 2048,
        "manifest_store": b"store",
        "manifest_json": "{}",
        "width": 64,
        "height": 48,
        "pdq": "a" * 64,
        "pdq_quality": 80,
    }
    fields.update(changes)
    return LedgerEntry(**fields)


def audio_entry(payload: int, **changes: Any) -> LedgerEntry:
    fields: dict[str, Any] = {
        "payload": payload,
        "created_at": datetime(2025, 3, 6, tzinfo=UTC),
        "requester": "user:carol",
        "backend": "tts",
        "media_kind": MediaKind.AUDIO,
        "mime": "audio/wav",
        "sha256": "ef" * 32,
        "size_bytes": 4096,
        "manifest_store": b"audio-store",
        "manifest_json": "{}",
        "duration_s": 2.0,
        "audio_fingerprint": b"\x07" * 32,
        "cameo_ids": ("cameo_bob",),
    }
    fields.update(changes)
    return LedgerEntry(**fields)


# --------------------------------------------------------------------------- migrations


def test_upgrade_from_empty_to_head(engine: Engine) -> None:
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision() == "0007"
    assert set(inspect(engine).get_table_names()) >= LEDGER_TABLES


def test_models_match_migrated_schema(engine: Engine) -> None:
    db.upgrade(engine)
    assert set(db.Base.metadata.tables) >= LEDGER_TABLES
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.Base.metadata) == []


def test_migrated_schema_has_the_constraints_and_indexes(sqlite_engine: Engine) -> None:
    inspector = inspect(sqlite_engine)
    assert inspector.get_unique_constraints("ledger_generations") == [
        {"name": "uq_ledger_generations_payload", "column_names": ["payload"]}
    ]
    indexes = {
        (table, index["name"], tuple(index["column_names"]))
        for table in LEDGER_TABLES
        for index in inspector.get_indexes(table)
    }
    assert indexes == {
        ("ledger_generations", "ix_ledger_generations_created_at", ("created_at",)),
        ("ledger_generations", "ix_ledger_generations_sha256", ("sha256",)),
        (
            "ledger_frame_hashes",
            "ix_ledger_frame_hashes_generation_id_t_s",
            ("generation_id", "t_s"),
        ),
        ("ledger_generation_cameos", "ix_ledger_generation_cameos_cameo_id", ("cameo_id",)),
    }
    for table in ("ledger_frame_hashes", "ledger_generation_cameos"):
        (foreign_key,) = inspector.get_foreign_keys(table)
        assert foreign_key["referred_table"] == "ledger_generations"
        assert foreign_key["options"].get("ondelete") == "CASCADE"


def test_downgrade_to_0001_and_upgrade_again(engine: Engine) -> None:
    db.upgrade(engine)
    Ledger(engine).record(video_entry())
    with db.migration_connection(engine) as connection:
        command.downgrade(_alembic(connection), "0001")
    assert db.current_revision(engine) == "0001"
    tables = set(inspect(engine).get_table_names())
    assert not LEDGER_TABLES & tables
    assert "cameoguard_meta" in tables

    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    ledger = Ledger(engine)
    assert ledger.count() == 0
    assert ledger.record(video_entry()) == video_entry()


# --------------------------------------------------------------------------- round trips


def test_record_and_read_back_every_field(ledger: Ledger) -> None:
    entry = video_entry()
    stored = ledger.record(entry)
    assert stored == entry

    got = ledger.get(entry.generation_id)
    assert got == entry
    assert got is not None
    assert got.generation_id == "g_0123456789ab"
    assert got.created_at == datetime(2025, 3, 4, 10, 30, 15, 123456, tzinfo=UTC)
    assert got.created_at.tzinfo is UTC
    assert got.media_kind is MediaKind.VIDEO
    assert got.status is LedgerStatus.ACTIVE
    assert got.sha256 == "ab" * 32
    assert type(got.manifest_store) is bytes
    assert got.manifest_store == MANIFEST
    assert got.audio_fingerprint == b"\x01\x02\x00\xff" * 64
    assert got.cameo_ids == ("cameo_bob", "cameo_carol")
    assert got.consent_grant_ids == ("grant_1", "grant_2")
    assert [frame.t_s for frame in got.frame_hashes] == [0.0, 1.0, 2.5]
    assert got.frame_hashes[0] == FrameHashRow(t_s=0.0, pdq="f" * 64, quality=100)
    assert got.size_bytes == 12_345_678_901
    assert (got.width, got.height, got.duration_s) == (1280, 720, 4.25)
    assert got.taken_down_at is None
    assert got.takedown_reason is None

    assert ledger.get("  G_0123456789AB ") == entry
    assert ledger.by_payload(0x0123456789AB) == entry
    assert ledger.by_sha256("AB" * 32) == [entry]
    assert ledger.by_cameo("cameo_carol") == [entry]


def test_lookups_that_find_nothing(ledger: Ledger) -> None:
    ledger.record(video_entry())
    assert ledger.get("g_000000000001") is None
    assert ledger.by_payload(1) is None
    assert ledger.by_sha256("00" * 32) == []
    assert ledger.by_cameo("cameo_nobody") == []


def test_several_entries_by_sha256_and_cameo_oldest_first(ledger: Ledger) -> None:
    early, late = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    second = ledger.record(image_entry(2, created_at=late, cameo_ids=("cameo_bob",)))
    first = ledger.record(image_entry(1, created_at=early, cameo_ids=("cameo_bob", "cameo_x")))
    video = ledger.record(video_entry(3))
    audio = ledger.record(audio_entry(4))
    assert ledger.by_sha256("cd" * 32) == [first, second]
    assert ledger.by_cameo("cameo_bob") == [first, video, audio, second]
    assert ledger.by_cameo("cameo_x") == [first]
    assert ledger.count() == 4


def test_index_feeds(ledger: Ledger) -> None:
    ledger.record(image_entry(0xB, pdq="b" * 64, pdq_quality=40))
    ledger.record(image_entry(0xA))
    ledger.record(image_entry(0xC, pdq=None, pdq_quality=None))
    ledger.record(video_entry(0xD))
    ledger.record(audio_entry(0xE))

    assert list(ledger.image_hashes()) == [
        ("g_00000000000a", "a" * 64),
        ("g_00000000000b", "b" * 64),
    ]
    assert list(ledger.image_hashes(min_quality=50)) == [("g_00000000000a", "a" * 64)]
    assert list(ledger.frame_hashes()) == [
        ("g_00000000000d", 0.0, "f" * 64, 100),
        ("g_00000000000d", 1.0, "1" * 64, 90),
        ("g_00000000000d", 2.5, "2" * 64, 30),
    ]
    assert [row[1] for row in ledger.frame_hashes(min_quality=50)] == [0.0, 1.0]
    assert list(ledger.audio_fingerprints()) == [
        ("g_00000000000d", b"\x01\x02\x00\xff" * 64),
        ("g_00000000000e", b"\x07" * 32),
    ]


def test_index_feeds_stream_and_can_stop_early(
    sqlite_ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cameoguard.provenance.ledger.STREAM_BATCH", 2)
    for payload in range(1, 8):
        sqlite_ledger.record(image_entry(payload))
    assert len(list(sqlite_ledger.image_hashes())) == 7
    stream = sqlite_ledger.image_hashes()
    assert next(stream) == ("g_000000000001", "a" * 64)
    stream.close()  # the read transaction ends; writing goes on
    sqlite_ledger.record(image_entry(8))
    assert sqlite_ledger.count() == 8


def test_ledger_from_engine_or_sessionmaker(sqlite_engine: Engine) -> None:
    Ledger(sqlite_engine).record(video_entry())
    assert Ledger(db.session_factory(sqlite_engine)).get("g_0123456789ab") == video_entry()


# --------------------------------------------------------------------------- no overwrites


def test_duplicate_record_is_a_conflict_and_keeps_the_first(ledger: Ledger) -> None:
    first = ledger.record(video_entry())
    impostor = video_entry(
        requester="user:mallory",
        sha256="00" * 32,
        cameo_ids=("cameo_mallory",),
        frame_hashes=(FrameHashRow(t_s=9.0, pdq="9" * 64, quality=1),),
    )
    with pytest.raises(LedgerConflictError) as info:
        ledger.record(impostor)
    assert isinstance(info.value, OperationError)
    assert info.value.code == "ledger.conflict"
    assert "g_0123456789ab is already in the ledger" in str(info.value)
    assert "new_generation_id" in str(info.value)
    assert "jumb" not in str(info.value)

    assert ledger.get(first.generation_id) == first
    assert ledger.by_cameo("cameo_mallory") == []
    assert ledger.by_sha256("00" * 32) == []
    assert len(list(ledger.frame_hashes())) == 3
    assert ledger.count() == 1


def test_new_generation_id_is_fresh(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = ledger.record(video_entry()).payload
    draws = iter([taken, taken, 0xFEED])
    monkeypatch.setattr(wm_payload, "new_payload", lambda: next(draws))
    assert ledger.new_generation_id() == ("g_00000000feed", 0xFEED)


def test_new_generation_id_gives_up_on_a_broken_source(
    sqlite_ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = sqlite_ledger.record(video_entry()).payload
    monkeypatch.setattr(wm_payload, "new_payload", lambda: taken)
    with pytest.raises(OperationError) as info:
        sqlite_ledger.new_generation_id()
    assert info.value.code == "ledger.ids_exhausted"


def test_new_generation_id_unpatched(sqlite_ledger: Ledger) -> None:
    text, value = sqlite_ledger.new_generation_id()
    assert text == wm_payload.format_payload(value)
    assert wm_payload.parse_payload(text) == value


def test_record_is_atomic_and_never_logs_manifest_bytes(
    sqlite_ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sqlite_ledger.record(video_entry())
    with pytest.raises(LedgerConflictError):
        sqlite_ledger.record(video_entry())
    assert "g_0123456789ab" in caplog.text
    assert "jumbc2pa" not in caplog.text
    assert "\\x00\\x01\\x02" not in caplog.text
    assert "manifest_store" not in repr(video_entry())


def test_deleting_a_generation_cascades(sqlite_engine: Engine) -> None:
    ledger = Ledger(sqlite_engine)
    ledger.record(video_entry())
    with db.session_scope(db.session_factory(sqlite_engine)) as session:
        session.execute(delete(LedgerGeneration))
    with db.session_scope(db.session_factory(sqlite_engine)) as session:
        assert session.scalar(select(func.count()).select_from(LedgerFrameHash)) == 0
        assert session.scalar(select(func.count()).select_from(LedgerCameoLink)) == 0


# --------------------------------------------------------------------------- takedown


def test_take_down_is_recorded_and_idempotent(ledger: Ledger) -> None:
    entry = ledger.record(video_entry())
    before = datetime.now(UTC)
    down = ledger.take_down("G_0123456789AB", "  consent withdrawn by cameo_bob ")
    after = datetime.now(UTC)
    assert down.status is LedgerStatus.TAKEN_DOWN
    assert down.takedown_reason == "consent withdrawn by cameo_bob"
    assert down.taken_down_at is not None
    assert before <= down.taken_down_at <= after
    assert down.taken_down_at.tzinfo is UTC
    assert down == dataclasses.replace(
        entry,
        status=LedgerStatus.TAKEN_DOWN,
        taken_down_at=down.taken_down_at,
        takedown_reason="consent withdrawn by cameo_bob",
    )
    assert ledger.get(entry.generation_id) == down

    again = ledger.take_down(entry.generation_id, "another reason")
    assert again == down
    assert ledger.by_cameo("cameo_bob") == [down]  # owners still see it
    assert list(ledger.image_hashes()) == []
    assert len(list(ledger.frame_hashes())) == 3


def test_take_down_refusals(sqlite_ledger: Ledger) -> None:
    sqlite_ledger.record(video_entry())
    with pytest.raises(LedgerNotFoundError) as info:
        sqlite_ledger.take_down("g_000000000001", "reason")
    assert info.value.code == "ledger.not_found"
    with pytest.raises(BadInputError, match="non-empty reason"):
        sqlite_ledger.take_down("g_0123456789ab", "   ")
    with pytest.raises(BadInputError, match="not a generation id"):
        sqlite_ledger.take_down("0123456789ab", "reason")
    assert sqlite_ledger.get("g_0123456789ab") == video_entry()


# --------------------------------------------------------------------------- entry checks


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"payload": 0}, "payload"),
        ({"payload": 1 << 48}, "payload"),
        ({"created_at": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"sha256": "xyz"}, "sha256 must be 64 hex digits"),
        ({"media_kind": "text"}, "media_kind"),
        ({"requester": " "}, "requester"),
        ({"backend": "b" * 65}, "at most 64"),
        ({"watermark_key_id": "k" * 17}, "at most 16"),
        ({"size_bytes": -1}, "size_bytes"),
        ({"width": 0}, "width"),
        ({"duration_s": float("nan")}, "duration_s"),
        ({"cameo_ids": ("a", "a")}, "twice"),
        ({"cameo_ids": "cameo_bob"}, "not one string"),
        ({"cameo_ids": ("c" * 65,)}, "at most 64"),
        ({"pdq": "a" * 64, "pdq_quality": 50}, "pdq is for images"),
        ({"pdq": "a" * 64}, "both or neither"),
        ({"status": "deleted"}, "status"),
        ({"status": LedgerStatus.TAKEN_DOWN}, "exactly when"),
        ({"takedown_reason": "why"}, "exactly when"),
    ],
)
def test_invalid_entries_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        video_entry(**changes)


def test_kind_specific_fields() -> None:
    with pytest.raises(BadInputError, match="frame_hashes are for videos"):
        image_entry(1, frame_hashes=(FrameHashRow(t_s=0.0, pdq="0" * 64, quality=50),))
    with pytest.raises(BadInputError, match="no audio_fingerprint"):
        image_entry(1, audio_fingerprint=b"x")
    with pytest.raises(BadInputError, match="quality"):
        FrameHashRow(t_s=0.0, pdq="0" * 64, quality=101)
    with pytest.raises(BadInputError, match="t_s"):
        FrameHashRow(t_s=-1.0, pdq="0" * 64, quality=1)
    assert image_entry(1, media_kind="image").media_kind is MediaKind.IMAGE


def test_lookups_refuse_malformed_keys(sqlite_ledger: Ledger) -> None:
    with pytest.raises(BadInputError, match="not a generation id"):
        sqlite_ledger.get("g_xyz")
    with pytest.raises(BadInputError, match="payload"):
        sqlite_ledger.by_payload(-5)
    with pytest.raises(BadInputError, match="SHA-256"):
        sqlite_ledger.by_sha256("abc")
