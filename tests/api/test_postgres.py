"""The service on PostgreSQL: the same API tests as on SQLite, over a throwaway schema.

``scripts/test.sh`` starts a PostgreSQL server on a loopback port and sets
``CAMEOGUARD_TEST_POSTGRES_URL``; without it these tests skip with the reason
(tests/postgres.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cameoguard.settings import Settings
from tests.api import test_app
from tests.postgres import fresh_schema_url


@pytest.fixture
def pg_settings(settings: Settings) -> Iterator[Settings]:
    for url in fresh_schema_url():
        yield settings.model_copy(update={"database_url": url})


def test_authorization_matrix_on_postgres(pg_settings: Settings) -> None:
    with test_app.running(pg_settings) as service:
        test_app.test_the_authorization_matrix(service)


def test_moderation_flow_on_postgres(
    pg_settings: Settings, embedder: object, detector: object, tmp_path: Path
) -> None:
    """Generate, flag, revoke, verify a repost, decide, take down, hash bank: on PostgreSQL."""
    test_app.test_revocation_and_reports_feed_the_moderation_queue(
        pg_settings, embedder, detector, tmp_path
    )


@pytest.mark.slow
def test_a_revocation_is_seen_by_every_worker_on_postgres(
    pg_settings: Settings, embedder: object, detector: object
) -> None:
    """``cameoguard serve --workers 2`` with CAMEOGUARD_DATABASE_URL pointing at PostgreSQL."""
    test_app.test_a_revocation_is_seen_by_every_worker(pg_settings, embedder, detector)
