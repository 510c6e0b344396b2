"""cameoguard.db: engines, sessions, migrations, on SQLite and (when configured) PostgreSQL.

PostgreSQL runs when ``CAMEOGUARD_TEST_POSTGRES_URL`` is set, e.g.
``postgresql+psycopg://user:password@localhost/cameoguard_test``. Each test gets its own
schema there (created and dropped again), so the database itself is left as it was. The
variable is read at collection time because the autouse fixture in conftest.py removes every
``CAMEOGUARD_*`` variable before each test.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    insert,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.pool import StaticPool

from cameoguard import db
from cameoguard.errors import ConfigurationError, OperationError
from cameoguard.settings import Settings
from tests.postgres import fresh_schema_url

# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'dir' / 'cameoguard.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """An empty database: a fresh SQLite file, or a fresh schema in the PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    yield from fresh_schema_url()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.create_engine_for(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    db.upgrade(engine)
    return engine


def _pragma(engine: Engine, name: str) -> object:
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def _link_tables() -> tuple[Table, Table]:
    metadata = MetaData()
    parent = Table("fk_parent", metadata, Column("id", Integer, primary_key=True))
    child = Table(
        "fk_child",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", Integer, ForeignKey("fk_parent.id", ondelete="CASCADE")),
    )
    return parent, child


# --------------------------------------------------------------------------- SQLite engine


def test_sqlite_file_engine_wal_foreign_keys_busy_timeout(sqlite_url: str) -> None:
    engine = db.create_engine_for(sqlite_url)
    try:
        assert Path(make_url(sqlite_url).database or "").parent.is_dir()  # directory created
        assert _pragma(engine, "journal_mode") == "wal"
        assert _pragma(engine, "foreign_keys") == 1
        assert _pragma(engine, "busy_timeout") == db.SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    parent, child = _link_tables()
    parent.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(parent).values(id=1))
        connection.execute(insert(child).values(id=1, parent_id=1))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(child).values(id=2, parent_id=99))
    with engine.begin() as connection:  # ON DELETE CASCADE works too
        connection.execute(parent.delete())
        assert connection.execute(select(child)).all() == []


def test_in_memory_sqlite_shares_one_connection() -> None:
    engine = db.create_engine_for("sqlite://")
    try:
        assert isinstance(engine.pool, StaticPool)
        db.upgrade(engine)
        with db.session_scope(db.session_factory(engine)) as session:
            assert db.get_meta(session, "schema_created_at") is not None
        assert _pragma(engine, "foreign_keys") == 1
    finally:
        engine.dispose()


def test_sqlite_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError, match="cannot create the directory") as info:
        db.create_engine_for(f"sqlite:///{blocker / 'cameoguard.db'}")
    assert info.value.code == "db.directory"


def test_engine_from_settings_uses_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    engine = db.engine_from_settings(settings)
    try:
        assert engine.url.database == str(tmp_path / "data" / "cameoguard.db")
        db.upgrade(engine)
        assert (tmp_path / "data" / "cameoguard.db").is_file()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- URL errors


