"""Engine, sessions and migrations. SQLite (WAL) by default; any SQLAlchemy URL works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import Unavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# PostgreSQL advisory lock key held while migrating: processes starting together take turns.
_MIGRATION_LOCK = 0x616C6D616E6163  # "almanac"
SQLITE_POOL_SIZE = 48


# What a database that is restarting, unreachable or (SQLite) busy beyond the timeout raises.
UNREACHABLE = (OperationalError, InterfaceError)


def unavailable(exc: BaseException) -> Unavailable:
    """An Unavailable for a storage failure (passed through when it already is one)."""
    if isinstance(exc, Unavailable):
        return exc
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return Unavailable(f"The database cannot be reached right now{': ' + reason if reason else ''}")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Enough pooled connections for every request thread (AnyIO's 40) and the background writers: past the
        # pool's size each checkout opens a connection, runs the pragmas below and closes it again on return.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001 - DB-API connection
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the ingestion writer
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")  # cascades (and the FTS triggers they fire)
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@cache
def head_revision() -> str | None:
    """The newest revision, read from the version files (importing Alembic takes ~0.3 s); None when
    the files do not name exactly one head (then Alembic decides)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", source, re.M)
        parent = re.search(r"^down_revision\s*=\s*['\"]([^'\"]+)['\"]", source, re.M)
        if revision:
            revisions.add(revision[1])
        if parent:
            parents.add(parent[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except SQLAlchemyError:  # a new database: no version table yet
        return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent; runs on every start)."""
    if head_revision() is not None and current_revision(engine) == head_revision():
        return  # the common case, without importing Alembic
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several API processes or workers may start at once against a fresh database:
            # one migrates, the others wait here (the lock ends with this transaction) and
            # then find the schema current. Without it they race on CREATE TABLE.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()


def insert_ignore(session: Session, table, rows: list[dict]) -> None:  # noqa: ANN001 - a Table
    """Bulk insert that skips rows whose key already exists (SQLite and PostgreSQL).

    Rows go in primary-key order: on PostgreSQL concurrent transactions inserting the same
    keys then wait for each other in one order instead of deadlocking.
    """
    if not rows:
        return
    key = [c.name for c in table.primary_key.columns]
    if all(k in rows[0] for k in key):
        rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).on_conflict_do_nothing(), rows)
