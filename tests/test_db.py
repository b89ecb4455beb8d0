"""The metadata schema: migrations from empty give exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.api_helpers import database_url  # noqa: F401


def test_migrations_from_empty_match_the_models(database_url):  # noqa: F811
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from studio.db import Database
    from studio.tables import Base

    db = Database(database_url)
    db.migrate()
    db.migrate()  # a second run is a no-op
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.exec_driver_sql("select version_num from alembic_version").scalar()
    db.dispose()
    assert diff == [], f"the models changed without a migration: {diff}"
    assert version == "0007"
