"""The shared database: one SQLAlchemy schema on SQLite or PostgreSQL, migrated by Alembic.

What flows through here: a database URL (from ``Settings.effective_database_url``) becomes an
:class:`~sqlalchemy.engine.Engine` (:func:`create_engine_for`); the engine becomes a session
factory (:func:`session_factory`) whose sessions are used inside :func:`session_scope`, which
commits on success and rolls back on any exception. Storage modules (generation ledger, cameo
registry, audit log) declare their tables on :class:`Base` and take the narrowest thing they need
(usually a :class:`~sqlalchemy.orm.Session`); none of them builds engines.

The schema is owned by the Alembic migrations shipped in :mod:`cameoguard.migrations`;
:func:`upgrade` applies them from code (no ``alembic.ini`` at run time) and
:func:`current_revision` / :func:`head_revision` say where a database is and where the code
expects it to be. ``Base.metadata`` mirrors the migrations exactly; a test compares them.

Engine behaviour per backend:

* SQLite file: parent directory created; WAL journal, ``foreign_keys=ON``, 5 s busy timeout on
  every connection; real transactions (SQLAlchemy emits ``BEGIN`` itself instead of the
  ``sqlite3`` module's legacy mode), so SELECTs are repeatable, SAVEPOINTs work and a migration
  is all-or-nothing. A transaction that reads and then writes while another process committed
  in between fails with "database is locked" (SQLite's snapshot rule); retry the whole unit.
* SQLite in memory (``sqlite://``): one shared connection (``StaticPool``), for tests.
* PostgreSQL (``postgresql+psycopg://``; plain ``postgresql://`` means the same):
  ``pool_pre_ping`` so connections dropped by the server are replaced transparently.

Nothing happens at import time: no engine, no connection, no Alembic import.
URLs are only ever shown with the password masked.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Text,
    create_engine,
    event,
    exc,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from cameoguard.errors import ConfigurationError, OperationError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
    from sqlalchemy.pool import ConnectionPoolEntry

    from cameoguard.settings import Settings

__all__ = [
    "MIGRATIONS_DIR",
    "NAMING_CONVENTION",
    "SQLITE_BUSY_TIMEOUT_MS",
    "Base",
    "MetaEntry",
    "UTCDateTime",
    "create_engine_for",
    "current_revision",
    "engine_from_settings",
    "get_meta",
    "head_revision",
    "migration_connection",
    "safe_url",
    "session_factory",
    "session_scope",
    "set_meta",
    "upgrade",
    "utcnow",
    "write_session_factory",
]

log = logging.getLogger(__name__)

#: Where the Alembic environment and revisions live (shipped as package data).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Execution option that makes a SQLite transaction begin with ``BEGIN IMMEDIATE``.
WRITE_LOCK_OPTION = "cameoguard_write_lock"

#: How long a SQLite connection waits for another writer before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5_000

#: Deterministic constraint names, so migrations name (and can later drop or alter) the same
#: constraint on SQLite and PostgreSQL instead of relying on each backend's generated names.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Supported backends and, per DBAPI driver, what to ``pip install`` when it is missing.
_DRIVER_PACKAGES: dict[str, str] = {
    "pysqlite": "(part of Python; rebuild Python with the sqlite3 module)",
    "psycopg": "pip install 'psycopg[binary]'",
    "psycopg2": "pip install psycopg2-binary",
    "pg8000": "pip install pg8000",
}
_URL_EXAMPLES = "sqlite:////path/to/cameoguard.db or postgresql+psycopg://user:password@host/dbname"


# --------------------------------------------------------------------------- schema basics


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC (the only kind of datetime stored)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that takes and returns timezone-aware UTC datetimes on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as UTC and
    read back with ``tzinfo=UTC`` attached. Naive datetimes are refused rather than guessed at.
    Migrations spell the column ``sa.DateTime(timezone=True)``.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} refused: store timezone-aware values, "
                "e.g. cameoguard.db.utcnow() or datetime.now(UTC)"
            )
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every cameoguard table; its metadata is the migrations' target."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MetaEntry(Base):
    """One fact about this deployment (``schema_created_at``; later the watermark key id)."""

    __tablename__ = "cameoguard_meta"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"MetaEntry(key={self.key!r}, value={self.value!r})"


def get_meta(session: Session, key: str) -> str | None:
    """The value stored under ``key`` in ``cameoguard_meta``, or None when there is none."""
    entry = session.get(MetaEntry, key)
    return None if entry is None else entry.value


def set_meta(session: Session, key: str, value: str) -> None:
    """Store ``value`` under ``key`` (insert or replace); committed with the session."""
    entry = session.get(MetaEntry, key)
    if entry is None:
        session.add(MetaEntry(key=key, value=value, updated_at=utcnow()))
    else:
        entry.value = value
        entry.updated_at = utcnow()


# --------------------------------------------------------------------------- engines


def safe_url(url: str | URL) -> str:
    """``url`` as text with any password replaced by ``***`` (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable database URL>"


def _parse_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        # The text may hold a password: do not echo it.
        raise ConfigurationError(
            f"the database URL is not a valid SQLAlchemy URL; expected e.g. {_URL_EXAMPLES} "
            "(check CAMEOGUARD_DATABASE_URL)",
            code="db.url_invalid",
        ) from error
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        # "postgres" is the Heroku-style spelling SQLAlchemy does not know; without a driver,
        # SQLAlchemy 2.0 picks psycopg2 and 2.1 psycopg: pin the one cameoguard documents.
        backend = "postgresql"
        parsed = parsed.set(drivername=f"postgresql+{driver or 'psycopg'}")
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"database backend {backend!r} ({safe_url(parsed)}) is not supported; cameoguard "
            f"runs on SQLite or PostgreSQL, e.g. {_URL_EXAMPLES}",
            code="db.backend_unsupported",
        )
    return parsed


