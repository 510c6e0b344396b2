"""Alembic environment: runs cameoguard's revisions against one connection.

Online, the connection comes from ``config.attributes["connection"]`` when the caller passes
one (:func:`cameoguard.db.upgrade`, tests); otherwise (the ``alembic`` command line) an engine
is made from ``sqlalchemy.url`` or, when that is unset, from cameoguard's settings
(``CAMEOGUARD_DATABASE_URL`` or SQLite in ``CAMEOGUARD_DATA_DIR``), and the migration runs in
:func:`cameoguard.db.migration_connection` like the programmatic path. SQLite uses batch mode
(``render_as_batch``) because it cannot ALTER most things in place.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from cameoguard.db import (
    Base,
    UTCDateTime,
    create_engine_for,
    load_models,
    migration_connection,
)

config = context.config
load_models()
target_metadata = Base.metadata

if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from cameoguard.settings import get_settings

    return get_settings().effective_database_url


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    # Revisions must not import cameoguard: spell the app's column types in plain SQLAlchemy.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    sqlite = dialect_name == "sqlite"
    return {
        "target_metadata": target_metadata,
        "render_as_batch": sqlite,
        # cameoguard's SQLite engines emit BEGIN themselves, so DDL is transactional there too.
        "transactional_ddl": True if sqlite else None,
        "compare_type": True,
        "render_item": _render_item,
    }


def _run_online(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """``alembic upgrade --sql``: write the SQL instead of running it."""
    url = _database_url()
    dialect_name = url.split(":", 1)[0].split("+", 1)[0]
    context.configure(
        url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_options(dialect_name)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_online(connection)
        return
    engine = create_engine_for(_database_url())
    try:
        with migration_connection(engine) as own_connection:
            _run_online(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
