"""PostgreSQL for tests: the URL from the environment, and a throwaway schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url

from cameoguard import db

POSTGRES_URL = os.environ.get("CAMEOGUARD_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PostgreSQL tests need CAMEOGUARD_TEST_POSTGRES_URL="
    "postgresql+psycopg://user:password@host/dbname (a database the user may create schemas "
    "in) and psycopg installed: pip install 'psycopg[binary]'"
)


def fresh_schema_url() -> Iterator[str]:
    """Yield a URL whose search_path is a new empty schema; drop the schema afterwards.

    Skips the test when no PostgreSQL URL is configured.
    """
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    schema = f"cg_test_{uuid.uuid4().hex[:12]}"
    admin = db.create_engine_for(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()
