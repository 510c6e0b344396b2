"""The moderation queue: rules over verify reports, owners' flags and revocations; decisions.

What flows through: :func:`rules_for` reads a fused report (``AuthenticityReport.to_dict()``)
and names every rule it trips: a face of a protected person, of a cameo whose consent was
revoked or deleted, or of an enrolled cameo without recorded consent; a file altered after
signing; a watermark copied onto other content; a likely manipulation without provenance.
:meth:`ModerationQueue.add` opens one item per file and rule (the same file and rule twice is
one item); :meth:`ModerationQueue.enqueue_generations` opens one per generation of a revoked
cameo; owners' flags open one too. A moderator decides (``keep``, ``label_ai``, ``remove``,
``escalate``) with a reason; every step is an event in the item's history (who, what, why,
when). :meth:`ModerationQueue.hash_bank` lists the PDQ hashes of removed or revoked items
as CSV rows (``hash,signal_type,tags``) for other platforms' hash-matching (HMA-style banks).
:class:`Thumbnails` keeps one small private JPEG per item (the first frame of a video) for the
moderators' pages, since the uploaded media itself is deleted after verification.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import JSON, CheckConstraint, Engine, ForeignKey, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from cameoguard import db
from cameoguard.db import Base, UTCDateTime
from cameoguard.errors import BadInputError, CameoguardError, NotFoundError
from cameoguard.fsutil import write_private_file
from cameoguard.media import Limits, encode_image, load_image, probe, sample_frames
from cameoguard.media.types import MediaKind

__all__ = ["DECISIONS", "ModerationItem", "ModerationQueue", "Thumbnails", "rules_for"]

log = logging.getLogger(__name__)

ITEM_ID = re.compile(r"m_[0-9a-f]{12}")

DECISIONS = ("keep", "label_ai", "remove", "escalate")
STATUSES = ("open", "escalated", "decided", "all")


class ItemRow(Base):
    __tablename__ = "moderation_items"
    __table_args__ = (CheckConstraint("status IN ('open', 'escalated', 'decided')", name="status"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    generation_id: Mapped[str | None] = mapped_column(String(14), nullable=True, index=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventRow(Base):
    __tablename__ = "moderation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(16), ForeignKey("moderation_items.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class ModerationItem:
    id: str
    rule: str
    source: str
    summary: str
    sha256: str | None
    generation_id: str | None
    pdq: str | None
    evidence: list[Any]
    status: str
    decision: str | None
    created_at: datetime
    history: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "source": self.source,
            "summary": self.summary,
            "sha256": self.sha256,
            "generation_id": self.generation_id,
            "pdq": self.pdq,
            "evidence": self.evidence,
            "status": self.status,
            "decision": self.decision,
            "created_at": self.created_at.isoformat(),
            "history": list(self.history),
        }


def rules_for(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(rule, summary) for every rule a fused report trips; empty when nothing needs a look."""
    found: list[tuple[str, str]] = []
    label = report.get("label")
    evidence = report.get("evidence", [])
    for item in evidence:
        if item.get("source") != "faces":
            continue
        sentence, details = item.get("sentence", ""), item.get("details", {})
        if "protected person" in sentence:
            found.append(("protected_person", sentence))
        elif details.get("status") in ("revoked", "deleted"):
            found.append(("revoked_cameo", sentence))
        elif "no consent" in sentence:
            found.append(("no_consent", sentence))
    hard = any(e.get("kind") == "hard" for e in evidence)
    if label == "altered_after_signing":
        found.append(("altered_after_signing", report.get("headline", "altered after signing")))
    elif label == "likely_manipulated":
        rule = "transplanted_watermark" if hard else "manipulated_without_provenance"
        found.append((rule, report.get("headline", label)))
    return found


