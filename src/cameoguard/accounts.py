"""Accounts and API keys: who calls the service, with which role.

What flows through: :meth:`AccountStore.create` makes an account with a role and returns its
API key once (``cg_`` + 43 URL-safe characters, 256 random bits); only the key's SHA-256 is
stored (a high-entropy random key needs no slow hash), with an 8-character prefix for people
to tell keys apart. :meth:`AccountStore.authenticate` takes the key a request presents and
returns the account, or None for an unknown, malformed or disabled key; the comparison is a
database lookup by hash, so no timing difference reveals a stored key. Keys are never logged
and never shown again.

Roles (issue 7): ``user`` (own cameos and generations), ``platform`` (verify and resolve
only), ``moderator`` (the moderation queue), ``admin`` (everything).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Engine, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from cameoguard import db
from cameoguard.db import Base, UTCDateTime
from cameoguard.errors import BadInputError, NotFoundError

__all__ = ["KEY_PREFIX", "Account", "AccountStore", "Role"]

KEY_PREFIX = "cg_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_KEY = re.compile(r"^cg_[A-Za-z0-9_-]{43}$")


class Role(StrEnum):
    USER = "user"
    PLATFORM = "platform"
    MODERATOR = "moderator"
    ADMIN = "admin"


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'platform', 'moderator', 'admin')", name="role"),
    )

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    key_prefix: str
    disabled: bool
    created_at: datetime

    @classmethod
    def of(cls, row: AccountRow) -> Account:
        return cls(row.name, Role(row.role), row.key_prefix, row.disabled, row.created_at)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AccountStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = db.session_factory(engine)

    def create(self, name: str, role: Role | str) -> tuple[Account, str]:
        """A new account and its API key (shown once; only its hash is kept)."""
        if not _NAME.match(name):
            raise BadInputError(
                f"account name {name!r}: use 1-64 lower-case letters, digits, '_', '.' or '-', "
                "starting with a letter or digit",
                code="accounts.bad_name",
            )
        try:
            role = Role(role)
        except ValueError:
            raise BadInputError(
                f"role {role!r} is not one of {', '.join(r.value for r in Role)}",
                code="accounts.bad_role",
            ) from None
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = AccountRow(
            name=name,
            role=role.value,
            key_sha256=_digest(key),
            key_prefix=key[:8],
            disabled=False,
            created_at=db.utcnow(),
        )
        try:
            with db.session_scope(self._sessions) as session:
                session.add(row)
                session.flush()
                account = Account.of(row)
        except IntegrityError:
            raise BadInputError(
                f"an account named {name!r} exists already; pick another name",
                code="accounts.exists",
            ) from None
        return account, key

    def authenticate(self, key: str) -> Account | None:
        if not _KEY.match(key or ""):
            return None
        with db.session_scope(self._sessions) as session:
            row = session.scalars(
                select(AccountRow).where(AccountRow.key_sha256 == _digest(key))
            ).one_or_none()
            if row is None or row.disabled:
                return None
            return Account.of(row)

    def list(self) -> list[Account]:
        with db.session_scope(self._sessions) as session:
            rows = session.scalars(select(AccountRow).order_by(AccountRow.name)).all()
            return [Account.of(r) for r in rows]

    def disable(self, name: str) -> Account:
        with db.session_scope(self._sessions) as session:
            row = session.get(AccountRow, name)
            if row is None:
                raise NotFoundError(f"no account named {name!r}", code="accounts.not_found")
            row.disabled = True
            return Account.of(row)