def _is_sqlite_memory(url: URL) -> bool:
    return (url.database or "") in ("", ":memory:") or url.query.get("mode") == "memory"


def _sqlite_on_connect(wal: bool) -> Any:
    def on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy emit BEGIN (see _sqlite_on_begin): sqlite3's legacy mode would not
        # begin a transaction before SELECT or DDL statements.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Deleted rows are overwritten with zeros, not left in free pages: deleting a
            # cameo must leave no face embedding or photo behind in the file.
            cursor.execute("PRAGMA secure_delete = ON")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL
        finally:
            cursor.close()

    return on_connect


def _sqlite_on_begin(connection: Connection) -> None:
    # A writer session (write_session_factory) takes SQLite's write lock when it begins, so a
    # read-then-write unit never meets "database is locked" from a stale snapshot.
    immediate = connection.get_execution_options().get(WRITE_LOCK_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _create_sqlite_engine(url: URL) -> Engine:
    memory = _is_sqlite_memory(url)
    kwargs: dict[str, Any] = {}
    if memory:
        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        database = Path(url.database or "")
        if not url.query.get("uri"):
            try:
                database.expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ConfigurationError(
                    f"cannot create the directory for the SQLite database {database}: {error}; "
                    "point CAMEOGUARD_DATA_DIR or CAMEOGUARD_DATABASE_URL at a writable place",
                    code="db.directory",
                ) from error
            url = url.set(database=str(database.expanduser()))
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect(wal=not memory))
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def create_engine_for(url: str | URL) -> Engine:
    """An engine for ``url``, configured for cameoguard (see the module docstring).

    Raises :class:`ConfigurationError` for an unparseable URL, an unsupported backend or async
    driver, a DBAPI driver that is not installed (the message names the package to install),
    or a SQLite directory that cannot be created. No connection is opened here.
    """
    parsed = _parse_url(url)
    shown = safe_url(parsed)
    driver = parsed.get_driver_name()
    try:
        dialect_cls = parsed.get_dialect()
    except exc.NoSuchModuleError as error:
        raise ConfigurationError(
            f"database driver {driver!r} in {shown} is unknown to SQLAlchemy; use {_URL_EXAMPLES}",
            code="db.driver_unknown",
        ) from error
    if getattr(dialect_cls, "is_async", False):
        raise ConfigurationError(
            f"database driver {driver!r} in {shown} is asynchronous; cameoguard uses "
            f"synchronous drivers: {_URL_EXAMPLES}",
            code="db.driver_async",
        )
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = _create_sqlite_engine(parsed)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except ImportError as error:
        advice = _DRIVER_PACKAGES.get(driver, f"pip install {driver}")
        raise ConfigurationError(
            f"database URL {shown} needs the Python driver {driver!r}, which is not installed; "
            f"install it with: {advice}",
            code="db.driver_missing",
        ) from error
    log.debug("database engine for %s", shown)
    return engine