@pytest.mark.parametrize(
    ("url", "advice"),
    [
        ("postgresql+psycopg://cg:s3cret-pw@db.example/cg", "pip install 'psycopg[binary]'"),
        ("postgresql://cg:s3cret-pw@db.example/cg", "pip install 'psycopg[binary]'"),
        ("postgres://cg:s3cret-pw@db.example/cg", "pip install 'psycopg[binary]'"),
        ("postgresql+psycopg2://cg:s3cret-pw@db.example/cg", "pip install psycopg2-binary"),
    ],
)
def test_missing_driver_names_the_package(
    monkeypatch: pytest.MonkeyPatch, url: str, advice: str
) -> None:
    # Make the import fail even where the driver happens to be installed.
    for module in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigurationError) as info:
        db.create_engine_for(url)
    message = str(info.value)
    assert advice in message
    assert "not installed" in message
    assert "cg:***@db.example" in message
    assert "s3cret-pw" not in message
    assert info.value.code == "db.driver_missing"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("not a url at s3cret-pw", "db.url_invalid"),
        ("mysql+pymysql://cg:s3cret-pw@db.example/cg", "db.backend_unsupported"),
        ("sqlite+aiosqlite:///x.db", "db.driver_async"),
        ("postgresql+asyncpg://cg:s3cret-pw@db.example/cg", "db.driver_async"),
        ("postgresql+nosuchdriver://cg:s3cret-pw@db.example/cg", "db.driver_unknown"),
    ],
)
def test_unusable_urls_are_configuration_errors(url: str, code: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        db.create_engine_for(url)
    assert info.value.code == code
    assert "s3cret-pw" not in str(info.value)
    assert "sqlite:///" in str(info.value) or "install" in str(info.value)


def test_safe_url_masks_password() -> None:
    assert db.safe_url("postgresql+psycopg://u:pw@h/d") == "postgresql+psycopg://u:***@h/d"
    assert "pw" not in db.safe_url("::not a url pw")


# --------------------------------------------------------------------------- migrations


def test_upgrade_from_empty_to_head(engine: Engine) -> None:
    assert db.current_revision(engine) is None
    assert "cameoguard_meta" not in inspect(engine).get_table_names()
    before = datetime.now(UTC).replace(microsecond=0)

    db.upgrade(engine)

    assert db.current_revision(engine) == db.head_revision() == "0007"
    assert {"cameoguard_meta", "alembic_version"} <= set(inspect(engine).get_table_names())
    with db.session_scope(db.session_factory(engine)) as session:
        entry = session.get(db.MetaEntry, "schema_created_at")
        assert entry is not None
        created = datetime.fromisoformat(entry.value)
        assert before <= created <= datetime.now(UTC)
        assert entry.updated_at == created
        assert entry.updated_at.tzinfo is UTC


def test_upgrade_twice_is_a_no_op(migrated: Engine) -> None:
    with db.session_scope(db.session_factory(migrated)) as session:
        first = db.get_meta(session, "schema_created_at")
    db.upgrade(migrated)
    assert db.current_revision(migrated) == db.head_revision()
    with migrated.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            (db.head_revision(),)
        ]
        assert connection.execute(text("SELECT count(*) FROM cameoguard_meta")).scalar() == 1
    with db.session_scope(db.session_factory(migrated)) as session:
        assert db.get_meta(session, "schema_created_at") == first


def test_upgrade_by_url_string(sqlite_url: str) -> None:
    db.upgrade(sqlite_url)
    engine = db.create_engine_for(sqlite_url)
    try:
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_models_match_migrations(migrated: Engine) -> None:
    db.load_models()
    with migrated.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.Base.metadata) == []


def test_unknown_revision_is_an_operation_error_and_changes_nothing(engine: Engine) -> None:
    with pytest.raises(OperationError, match="'nope'") as info:
        db.upgrade(engine, "nope")
    assert info.value.code == "db.migration_failed"
    assert db.current_revision(engine) is None
    assert "alembic_version" not in inspect(engine).get_table_names()


def test_sqlite_upgrade_leaves_foreign_keys_on(sqlite_url: str) -> None:
    engine = db.create_engine_for(sqlite_url)
    try:
        db.upgrade(engine)
        assert _pragma(engine, "foreign_keys") == 1
    finally:
        engine.dispose()


