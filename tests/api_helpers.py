"""Fixtures for the hosted studio: a server per test on SQLite or on the real local PostgreSQL (own schema)."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

PG_URL = os.environ.get("STUDIO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """Every metadata test runs twice: on a SQLite file and in a fresh schema of the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.db'}"
        return
    import psycopg

    if os.environ.get("CI") and not pg_available():
        pytest.fail(f"PostgreSQL is not answering at {PG_URL}; CI must test it.")
    if not pg_available():
        pytest.skip(f"PostgreSQL is not answering at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_settings(home: Path, database_url: str | None = None, **server):
    from studio.settings import ServerSettings, Settings

    base = ServerSettings(auth_mode="local", database_url=database_url, jwt_secret="test-secret-" + "x" * 32)
    return Settings(home=home, server=replace(base, **server))


def signup(client, email: str, password: str = "correct horse battery") -> dict:
    r = client.post("/api/auth/signup", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    return r.json()


def bearer(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['access_token']}"}
