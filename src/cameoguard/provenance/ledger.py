"""The generation ledger: one row for every output cameoguard's generation core emits.

What flows through here: the generation core asks :meth:`Ledger.new_generation_id` for a fresh
48-bit watermark payload and its text id (``g_`` + 12 hex digits), embeds the payload, signs the
file, and hands a :class:`LedgerEntry` (a frozen value, not the ORM row) to
:meth:`Ledger.record`, which inserts the generation, its per-frame video hashes and its cameo
links in one transaction. Verification and takedown flows read entries back by id, payload,
file SHA-256 or cameo; the search index built elsewhere streams the perceptual hashes
(:meth:`Ledger.image_hashes`, :meth:`Ledger.frame_hashes`, :meth:`Ledger.audio_fingerprints`).

Tables (declared on :class:`cameoguard.db.Base`, created by migration ``0002``):

* ``ledger_generations``: one row per generation; ``id`` is ``format_payload(payload)`` and the
  payload is unique, so a watermark read back resolves to exactly one generation.
* ``ledger_frame_hashes``: vPDQ per-frame hashes of videos (deleted with their generation).
* ``ledger_generation_cameos``: which cameos a generation used, indexed by cameo id so owners
  can list everything made with their likeness on SQLite and PostgreSQL alike. It mirrors
  ``ledger_generations.cameo_ids`` (which keeps the order) and is written with it.

Entries are never overwritten: recording an id or payload that is already there raises
:class:`LedgerConflictError` (also when two processes raced for the same fresh payload). The
only change an entry sees is :meth:`Ledger.take_down`. The ledger holds no face data. Manifest
bytes and audio fingerprints are never logged and are left out of ``repr``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload, sessionmaker

from cameoguard.db import Base, UTCDateTime, session_factory, session_scope, utcnow
from cameoguard.errors import BadInputError, OperationError
from cameoguard.media.types import MediaKind
from cameoguard.watermark import payload as wm_payload

__all__ = [
    "CAMEO_ID_MAX",
    "FrameHashRow",
    "Ledger",
    "LedgerCameoLink",
    "LedgerConflictError",
    "LedgerEntry",
    "LedgerFrameHash",
    "LedgerGeneration",
    "LedgerNotFoundError",
    "LedgerStatus",
]

log = logging.getLogger(__name__)

#: Column widths, checked in :class:`LedgerEntry` so SQLite and PostgreSQL refuse the same values.
REQUESTER_MAX = 256
BACKEND_MAX = 64
MIME_MAX = 128
SCHEME_MAX = 64
KEY_ID_MAX = 16
MANIFEST_LABEL_MAX = 256
CAMEO_ID_MAX = 64

#: Rows fetched per round trip by the streaming readers.
STREAM_BATCH = 1_000

#: Fresh payloads tried by :meth:`Ledger.new_generation_id` before giving up (each collides with
#: probability ledger size / 2^48, so one try nearly always suffices).
_ID_ATTEMPTS = 16

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class LedgerStatus(StrEnum):
    """Whether a generation is still considered live."""

    ACTIVE = "active"
    TAKEN_DOWN = "taken_down"


class LedgerConflictError(OperationError):
    """The generation id / payload is already in the ledger; nothing was written."""

    code = "ledger.conflict"


class LedgerNotFoundError(BadInputError):
    """No generation with the given id is in the ledger."""

    code = "ledger.not_found"


# --------------------------------------------------------------------------- values


def _invalid(message: str) -> BadInputError:
    return BadInputError(f"invalid ledger entry: {message}", code="ledger.invalid_entry")


def _check_hex64(name: str, value: object) -> str:
    if not isinstance(value, str) or _HEX64.match(value.lower()) is None:
        raise _invalid(f"{name} must be 64 hex digits, got {value!r}")
    return value.lower()


def _check_text(name: str, value: object, limit: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{name} must be a non-empty string, got {value!r}")
    if len(value) > limit:
        raise _invalid(f"{name} is {len(value)} characters long; at most {limit} fit")


def _check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise _invalid(f"{name} must be an integer >= {low}, got {value!r}")
    if high is not None and value > high:
        raise _invalid(f"{name} must be at most {high}, got {value!r}")


def _check_seconds(name: str, value: object) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise _invalid(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def _utc(name: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _invalid(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _ids(name: str, values: Iterable[str], limit: int | None = None) -> tuple[str, ...]:
    if isinstance(values, str | bytes):
        raise _invalid(f"{name} must be a sequence of strings, not one string")
    out = tuple(values)
    for value in out:
        _check_text(f"each of {name}", value, limit if limit is not None else 1_000)
    if len(set(out)) != len(out):
        raise _invalid(f"{name} lists an id twice: {out!r}")
    return out


@dataclass(frozen=True, slots=True)
class FrameHashRow:
    """One vPDQ frame hash of a video: time in seconds, PDQ hash (64 hex), quality 0..100."""

    t_s: float
    pdq: str
    quality: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "t_s", _check_seconds("frame t_s", self.t_s))
        object.__setattr__(self, "pdq", _check_hex64("frame pdq", self.pdq))
        _check_int("frame quality", self.quality, 0, 100)


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    """Everything the ledger knows about one generation (a value; the ORM row stays inside).

    ``generation_id`` is derived from ``payload``. Values are checked and normalised on
    construction: datetimes to UTC (naive ones refused), hex digests to lower case, lists to
    tuples, frame hashes sorted by time; so an entry read back equals the one recorded.
    ``pdq``/``pdq_quality`` (both or neither) belong to images, ``frame_hashes`` to videos and
    ``audio_fingerprint`` to audio or video; ``taken_down_at`` and ``takedown_reason`` are set
    exactly when ``status`` is ``taken_down``. Invalid values raise
    :class:`~cameoguard.errors.BadInputError` (code ``ledger.invalid_entry``).
    """

    payload: int
    created_at: datetime
    requester: str
    backend: str
    media_kind: MediaKind
    mime: str
    sha256: str
    size_bytes: int
    manifest_store: bytes = field(repr=False)
    manifest_json: str = field(repr=False)
    manifest_label: str | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    watermark_scheme: str | None = None
    watermark_key_id: str | None = None
    cameo_ids: tuple[str, ...] = ()
    consent_grant_ids: tuple[str, ...] = ()
    pdq: str | None = None
    pdq_quality: int | None = None
    pdq_crops: tuple[str, ...] = field(default=(), repr=False)
    audio_fingerprint: bytes | None = field(default=None, repr=False)
    frame_hashes: tuple[FrameHashRow, ...] = field(default=(), repr=False)
    status: LedgerStatus = LedgerStatus.ACTIVE
    taken_down_at: datetime | None = None
    takedown_reason: str | None = None

    def __post_init__(self) -> None:
        fix = object.__setattr__
        wm_payload.format_payload(self.payload)  # BadInputError unless 1..2^48-1
        fix(self, "created_at", _utc("created_at", self.created_at))
        _check_text("requester", self.requester, REQUESTER_MAX)
        _check_text("backend", self.backend, BACKEND_MAX)
        try:
            kind = MediaKind(self.media_kind)
        except ValueError:
            raise _invalid(
                f"media_kind must be one of {[k.value for k in MediaKind]}, got {self.media_kind!r}"
            ) from None
        fix(self, "media_kind", kind)
        _check_text("mime", self.mime, MIME_MAX)
        fix(self, "sha256", _check_hex64("sha256", self.sha256))
        _check_int("size_bytes", self.size_bytes, 0)
        if not isinstance(self.manifest_store, bytes | bytearray | memoryview):
            raise _invalid("manifest_store must be bytes")
        fix(self, "manifest_store", bytes(self.manifest_store))
        if not isinstance(self.manifest_json, str):
            raise _invalid("manifest_json must be a string")
        _check_text("manifest_label", self.manifest_label, MANIFEST_LABEL_MAX, optional=True)
        for name in ("width", "height"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 1)
        if self.duration_s is not None:
            fix(self, "duration_s", _check_seconds("duration_s", self.duration_s))
        _check_text("watermark_scheme", self.watermark_scheme, SCHEME_MAX, optional=True)
        _check_text("watermark_key_id", self.watermark_key_id, KEY_ID_MAX, optional=True)
        fix(self, "cameo_ids", _ids("cameo_ids", self.cameo_ids, CAMEO_ID_MAX))
        fix(self, "consent_grant_ids", _ids("consent_grant_ids", self.consent_grant_ids))
        self._check_fingerprints(kind)
        self._check_status()

    def _check_fingerprints(self, kind: MediaKind) -> None:
        fix = object.__setattr__
        if (self.pdq is None) != (self.pdq_quality is None):
            raise _invalid("pdq and pdq_quality go together (both or neither)")
        if self.pdq is not None:
            if kind is not MediaKind.IMAGE:
                raise _invalid(f"pdq is for images; this is {kind.value} (use frame_hashes)")
            fix(self, "pdq", _check_hex64("pdq", self.pdq))
            _check_int("pdq_quality", self.pdq_quality, 0, 100)
        crops = tuple(_check_hex64("pdq crop", crop) for crop in self.pdq_crops)
        if crops and self.pdq is None:
            raise _invalid("pdq_crops need the main pdq hash")
        fix(self, "pdq_crops", crops)
        frames = tuple(self.frame_hashes)
        if not all(isinstance(frame, FrameHashRow) for frame in frames):
            raise _invalid("frame_hashes must hold FrameHashRow values")
        if frames and kind is not MediaKind.VIDEO:
            raise _invalid(f"frame_hashes are for videos; this is {kind.value}")
        fix(self, "frame_hashes", tuple(sorted(frames, key=lambda frame: frame.t_s)))
        if self.audio_fingerprint is not None:
            if kind is MediaKind.IMAGE:
                raise _invalid("an image has no audio_fingerprint")
            if not isinstance(self.audio_fingerprint, bytes | bytearray | memoryview):
                raise _invalid("audio_fingerprint must be bytes")
            fix(self, "audio_fingerprint", bytes(self.audio_fingerprint))

    def _check_status(self) -> None:
        try:
            status = LedgerStatus(self.status)
        except ValueError:
            raise _invalid(
                f"status must be one of {[s.value for s in LedgerStatus]}, got {self.status!r}"
            ) from None
        object.__setattr__(self, "status", status)
        taken_down = status is LedgerStatus.TAKEN_DOWN
        if taken_down != (self.taken_down_at is not None) or taken_down != (
            self.takedown_reason is not None
        ):
            raise _invalid(
                "taken_down_at and takedown_reason are set exactly when status is taken_down"
            )
        if self.taken_down_at is not None:
            object.__setattr__(self, "taken_down_at", _utc("taken_down_at", self.taken_down_at))
        _check_text("takedown_reason", self.takedown_reason, 10_000, optional=True)

    @property
    def generation_id(self) -> str:
        """The text id, ``g_`` + 12 hex digits of the payload."""
        return wm_payload.format_payload(self.payload)


# --------------------------------------------------------------------------- tables


class LedgerGeneration(Base):
    """ORM row of ``ledger_generations``; use :class:`LedgerEntry` outside this module."""

    __tablename__ = "ledger_generations"
    __table_args__ = (
        CheckConstraint(
            f"payload > 0 AND payload <= {wm_payload.MAX_PAYLOAD}", name="payload_range"
        ),
        CheckConstraint("media_kind IN ('image', 'video', 'audio')", name="media_kind"),
        CheckConstraint(
            "(status = 'active' AND taken_down_at IS NULL AND takedown_reason IS NULL) OR "
            "(status = 'taken_down' AND taken_down_at IS NOT NULL "
            "AND takedown_reason IS NOT NULL)",
            name="status",
        ),
    )

    id: Mapped[str] = mapped_column(String(14), primary_key=True)
    payload: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    requester: Mapped[str] = mapped_column(String(REQUESTER_MAX))
    backend: Mapped[str] = mapped_column(String(BACKEND_MAX))
    media_kind: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(MIME_MAX))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    watermark_scheme: Mapped[str | None] = mapped_column(String(SCHEME_MAX))
    watermark_key_id: Mapped[str | None] = mapped_column(String(KEY_ID_MAX))
    cameo_ids: Mapped[list[str]] = mapped_column(JSON)
    consent_grant_ids: Mapped[list[str]] = mapped_column(JSON)
    manifest_label: Mapped[str | None] = mapped_column(String(MANIFEST_LABEL_MAX))
    manifest_store: Mapped[bytes] = mapped_column(LargeBinary)
    manifest_json: Mapped[str] = mapped_column(Text)
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    pdq_crops: Mapped[str | None] = mapped_column(Text)
    audio_fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=LedgerStatus.ACTIVE.value)
    taken_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    takedown_reason: Mapped[str | None] = mapped_column(Text)

    frames: Mapped[list[LedgerFrameHash]] = relationship(
        back_populates="generation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(LedgerFrameHash.t_s, LedgerFrameHash.id)",
    )
    cameo_links: Mapped[list[LedgerCameoLink]] = relationship(
        back_populates="generation", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"LedgerGeneration(id={self.id!r}, media_kind={self.media_kind!r})"


class LedgerFrameHash(Base):
    """ORM row of ``ledger_frame_hashes``: one vPDQ frame hash of a video generation."""

    __tablename__ = "ledger_frame_hashes"
    __table_args__ = (
        # Serves the foreign key and the (generation, time) order of frame_hashes().
        Index("ix_ledger_frame_hashes_generation_id_t_s", "generation_id", "t_s"),
    )

    # BIGINT on PostgreSQL (a big ledger has many frames); SQLite autoincrements only INTEGER.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    generation_id: Mapped[str] = mapped_column(
        String(14), ForeignKey("ledger_generations.id", ondelete="CASCADE")
    )
    t_s: Mapped[float] = mapped_column(Float)
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)

    generation: Mapped[LedgerGeneration] = relationship(back_populates="frames")

    def __repr__(self) -> str:
        return f"LedgerFrameHash(generation_id={self.generation_id!r}, t_s={self.t_s!r})"


class LedgerCameoLink(Base):
    """ORM row of ``ledger_generation_cameos``: generation ``generation_id`` used ``cameo_id``."""

    __tablename__ = "ledger_generation_cameos"

    generation_id: Mapped[str] = mapped_column(
        String(14), ForeignKey("ledger_generations.id", ondelete="CASCADE"), primary_key=True
    )
    cameo_id: Mapped[str] = mapped_column(String(CAMEO_ID_MAX), primary_key=True, index=True)

    generation: Mapped[LedgerGeneration] = relationship(back_populates="cameo_links")

    def __repr__(self) -> str:
        return f"LedgerCameoLink(generation_id={self.generation_id!r}, cameo_id={self.cameo_id!r})"


def _row_from_entry(entry: LedgerEntry) -> LedgerGeneration:
    generation_id = entry.generation_id
    return LedgerGeneration(
        id=generation_id,
        payload=entry.payload,
        created_at=entry.created_at,
        requester=entry.requester,
        backend=entry.backend,
        media_kind=entry.media_kind.value,
        mime=entry.mime,
        sha256=entry.sha256,
        size_bytes=entry.size_bytes,
        width=entry.width,
        height=entry.height,
        duration_s=entry.duration_s,
        watermark_scheme=entry.watermark_scheme,
        watermark_key_id=entry.watermark_key_id,
        cameo_ids=list(entry.cameo_ids),
        consent_grant_ids=list(entry.consent_grant_ids),
        manifest_label=entry.manifest_label,
        manifest_store=entry.manifest_store,
        manifest_json=entry.manifest_json,
        pdq=entry.pdq,
        pdq_quality=entry.pdq_quality,
        pdq_crops=" ".join(entry.pdq_crops) or None,
        audio_fingerprint=entry.audio_fingerprint,
        status=entry.status.value,
        taken_down_at=entry.taken_down_at,
        takedown_reason=entry.takedown_reason,
        frames=[
            LedgerFrameHash(t_s=frame.t_s, pdq=frame.pdq, quality=frame.quality)
            for frame in entry.frame_hashes
        ],
        cameo_links=[LedgerCameoLink(cameo_id=cameo_id) for cameo_id in entry.cameo_ids],
    )


def _entry_from_row(row: LedgerGeneration) -> LedgerEntry:
    audio = row.audio_fingerprint
    return LedgerEntry(
        payload=row.payload,
        created_at=row.created_at,
        requester=row.requester,
        backend=row.backend,
        media_kind=MediaKind(row.media_kind),
        mime=row.mime,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        manifest_store=bytes(row.manifest_store),
        manifest_json=row.manifest_json,
        manifest_label=row.manifest_label,
        width=row.width,
        height=row.height,
        duration_s=row.duration_s,
        watermark_scheme=row.watermark_scheme,
        watermark_key_id=row.watermark_key_id,
        cameo_ids=tuple(row.cameo_ids),
        consent_grant_ids=tuple(row.consent_grant_ids),
        pdq=row.pdq,
        pdq_quality=row.pdq_quality,
        pdq_crops=tuple(row.pdq_crops.split()) if row.pdq_crops else (),
        audio_fingerprint=None if audio is None else bytes(audio),
        frame_hashes=tuple(
            FrameHashRow(t_s=frame.t_s, pdq=frame.pdq, quality=frame.quality)
            for frame in row.frames
        ),
        status=LedgerStatus(row.status),
        taken_down_at=row.taken_down_at,
        takedown_reason=row.takedown_reason,
    )


def _db_reason(error: IntegrityError) -> str:
    # The driver's message only: str(error) would add the statement's parameters (manifest bytes).
    text = str(error.orig) if error.orig is not None else type(error).__name__
    return text.splitlines()[0] if text else type(error).__name__


# --------------------------------------------------------------------------- repository


class Ledger:
    """Narrow access to the generation ledger; each method runs in its own transaction.

    Built from a session factory (:func:`cameoguard.db.session_factory`) or an engine. The
    database must be migrated (:func:`cameoguard.db.upgrade`) to revision ``0002`` or later.
    """

    def __init__(self, source: sessionmaker[Session] | Engine) -> None:
        self._factory = session_factory(source) if isinstance(source, Engine) else source

    # ------------------------------------------------------------------ writing

    def new_generation_id(self) -> tuple[str, int]:
        """A fresh random payload not yet in the ledger, as ``(text id, payload)``.

        The check and the later :meth:`record` are separate transactions: two processes may
        draw the same payload (about n/2^48 odds), in which case the second ``record`` raises
        :class:`LedgerConflictError` and that generation must be marked and signed again.
        """
        with session_scope(self._factory) as session:
            for _ in range(_ID_ATTEMPTS):
                value = wm_payload.new_payload()
                taken = session.scalar(
                    select(LedgerGeneration.id).where(LedgerGeneration.payload == value)
                )
                if taken is None:
                    return wm_payload.format_payload(value), value
        raise OperationError(
            f"no free generation id after {_ID_ATTEMPTS} random draws; the payload source is "
            "not random (check cameoguard.watermark.payload.new_payload)",
            code="ledger.ids_exhausted",
        )

    def record(
        self,
        entry: LedgerEntry,
        *,
        also: Sequence[Base] = (),
        before_commit: Callable[[], None] | None = None,
    ) -> LedgerEntry:
        """Insert ``entry`` with its frame hashes and cameo links, atomically; return it as stored.

        ``also`` are further rows inserted in the same transaction (the generation library's
        draft row), so that either all of them are written or none. ``before_commit`` runs
        after every row was accepted and before the commit (the emitter moves the output into
        place there); if it raises, nothing is recorded. Raises
        :class:`LedgerConflictError` when its id / payload is already recorded (the existing
        entry is left untouched) and :class:`~cameoguard.errors.OperationError` when the
        database refuses the row for another reason (nothing is written).
        """
        generation_id = entry.generation_id
        try:
            with session_scope(self._factory) as session:
                row = _row_from_entry(entry)
                session.add(row)
                session.flush()
                stored = _entry_from_row(row)
                if also:
                    session.add_all(also)
                    session.flush()
                if before_commit is not None:
                    before_commit()
        except IntegrityError as error:
            raise self._refusal(entry, error) from error.orig
        log.info(
            "ledger: recorded %s (%s, backend %s, %d frame hashes, %d cameos)",
            generation_id,
            entry.media_kind.value,
            entry.backend,
            len(entry.frame_hashes),
            len(entry.cameo_ids),
        )
        return stored

    def _refusal(self, entry: LedgerEntry, error: IntegrityError) -> OperationError:
        generation_id = entry.generation_id
        with session_scope(self._factory) as session:
            existing = session.scalar(
                select(LedgerGeneration.created_at).where(
                    (LedgerGeneration.id == generation_id)
                    | (LedgerGeneration.payload == entry.payload)
                )
            )
        if existing is not None:
            return LedgerConflictError(
                f"generation {generation_id} is already in the ledger (recorded "
                f"{existing.isoformat()}); entries are never overwritten: take a fresh id from "
                "Ledger.new_generation_id() and mark and sign the output again"
            )
        return OperationError(
            f"the ledger refused generation {generation_id}: {_db_reason(error)}; nothing was "
            "written",
            code="ledger.record_failed",
        )

    def take_down(self, generation_id: str, reason: str) -> LedgerEntry:
        """Mark a generation taken down now, with ``reason``; return the updated entry.

        Idempotent: a generation already taken down keeps its first time and reason and is
        returned unchanged. Raises :class:`LedgerNotFoundError` for an unknown id and
        :class:`~cameoguard.errors.BadInputError` for a malformed id or an empty reason.
        """
        key = _normalise_id(generation_id)
        if not isinstance(reason, str) or not reason.strip():
            raise BadInputError("a takedown needs a non-empty reason", code="ledger.reason")
        with session_scope(self._factory) as session:
            row = session.get(
                LedgerGeneration,
                key,
                with_for_update=True,
                options=[selectinload(LedgerGeneration.frames)],
            )
            if row is None:
                raise LedgerNotFoundError(f"generation {key} is not in the ledger")
            if row.status != LedgerStatus.TAKEN_DOWN.value:
                row.status = LedgerStatus.TAKEN_DOWN.value
                row.taken_down_at = utcnow()
                row.takedown_reason = reason.strip()
                log.info("ledger: took down %s", key)
            return _entry_from_row(row)

    # ------------------------------------------------------------------ lookups

    def get(self, generation_id: str) -> LedgerEntry | None:
        """The entry with text id ``generation_id`` (case and surrounding space ignored)."""
        key = _normalise_id(generation_id)
        with session_scope(self._factory) as session:
            row = session.get(
                LedgerGeneration, key, options=[selectinload(LedgerGeneration.frames)]
            )
            return None if row is None else _entry_from_row(row)

    def by_payload(self, payload: int) -> LedgerEntry | None:
        """The entry whose watermark payload is ``payload`` (a 48-bit integer)."""
        wm_payload.format_payload(payload)  # BadInputError when out of range
        found = self._select(LedgerGeneration.payload == payload)
        return found[0] if found else None

    def by_sha256(self, sha256: str) -> list[LedgerEntry]:
        """Entries whose signed file has this SHA-256 (hex), oldest first."""
        digest = sha256.strip().lower()
        if _HEX64.match(digest) is None:
            raise BadInputError(
                f"{sha256!r} is not a SHA-256 digest (64 hex digits)", code="ledger.bad_sha256"
            )
        return self._select(LedgerGeneration.sha256 == digest)

    def by_cameo(self, cameo_id: str) -> list[LedgerEntry]:
        """Every generation that used cameo ``cameo_id``, oldest first (taken down included)."""
        return self._select(
            LedgerGeneration.id.in_(
                select(LedgerCameoLink.generation_id).where(LedgerCameoLink.cameo_id == cameo_id)
            )
        )

    def count(self) -> int:
        """How many generations the ledger holds (taken down included)."""
        with session_scope(self._factory) as session:
            return session.scalar(select(func.count()).select_from(LedgerGeneration)) or 0

    # ------------------------------------------------------------------ index feeds

    def image_hashes(self, *, min_quality: int = 0) -> Generator[tuple[str, str], None, None]:
        """Stream ``(generation id, pdq hex)`` of images whose PDQ quality >= ``min_quality``,
        the main hash first, then the hashes of its centre crops (same id).

        Taken-down generations are included (a match should still resolve to its entry). Rows
        are fetched in batches of :data:`STREAM_BATCH` inside one read transaction, held until
        the iterator is exhausted or closed (it sees one consistent snapshot; close it when
        stopping early, so that SQLite can checkpoint its WAL).
        """
        stmt = (
            select(LedgerGeneration.id, LedgerGeneration.pdq, LedgerGeneration.pdq_crops)
            .where(
                LedgerGeneration.pdq.is_not(None),
                LedgerGeneration.pdq_quality >= min_quality,
            )
            .order_by(LedgerGeneration.id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        with session_scope(self._factory) as session:
            for generation_id, pdq, crops in session.execute(stmt):
                if pdq is not None:
                    yield generation_id, pdq
                for crop in (crops or "").split():
                    yield generation_id, crop

    def frame_hashes(
        self, *, min_quality: int = 0
    ) -> Generator[tuple[str, float, str, int], None, None]:
        """Stream ``(generation id, t_s, pdq hex, quality)`` of video frames, by id and time.

        Frames below ``min_quality`` are skipped; otherwise as :meth:`image_hashes`.
        """
        stmt = (
            select(
                LedgerFrameHash.generation_id,
                LedgerFrameHash.t_s,
                LedgerFrameHash.pdq,
                LedgerFrameHash.quality,
            )
            .where(LedgerFrameHash.quality >= min_quality)
            .order_by(LedgerFrameHash.generation_id, LedgerFrameHash.t_s, LedgerFrameHash.id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        with session_scope(self._factory) as session:
            for row in session.execute(stmt):
                yield row.generation_id, row.t_s, row.pdq, row.quality  # a tuple, not a Row

    def audio_fingerprints(self) -> Generator[tuple[str, bytes], None, None]:
        """Stream ``(generation id, fingerprint bytes)`` of generations that have one."""
        stmt = (
            select(LedgerGeneration.id, LedgerGeneration.audio_fingerprint)
            .where(LedgerGeneration.audio_fingerprint.is_not(None))
            .order_by(LedgerGeneration.id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        with session_scope(self._factory) as session:
            for generation_id, fingerprint in session.execute(stmt):
                if fingerprint is not None:
                    yield generation_id, bytes(fingerprint)

    # ------------------------------------------------------------------ helpers

    def _select(self, criterion: ColumnElement[bool]) -> list[LedgerEntry]:
        stmt = (
            select(LedgerGeneration)
            .where(criterion)
            .options(selectinload(LedgerGeneration.frames))
            .order_by(LedgerGeneration.created_at, LedgerGeneration.id)
        )
        with session_scope(self._factory) as session:
            return [_entry_from_row(row) for row in session.scalars(stmt)]


def _normalise_id(generation_id: str) -> str:
    """``generation_id`` in canonical form; BadInputError when it is not a generation id."""
    return wm_payload.format_payload(wm_payload.parse_payload(generation_id))
