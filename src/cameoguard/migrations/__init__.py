"""Alembic migrations for cameoguard's schema (applied by :func:`cameoguard.db.upgrade`).

``env.py`` is the Alembic environment, ``versions/`` holds one file per revision. Revisions
are numbered (``0001``, ``0002``, ...) and must not import application models: they describe
the schema as it was at that revision. ``alembic.ini`` is only for developers writing a new
revision; at run time :mod:`cameoguard.db` builds the Alembic configuration in code.

Writing a revision (after adding or changing tables on :class:`cameoguard.db.Base`)::

    export CAMEOGUARD_DATABASE_URL=sqlite:////tmp/cg-dev.db
    alembic -c src/cameoguard/migrations/alembic.ini upgrade head
    alembic -c src/cameoguard/migrations/alembic.ini revision --autogenerate \\
        --rev-id 0002 -m "generation ledger"

then read the generated file, and run ``pytest tests/test_db.py`` (the drift test compares
the models with the migrated database).
"""
