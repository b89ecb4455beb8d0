"""The metadata database: a SQLite file under STUDIO_HOME by default, any PostgreSQL URL when configured
(Supabase's database included). The schema comes only from the Alembic migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from studio.errors import NotFound

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept the plain ``postgresql://`` / ``postgres://`` URLs that Supabase shows, and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        if self.url.startswith("sqlite"):
            self.engine: Engine = create_engine(self.url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_home(cls, home: Path, url: str | None = None) -> Database:
        if url:
            return cls(url)
        home.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{home / 'studio.db'}")

    def migrate(self) -> None:
        """Bring the schema to the newest migration (from empty, or from any older revision)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the job runner's writes
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def owned(session: Session, model, obj_id: str, owner_id: str, what: str):
    """The row ``obj_id`` if ``owner_id`` owns it; otherwise NotFound, exactly as if it did not exist."""
    row = session.scalar(select(model).where(model.id == obj_id, model.owner_id == owner_id))
    if row is None:
        raise NotFound(f"No {what} with id {obj_id!r}.", code=f"{what}_not_found")
    return row