def engine_from_settings(settings: Settings) -> Engine:
    """The engine for ``settings.effective_database_url`` (default: SQLite in ``data_dir``)."""
    return create_engine_for(settings.effective_database_url)


# --------------------------------------------------------------------------- sessions


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; loaded objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def write_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units that read and then write, serialised against other writers.

    On SQLite the transaction begins with ``BEGIN IMMEDIATE`` (the write lock is taken first,
    waiting up to the busy timeout), so the unit reads the newest data and cannot fail later
    with a stale snapshot. PostgreSQL ignores the option: callers lock a row with
    ``SELECT ... FOR UPDATE`` where they need the same serialisation there.
    """
    return sessionmaker(
        bind=engine.execution_options(**{WRITE_LOCK_OPTION: True}), expire_on_commit=False
    )


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back on any exception.

    The exception is re-raised unchanged (storage modules translate database errors into
    cameoguard errors where a caller can act on them); the session is always closed.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --------------------------------------------------------------------------- migrations


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _set_sqlite_foreign_keys(connection: Connection, enabled: bool) -> None:
    # PRAGMA foreign_keys is ignored inside a transaction, so it goes to the driver connection
    # directly (isolation_level=None: no implicit BEGIN) before SQLAlchemy begins one.
    driver_connection: Any = connection.connection.driver_connection
    driver_connection.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")


@contextlib.contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for schema changes, committed only if all succeed.

    On SQLite, foreign-key enforcement is switched off for the duration (SQLite's documented
    procedure for rebuilding tables, which Alembic's batch mode does: otherwise dropping a
    parent table would cascade into its children) and ``PRAGMA foreign_key_check`` must come
    back clean before the commit; enforcement is switched back on afterwards.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _set_sqlite_foreign_keys(connection, False)
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise OperationError(
                            f"the migration left {len(broken)} rows violating foreign keys "
                            f"(first: {tuple(broken[0])}); nothing was changed",
                            code="db.migration_foreign_keys",
                        )
        finally:
            if sqlite:
                try:
                    _set_sqlite_foreign_keys(connection, True)
                except Exception:
                    connection.invalidate()  # never return a connection without FK checks
                    raise


def load_models() -> None:
    """Import every module that defines tables, so that ``Base.metadata`` holds them all.

    Alembic's autogenerate and the model-vs-migration tests compare against ``Base.metadata``;
    a table whose module was never imported would look like one to drop.
    """
    import cameoguard.accounts
    import cameoguard.consent.models
    import cameoguard.generator_adapter.library
    import cameoguard.jobs
    import cameoguard.moderation
    import cameoguard.provenance.ledger  # noqa: F401


def upgrade(target: Engine | str | URL, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest), in one transaction.

    ``target`` is an engine (used as is, left open) or a URL (an engine is made and disposed
    of; pass an engine for in-memory SQLite). Running it again at the same revision does
    nothing. Raises :class:`ConfigurationError` for a bad URL or missing driver and
    :class:`OperationError` when the migration cannot be carried out (nothing is applied).
    """
    from alembic import command
    from alembic.util import CommandError

    engine = target if isinstance(target, Engine) else create_engine_for(target)
    try:
        with migration_connection(engine) as connection:
            command.upgrade(_alembic_config(connection), revision)
    except (exc.SQLAlchemyError, CommandError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OperationError(
            f"could not migrate the database at {safe_url(engine.url)} to {revision!r}: "
            f"{reason}; check that the database is reachable and writable, and that "
            f"{revision!r} is a known revision (newest: {head_revision()})",
            code="db.migration_failed",
        ) from error
    finally:
        if engine is not target:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except exc.SQLAlchemyError as error:
        raise OperationError(
            f"could not read the schema revision of {safe_url(engine.url)}: "
            f"{str(error).splitlines()[0]}; check that the database is reachable",
            code="db.unreachable",
        ) from error


def head_revision() -> str:
    """The newest revision shipped with this version of cameoguard."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a first revision
        raise ConfigurationError(f"no migrations found in {MIGRATIONS_DIR}", code="db.no_heads")
    return head