def test_migration_connection_is_all_or_nothing(engine: Engine) -> None:
    def migrate_and_fail() -> None:
        with db.migration_connection(engine) as connection:
            connection.exec_driver_sql("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
            raise RuntimeError("migration step failed")

    with pytest.raises(RuntimeError, match="step failed"):
        migrate_and_fail()
    assert "half_done" not in inspect(engine).get_table_names()


def test_sqlite_migration_refuses_to_commit_broken_foreign_keys(sqlite_url: str) -> None:
    engine = db.create_engine_for(sqlite_url)
    parent, child = _link_tables()

    def migrate_leaving_an_orphan() -> None:
        with db.migration_connection(engine) as connection:
            parent.metadata.create_all(connection)
            connection.execute(insert(child).values(id=1, parent_id=42))  # FKs off here

    try:
        with pytest.raises(OperationError, match="violating foreign keys"):
            migrate_leaving_an_orphan()
        assert "fk_child" not in inspect(engine).get_table_names()
        assert _pragma(engine, "foreign_keys") == 1
    finally:
        engine.dispose()


def test_developer_alembic_ini_uses_settings_database(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    from alembic import command

    monkeypatch.setenv("CAMEOGUARD_DATABASE_URL", sqlite_url)
    config = Config(str(db.MIGRATIONS_DIR / "alembic.ini"))
    command.upgrade(config, "head")
    command.check(config)  # raises when the models and migrations differ
    engine = db.create_engine_for(sqlite_url)
    try:
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- sessions


def test_session_scope_commits(migrated: Engine) -> None:
    factory = db.session_factory(migrated)
    with db.session_scope(factory) as session:
        db.set_meta(session, "watermark_key_id", "wm-1")
    with db.session_scope(factory) as session:
        assert db.get_meta(session, "watermark_key_id") == "wm-1"
        db.set_meta(session, "watermark_key_id", "wm-2")
    with db.session_scope(factory) as session:
        assert db.get_meta(session, "watermark_key_id") == "wm-2"


def test_session_scope_rolls_back_on_exception(migrated: Engine) -> None:
    factory = db.session_factory(migrated)

    def write_then_fail() -> None:
        with db.session_scope(factory) as session:
            db.set_meta(session, "doomed", "value")
            session.flush()  # really sent to the database, then rolled back
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        write_then_fail()
    with db.session_scope(factory) as session:
        assert db.get_meta(session, "doomed") is None


def test_savepoint_rolls_back_inner_work_only(migrated: Engine) -> None:
    factory = db.session_factory(migrated)
    with db.session_scope(factory) as session:
        db.set_meta(session, "outer", "kept")

        def inner_step() -> None:
            with session.begin_nested():
                db.set_meta(session, "inner", "dropped")
                session.flush()
                raise ValueError("inner step failed")

        with pytest.raises(ValueError, match="inner step failed"):
            inner_step()
    with db.session_scope(factory) as session:
        assert db.get_meta(session, "outer") == "kept"
        assert db.get_meta(session, "inner") is None


def test_timestamps_are_utc_aware_and_naive_ones_refused(migrated: Engine) -> None:
    factory = db.session_factory(migrated)
    moment = datetime(2024, 5, 1, 14, 0, tzinfo=UTC) + timedelta(hours=2)
    with db.session_scope(factory) as session:
        session.add(db.MetaEntry(key="k", value="v", updated_at=moment.astimezone()))
    with db.session_scope(factory) as session:
        stored = session.execute(
            select(db.MetaEntry.updated_at).where(db.MetaEntry.key == "k")
        ).scalar_one()
        assert stored == moment
        assert stored.tzinfo is UTC
    with pytest.raises(StatementError, match="naive datetime"), db.session_scope(factory) as s:
        s.add(db.MetaEntry(key="naive", value="v", updated_at=datetime(2024, 5, 1)))


def test_two_engines_see_each_others_commits(database_url: str) -> None:
    first = db.create_engine_for(database_url)
    second = db.create_engine_for(database_url)
    try:
        db.upgrade(first)
        factory_1, factory_2 = db.session_factory(first), db.session_factory(second)
        with db.session_scope(factory_1) as writer:
            db.set_meta(writer, "from_first", "1")
            writer.flush()
            with db.session_scope(factory_2) as reader:  # not committed yet: invisible
                assert db.get_meta(reader, "from_first") is None
        with db.session_scope(factory_2) as session:
            assert db.get_meta(session, "from_first") == "1"
            db.set_meta(session, "from_second", "2")
        with db.session_scope(factory_1) as session:
            assert db.get_meta(session, "from_second") == "2"
    finally:
        first.dispose()
        second.dispose()


def test_another_process_sees_commits(migrated: Engine, database_url: str) -> None:
    script = (
        "import sys\n"
        "from cameoguard import db\n"
        "engine = db.create_engine_for(sys.argv[1])\n"
        "with db.session_scope(db.session_factory(engine)) as session:\n"
        "    print(db.get_meta(session, 'from_parent'))\n"
        "    db.set_meta(session, 'from_child', 'hello')\n"
    )
    factory = db.session_factory(migrated)
    with db.session_scope(factory) as session:
        db.set_meta(session, "from_parent", "hi")
    child = subprocess.run(
        [sys.executable, "-c", script, database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "hi"
    with db.session_scope(factory) as session:
        assert db.get_meta(session, "from_child") == "hello"


# --------------------------------------------------------------------------- import hygiene


def test_import_does_no_work() -> None:
    code = (
        "import sys, cameoguard.db\n"
        "assert 'alembic' not in sys.modules, 'alembic imported eagerly'\n"
        "assert 'cameoguard.settings' not in sys.modules, 'settings imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
