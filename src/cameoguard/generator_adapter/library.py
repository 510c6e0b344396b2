"""The generation library: every output is a draft first, seen by its requester and cameo owners.

What flows through: the pipeline stores each signed output under ``<data_dir>/generations/``
and inserts its :class:`GenerationRow` (status ``draft``) in the *same transaction* as its
ledger record (:meth:`cameoguard.provenance.ledger.Ledger.record` with ``also=``), so there is
never a draft without a ledger entry or the other way round. Afterwards:

* :meth:`GenerationLibrary.visible` lists what an account may see: generations it requested,
  and every generation that contains one of its cameos (draft or published);
* :meth:`GenerationLibrary.publish` (requester only) makes a draft public after re-checking
  that every cameo in it still consents;
* :meth:`GenerationLibrary.delete` (the requester, or the owner of *any* cameo in it) erases
  the stored file and the prompt, and takes the generation down in the ledger, so verification
  reports it as taken down from then on.

Table ``generations`` (migration ``0004``); its cameos are the ledger's
``ledger_generation_cameos`` rows, so an owner's view is one indexed join.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Engine, ForeignKey, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from cameoguard import db
from cameoguard.consent.models import CameoRow
from cameoguard.consent.values import Actor
from cameoguard.db import Base, UTCDateTime
from cameoguard.errors import BadInputError, NotFoundError, PermissionDeniedError
from cameoguard.fsutil import atomic_output
from cameoguard.provenance.ledger import Ledger, LedgerCameoLink, LedgerGeneration

__all__ = ["Generation", "GenerationLibrary", "GenerationRow", "GenerationStatus"]

log = logging.getLogger(__name__)


class GenerationStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    DELETED = "deleted"


class GenerationRow(Base):
    """ORM row of ``generations``; use :class:`Generation` outside this module."""

    __tablename__ = "generations"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'deleted')", name="status"),
    )

    id: Mapped[str] = mapped_column(
        String(14), ForeignKey("ledger_generations.id"), primary_key=True
    )
    requester: Mapped[str] = mapped_column(String(256), index=True)
    status: Mapped[str] = mapped_column(String(16))
    backend: Mapped[str] = mapped_column(String(64))
    media_kind: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(128))
    prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    prompt_sha256: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(String(14), nullable=True, index=True)
    file_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    delete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


@dataclass(frozen=True, slots=True)
class Generation:
    """One generation as an account sees it."""

    id: str
    requester: str
    status: GenerationStatus
    backend: str
    media_kind: str
    mime: str
    prompt: str | None
    parent_id: str | None
    cameo_ids: tuple[str, ...]
    consent_grant_ids: tuple[str, ...]
    path: Path | None
    sha256: str
    details: dict[str, Any]
    created_at: datetime
    published_at: datetime | None = None
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    delete_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "requester": self.requester,
            "status": self.status.value,
            "backend": self.backend,
            "media_kind": self.media_kind,
            "mime": self.mime,
            "prompt": self.prompt,
            "parent_id": self.parent_id,
            "cameo_ids": list(self.cameo_ids),
            "consent_grant_ids": list(self.consent_grant_ids),
            "path": None if self.path is None else str(self.path),
            "sha256": self.sha256,
            "details": self.details,
            "created_at": iso(self.created_at),
            "published_at": iso(self.published_at),
            "deleted_at": iso(self.deleted_at),
            "deleted_by": self.deleted_by,
            "delete_reason": self.delete_reason,
        }


class GenerationLibrary:
    """Drafts and outputs on disk and in the database; see the module docstring."""

    def __init__(
        self, source: sessionmaker[Session] | Engine, root: Path, ledger: Ledger | None = None
    ) -> None:
        self._factory = db.session_factory(source) if isinstance(source, Engine) else source
        self.root = Path(root)
        self.ledger = ledger or Ledger(self._factory)

    # ------------------------------------------------------------------ writing (pipeline)

    def path_for(self, generation_id: str, suffix: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.root / f"{generation_id}{suffix}"

    @staticmethod
    def draft_row(
        generation_id: str,
        *,
        requester: str,
        backend: str,
        media_kind: str,
        mime: str,
        prompt: str,
        prompt_sha256: str,
        parent_id: str | None,
        file_name: str,
        details: dict[str, Any],
    ) -> GenerationRow:
        """The row the pipeline inserts together with the ledger record."""
        return GenerationRow(
            id=generation_id,
            requester=requester,
            status=GenerationStatus.DRAFT.value,
            backend=backend,
            media_kind=media_kind,
            mime=mime,
            prompt=prompt,
            prompt_sha256=prompt_sha256,
            parent_id=parent_id,
            file_name=file_name,
            details=details,
            created_at=db.utcnow(),
        )

    # ------------------------------------------------------------------ reading

    def _value(self, session: Session, row: GenerationRow) -> Generation:
        ledger_row = session.get(LedgerGeneration, row.id)
        assert ledger_row is not None  # the foreign key guarantees it
        path = None if row.file_name is None else self.root / row.file_name
        return Generation(
            id=row.id,
            requester=row.requester,
            status=GenerationStatus(row.status),
            backend=row.backend,
            media_kind=row.media_kind,
            mime=row.mime,
            prompt=row.prompt,
            parent_id=row.parent_id,
            cameo_ids=tuple(ledger_row.cameo_ids),
            consent_grant_ids=tuple(ledger_row.consent_grant_ids),
            path=path,
            sha256=ledger_row.sha256,
            details=dict(row.details),
            created_at=row.created_at,
            published_at=row.published_at,
            deleted_at=row.deleted_at,
            deleted_by=row.deleted_by,
            delete_reason=row.delete_reason,
        )

    @staticmethod
    def _owned_cameos(session: Session, account: str) -> Any:
        return select(CameoRow.id).where(CameoRow.owner == account)

    def _may_see(self, session: Session, row: GenerationRow, actor: Actor) -> bool:
        if actor.admin or row.requester == actor.account:
            return True
        if row.status == GenerationStatus.PUBLISHED.value:
            return True
        return self._owner_of_cameo_in(session, row.id, actor.account)

    @staticmethod
    def _owner_of_cameo_in(session: Session, generation_id: str, account: str) -> bool:
        found = session.scalar(
            select(LedgerCameoLink.cameo_id)
            .join(CameoRow, CameoRow.id == LedgerCameoLink.cameo_id)
            .where(LedgerCameoLink.generation_id == generation_id, CameoRow.owner == account)
            .limit(1)
        )
        return found is not None

    def get(self, generation_id: str, actor: Actor) -> Generation:
        """One generation the actor may see; any other id reads as unknown (no existence leak)."""
        key = _normalise(generation_id)
        with db.session_scope(self._factory) as session:
            row = session.get(GenerationRow, key)
            if row is None or not self._may_see(session, row, actor):
                raise NotFoundError(
                    f"no generation {key} that {actor.account} may see",
                    code="generation.not_found",
                )
            return self._value(session, row)

    def visible(
        self,
        actor: Actor,
        *,
        status: GenerationStatus | None = None,
        cameo_id: str | None = None,
        limit: int = 200,
    ) -> list[Generation]:
        """Generations the actor requested or that contain one of its cameos, newest first."""
        with db.session_scope(self._factory) as session:
            query = select(GenerationRow)
            if not actor.admin:
                containing = select(LedgerCameoLink.generation_id).where(
                    LedgerCameoLink.cameo_id.in_(self._owned_cameos(session, actor.account))
                )
                query = query.where(
                    or_(GenerationRow.requester == actor.account, GenerationRow.id.in_(containing))
                )
            if status is not None:
                query = query.where(GenerationRow.status == GenerationStatus(status).value)
            if cameo_id is not None:
                query = query.where(
                    GenerationRow.id.in_(
                        select(LedgerCameoLink.generation_id).where(
                            LedgerCameoLink.cameo_id == cameo_id
                        )
                    )
                )
            query = query.order_by(GenerationRow.created_at.desc(), GenerationRow.id).limit(limit)
            return [self._value(session, row) for row in session.scalars(query)]

    def export(self, generation_id: str, actor: Actor, dest: Path) -> Path:
        """Copy a generation the actor may see to ``dest`` (atomically, byte for byte)."""
        generation = self.get(generation_id, actor)
        if generation.path is None or not generation.path.is_file():
            raise BadInputError(
                f"generation {generation.id} has no stored file (it is {generation.status.value})",
                code="generation.no_file",
            )
        with atomic_output(dest) as tmp:
            shutil.copyfile(generation.path, tmp)
        return Path(dest)

    # ------------------------------------------------------------------ changes

    def publish(
        self, generation_id: str, actor: Actor, consent_still_given: Sequence[str]
    ) -> Generation:
        """Make a draft public. ``consent_still_given`` are the grant ids re-checked as active."""
        key = _normalise(generation_id)
        with db.session_scope(self._factory) as session:
            row = session.get(GenerationRow, key, with_for_update=True)
            if row is None or not self._may_see(session, row, actor):
                raise NotFoundError(f"no generation {key} that {actor.account} may see",
                                    code="generation.not_found")  # fmt: skip
            if row.requester != actor.account and not actor.admin:
                raise PermissionDeniedError(
                    f"only {row.requester}, who requested {key}, can publish it"
                )
            if row.status == GenerationStatus.DELETED.value:
                raise BadInputError(f"generation {key} was deleted; it cannot be published",
                                    code="generation.deleted")  # fmt: skip
            ledger_row = session.get(LedgerGeneration, key)
            assert ledger_row is not None
            missing = set(ledger_row.consent_grant_ids) - set(consent_still_given)
            if missing:
                raise PermissionDeniedError(
                    f"generation {key} cannot be published: consent behind grant(s) "
                    f"{', '.join(sorted(missing))} no longer stands",
                    code="consent.denied",
                )
            if row.status == GenerationStatus.DRAFT.value:
                row.status = GenerationStatus.PUBLISHED.value
                row.published_at = db.utcnow()
            return self._value(session, row)

    def delete(self, generation_id: str, actor: Actor, reason: str | None = None) -> Generation:
        """Delete a draft or output: its requester, or the owner of any cameo in it, may.

        The stored file and the prompt are erased, the ledger entry is taken down (kept, so
        verification can say so). Deleting twice returns the deleted generation unchanged.
        """
        key = _normalise(generation_id)
        with db.session_scope(self._factory) as session:
            row = session.get(GenerationRow, key, with_for_update=True)
            if row is None or not self._may_see(session, row, actor):
                raise NotFoundError(f"no generation {key} that {actor.account} may see",
                                    code="generation.not_found")  # fmt: skip
            if row.status == GenerationStatus.DELETED.value:
                return self._value(session, row)
            if actor.admin:
                role = "operator"
            elif row.requester == actor.account:
                role = "requester"
            elif self._owner_of_cameo_in(session, key, actor.account):
                role = "cameo owner"
            else:
                raise PermissionDeniedError(
                    f"{actor.account} may not delete {key}: only its requester and the owners "
                    "of the cameos in it can"
                )
            text = f"deleted by {role} {actor.account}" + (f": {reason.strip()}" if reason else "")
            file_name = row.file_name
            row.status = GenerationStatus.DELETED.value
            row.deleted_at = db.utcnow()
            row.deleted_by = actor.account
            row.delete_reason = text
            row.prompt = None
            row.file_name = None
            ledger_row = session.get(LedgerGeneration, key, with_for_update=True)
            assert ledger_row is not None
            if ledger_row.status != "taken_down":
                ledger_row.status = "taken_down"
                ledger_row.taken_down_at = row.deleted_at
                ledger_row.takedown_reason = text
            value = self._value(session, row)
        if file_name is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.root / file_name)
        log.info("generation %s deleted by %s", key, role)
        return value

    def discard(self, generation_id: str, reason: str) -> None:
        """Withdraw a generation whose output never reached the library (pipeline failure)."""
        with db.session_scope(self._factory) as session:
            row = session.get(GenerationRow, _normalise(generation_id), with_for_update=True)
            if row is not None and row.status != GenerationStatus.DELETED.value:
                row.status = GenerationStatus.DELETED.value
                row.deleted_at = db.utcnow()
                row.deleted_by = "cameoguard"
                row.delete_reason = reason
                row.prompt = None
                row.file_name = None


def _normalise(generation_id: str) -> str:
    if not isinstance(generation_id, str) or not generation_id.strip():
        raise BadInputError("a generation id looks like g_0123456789ab", code="generation.bad_id")
    return generation_id.strip().lower()
