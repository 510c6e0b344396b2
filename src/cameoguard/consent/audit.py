"""The consent audit log: append-only and hash-chained, with a verifier.

What flows through: every enrollment, permission change, authorization decision, revocation,
deletion and protected-person change appends one entry inside the same transaction as the
change itself (:func:`append`, called by the registry with the clock row locked). An entry's
``hash`` is SHA-256 over its canonical JSON (sequence number, time, actor, action, subject,
details) and the previous entry's hash; the clock row keeps the newest sequence number and
hash. :func:`verify_chain` walks the log in order and reports the first entry whose hash does
not recompute (edited), a gap in the sequence (a deleted entry), a broken link, or a log
that ends before the clock's head (deleted entries at the end).

Someone who can write to the database can rebuild the whole chain; to notice that, publish or
store elsewhere the head hash that ``cameoguard audit verify`` prints and compare later.
Entries never hold biometric data (no embeddings, no photos, no display names of deleted
cameos), only ids, decisions and settings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cameoguard.consent.models import AuditRow, ClockRow

__all__ = ["GENESIS", "AuditEntry", "AuditVerification", "append", "entry_hash", "verify_chain"]

GENESIS = "0" * 64
_BATCH = 2_000


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_id: str | None,
    details: dict[str, Any],
) -> str:
    body = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject_id,
        "details": details,
    }
    return hashlib.sha256(f"{prev_hash}\n{_canonical(body)}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject_id: str | None
    details: dict[str, Any] = field(default_factory=dict)
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "subject_id": self.subject_id,
            "details": self.details,
            "hash": self.hash,
        }


def append(
    session: Session,
    clock: ClockRow,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_id: str | None,
    details: dict[str, Any],
) -> AuditEntry:
    """Append one entry after the clock's head; the caller holds the clock row's lock."""
    # JSON round trip: what is hashed is exactly what the database will give back.
    details = json.loads(_canonical(details))
    seq = clock.audit_seq + 1
    digest = entry_hash(clock.audit_head, seq, at, actor, action, subject_id, details)
    session.add(
        AuditRow(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject_id=subject_id,
            details=details,
            prev_hash=clock.audit_head,
            hash=digest,
        )
    )
    clock.audit_seq = seq
    clock.audit_head = digest
    return AuditEntry(seq, at, actor, action, subject_id, details, digest)


@dataclass(frozen=True, slots=True)
class AuditVerification:
    ok: bool
    entries: int
    head: str
    problems: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "problems": self.problems,
        }


def iter_entries(session: Session, *, subject_id: str | None = None) -> Iterator[AuditRow]:
    query = select(AuditRow).order_by(AuditRow.seq)
    if subject_id is not None:
        query = query.where(AuditRow.subject_id == subject_id)
    yield from session.scalars(query.execution_options(yield_per=_BATCH))


def verify_chain(session: Session, *, max_problems: int = 20) -> AuditVerification:
    """Recompute the whole chain; ``ok`` only when every entry and the head check out."""
    clock = session.get(ClockRow, 1)
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0

    def problem(text: str) -> None:
        if len(problems) < max_problems:
            problems.append(text)

    for row in iter_entries(session):
        count += 1
        if row.seq != expected_seq:
            missing = (
                f"{expected_seq}"
                if row.seq == expected_seq + 1
                else (f"{expected_seq}..{row.seq - 1}")
            )
            problem(f"entries {missing} are missing (deleted) before entry {row.seq}")
        if row.prev_hash != prev:
            problem(f"entry {row.seq} does not link to the entry before it")
        digest = entry_hash(
            row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject_id, row.details
        )
        if digest != row.hash:
            problem(f"entry {row.seq} ({row.action}) was modified: its hash does not recompute")
        prev, expected_seq = row.hash, row.seq + 1
    if clock is None:
        problem("the consent clock row is missing; run `cameoguard db upgrade`")
        head_seq, head = 0, GENESIS
    else:
        head_seq, head = clock.audit_seq, clock.audit_head
    if expected_seq - 1 < head_seq:
        problem(
            f"the log ends at entry {expected_seq - 1} but {head_seq} were written "
            "(entries at the end were deleted)"
        )
    elif expected_seq - 1 > head_seq:
        problem(f"the log holds entries after {head_seq}, the last one recorded in the clock")
    elif prev != head:
        problem("the newest entry's hash differs from the head recorded in the clock")
    return AuditVerification(not problems, count, head, problems)
