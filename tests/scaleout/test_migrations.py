"""Alembic migrations on PostgreSQL: schema, the GIN keyword index, and concurrent starts."""

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, inspect, text

from storage import keywords
from storage.db import MIGRATIONS_DIR, Database, migrate
from storage.orm import Base
from tests.conftest import ingest
from tests.helpers import communicate_or_kill, stop_process

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(conn) -> Config:  # noqa: ANN001
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def test_migrations_build_the_orm_schema_and_the_gin_index(pg_url):
    db = Database(pg_url)
    migrate(db.engine)
    migrate(db.engine)  # runs on every start: a no-op the second time
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
        # The migrations and the ORM agree (the GIN index lives only in migration 0002).
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if not (d[0] == "remove_index" and d[1].name == "ix_chunks_fts")] == []
        indexdef = conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_chunks_fts'"))
    assert "USING gin" in indexdef and "to_tsvector('simple'::regconfig, search_text)" in indexdef
    db.engine.dispose()


def test_keyword_queries_use_the_gin_index(pg_svc, tenant):
    kb = pg_svc.knowledge.create(tenant, "Big")
    (doc,) = ingest(pg_svc, tenant, kb.id, [("seed.txt", b"Seed chunk about otters.")])
    (seed,) = pg_svc.chunks.list(tenant, doc.id).items
    with pg_svc.db.engine.begin() as conn:  # 2000 more chunks of filler, so that plans are realistic
        conn.execute(text(
            "INSERT INTO chunks (id, tenant_id, kb_id, doc_id, position, content, content_hash, search_text, keywords,"
            " questions, meta, token_count, char_count, enabled, embedded, hit_count, created_at, updated_at)"
            " SELECT md5(n::text), tenant_id, kb_id, doc_id, n, content, content_hash, 'filler word' || n, keywords,"
            " questions, meta, token_count, char_count, enabled, embedded, hit_count, created_at, updated_at"
            " FROM chunks, generate_series(1, 2000) AS n"))
        conn.execute(text("ANALYZE chunks"))
    explain = text("EXPLAIN " + keywords._PG_SEARCH.format(doc_filter="")).bindparams(
        bindparam("kb_ids", expanding=True))
    with pg_svc.db.engine.connect() as conn:
        plan = "\n".join(conn.execute(explain, {"match": "'otters'", "kb_ids": [kb.id], "limit": 5}).scalars())
        assert "ix_chunks_fts" in plan, plan
        df_plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT count(*) FROM chunks WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', :q)"),
            {"q": "'otters'"}).scalars())
        assert "ix_chunks_fts" in df_plan, df_plan
    with pg_svc.db.session() as s:
        assert [cid for cid, _ in keywords.search(s, [kb.id], ["otters"], 5)] == [seed.id]


def test_downgrade_to_base_and_upgrade_again(pg_url):
    db = Database(pg_url)
    migrate(db.engine)
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_chunks_fts'")) == 0
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    with db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    migrate(db.engine)
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_chunks_fts'")) == 1
    db.engine.dispose()


def test_processes_starting_together_on_a_fresh_database(pg_url, chroma_url, tmp_path):
    """Several API processes / workers started at once: one migrates, the others wait (advisory lock)."""
    code = ("import sys; from core.config import Settings; from core.tenants import TenantService; "
            "from storage.db import Database, migrate; "
            "settings = Settings(data_dir=sys.argv[1]); db = Database(settings.sqlalchemy_url); "
            "migrate(db.engine); TenantService(db, settings).ensure_default()")  # what build_services does first
    env = {**os.environ, "ALMANAC_DATABASE_URL": pg_url, "ALMANAC_CHROMA_URL": chroma_url, "HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"host{i}")], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(3)]
    try:
        outputs = [communicate_or_kill(p, timeout=120) for p in procs]
    finally:
        for p in procs:
            stop_process(p)
    assert [p.returncode for p in procs] == [0] * 3, "\n".join(outputs)
    db = Database(pg_url)
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
        assert conn.scalar(text("SELECT count(*) FROM tenants")) == 1
        assert conn.scalar(text("SELECT count(*) FROM api_keys")) == 3  # one admin key per data dir
    db.engine.dispose()