class ModerationQueue:
    def __init__(self, engine: Engine) -> None:
        self._sessions = db.session_factory(engine)

    def add(
        self,
        rule: str,
        summary: str,
        *,
        source: str,
        key: str,
        actor: str,
        evidence: list[Any] | None = None,
        sha256: str | None = None,
        generation_id: str | None = None,
        pdq: str | None = None,
    ) -> ModerationItem:
        """Open an item (or return the open one with the same ``key``)."""
        now = db.utcnow()
        row = ItemRow(
            id="m_" + secrets.token_hex(6),
            key=key[:200],
            rule=rule,
            source=source,
            summary=summary,
            sha256=sha256,
            generation_id=generation_id,
            pdq=pdq,
            evidence=evidence or [],
            status="open",
            created_at=now,
            updated_at=now,
        )
        try:
            with db.session_scope(self._sessions) as session:
                session.add(row)
                session.flush()
                session.add(
                    EventRow(
                        item_id=row.id,
                        actor=actor,
                        action=f"opened:{source}",
                        reason=summary,
                        at=now,
                    )
                )
                item_id = row.id
        except IntegrityError:
            with db.session_scope(self._sessions) as session:
                item_id = session.scalars(select(ItemRow.id).where(ItemRow.key == key[:200])).one()
        return self.get(item_id)

    def from_report(
        self, report: dict[str, Any], *, sha256: str, actor: str
    ) -> list[ModerationItem]:
        generation = report.get("generation_id")
        evidence = list(report.get("evidence", []))
        return [
            self.add(
                rule,
                summary,
                source="verify",
                key=f"{sha256}:{rule}",
                actor=actor,
                evidence=evidence,
                sha256=sha256,
                generation_id=generation,
            )
            for rule, summary in rules_for(report)
        ]

    def enqueue_generations(
        self, cameo_id: str, entries: list[Any], *, actor: str
    ) -> list[ModerationItem]:
        """One item per generation of a revoked cameo (ledger entries: pdq for the bank)."""
        items = []
        for entry in entries:
            pdq = entry.pdq or (entry.frame_hashes[0].pdq if entry.frame_hashes else None)
            items.append(
                self.add(
                    "cameo_revoked",
                    f"cameo {cameo_id} was revoked; {entry.generation_id} contains it",
                    source="revocation",
                    key=f"{entry.generation_id}:cameo_revoked",
                    actor=actor,
                    sha256=entry.sha256,
                    generation_id=entry.generation_id,
                    pdq=pdq,
                )
            )
        return items

    def get(self, item_id: str) -> ModerationItem:
        with db.session_scope(self._sessions) as session:
            row = session.get(ItemRow, item_id)
            if row is None:
                raise NotFoundError(f"no moderation item {item_id!r}", code="moderation.not_found")
            events = session.scalars(
                select(EventRow).where(EventRow.item_id == item_id).order_by(EventRow.id)
            ).all()
            history = tuple(
                {"actor": e.actor, "action": e.action, "reason": e.reason, "at": e.at.isoformat()}
                for e in events
            )
            return ModerationItem(
                row.id,
                row.rule,
                row.source,
                row.summary,
                row.sha256,
                row.generation_id,
                row.pdq,
                list(row.evidence),
                row.status,
                row.decision,
                row.created_at,
                history,
            )

    def queue(self, status: str = "open") -> list[ModerationItem]:
        """Items with ``status`` (open, escalated, decided, or all), oldest first."""
        if status not in STATUSES:
            raise BadInputError(
                f"status {status!r}: use one of {', '.join(STATUSES)}", code="moderation.status"
            )
        with db.session_scope(self._sessions) as session:
            query = select(ItemRow.id).order_by(ItemRow.created_at, ItemRow.id)
            if status != "all":
                query = query.where(ItemRow.status == status)
            ids = list(session.scalars(query))
        return [self.get(i) for i in ids]

    def decide(self, item_id: str, decision: str, reason: str, *, actor: str) -> ModerationItem:
        if decision not in DECISIONS:
            raise BadInputError(
                f"decision {decision!r}: use one of {', '.join(DECISIONS)}",
                code="moderation.bad_decision",
            )
        if not reason.strip():
            raise BadInputError("a decision needs a reason", code="moderation.no_reason")
        with db.session_scope(self._sessions) as session:
            row = session.get(ItemRow, item_id)
            if row is None:
                raise NotFoundError(f"no moderation item {item_id!r}", code="moderation.not_found")
            now = db.utcnow()
            row.status = "escalated" if decision == "escalate" else "decided"
            row.decision = decision
            row.updated_at = now
            session.add(
                EventRow(
                    item_id=item_id,
                    actor=actor,
                    action=f"decided:{decision}",
                    reason=reason,
                    at=now,
                )
            )
        return self.get(item_id)

    def hash_bank(self) -> str:
        """CSV ``hash,signal_type,tags`` of the PDQ hashes of removed or revoked items."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["hash", "signal_type", "tags"])
        for item in self.queue("all"):
            if item.pdq and (item.decision == "remove" or item.rule == "cameo_revoked"):
                tags = f"cameoguard;{item.rule};{item.generation_id or ''}".rstrip(";")
                writer.writerow([item.pdq, "pdq", tags])
        return buffer.getvalue()


class Thumbnails:
    """One private JPEG (at most ``size`` pixels on its long side) per moderation item."""

    def __init__(self, folder: Path, limits: Limits, size: int = 320) -> None:
        self.folder, self.limits, self.size = folder, limits, size

    def path(self, item_id: str) -> Path | None:
        """The item's thumbnail, or None (audio, an undecodable file, or none was kept)."""
        if not ITEM_ID.fullmatch(item_id):
            return None
        found = self.folder / f"{item_id}.jpg"
        return found if found.is_file() else None

    def keep(self, item_id: str, media: Path) -> None:
        """Write the item's thumbnail from ``media`` once; a file without pictures has none."""
        if not ITEM_ID.fullmatch(item_id) or (self.folder / f"{item_id}.jpg").is_file():
            return
        try:
            info = probe(media, self.limits)
            if info.kind is MediaKind.AUDIO:
                return
            if info.kind is MediaKind.IMAGE:
                rgb = load_image(media, self.limits)
            else:
                frames = sample_frames(media, 1, self.limits)
                if not frames:
                    return
                rgb = frames[0].rgb
        except CameoguardError as error:  # the report is still kept; the page says why
            log.info("no thumbnail for moderation item %s: %s", item_id, error.code)
            return
        picture = Image.fromarray(rgb)
        picture.thumbnail((self.size, self.size))
        data = encode_image(np.asarray(picture), "jpeg", quality=80)
        write_private_file(self.folder / f"{item_id}.jpg", data)
