"""Faults in the scale-out configuration: the Chroma server going away and coming back, PostgreSQL
restarting while documents are ingested. Searches say clearly what is missing; ingestion waits and
resumes; afterwards the database and the vector store agree and no chunk is lost or doubled."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import func, select

from core.config import Settings
from core.container import build_services
from core.errors import Unavailable
from storage.orm import Chunk, Task
from tests.scaleout.conftest import ChromaServer, PgCluster, find_pg_bin


def wait_for(condition, timeout: float = 120.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def tasks(svc) -> list[Task]:
    with svc.db.session() as s:
        return list(s.scalars(select(Task)))


def assert_in_step(svc, kb_id: str) -> None:
    """Every chunk embedded and in the vector store exactly once; positions without gaps."""
    with svc.db.session() as s:
        chunks = s.execute(select(Chunk.doc_id, Chunk.position, Chunk.embedded).where(Chunk.kb_id == kb_id)).all()
    assert chunks and all(c.embedded for c in chunks)
    assert svc.vectors.count(kb_id) == len(chunks)
    by_doc: dict[str, list[int]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c.position)
    assert all(sorted(p) == list(range(len(p))) for p in by_doc.values())


def text(n: int, topic: str) -> bytes:
    return "\n\n".join(f"Paragraph {i} about {topic}: the office keeps record {i * 7} with notes on budgets "
                       f"and travel." for i in range(n)).encode()


@pytest.fixture
def chroma(tmp_path):
    server = ChromaServer(tmp_path / "chroma").start()
    yield server
    server.stop()


def test_chroma_server_going_away_and_coming_back(tmp_path, pg_url, chroma, tenant):
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url, chroma_url=chroma.url, ingest_workers=1,
                        embedding_model="mock:words-64")
    svc = build_services(settings, start_workers=True)
    try:
        kb = svc.knowledge.create(tenant, "Faults", chunk_config={"chunk_size": 32, "chunk_overlap": 0})
        (first,) = svc.documents.upload(tenant, kb.id, [("otters.txt", text(12, "sea otters"))])
        wait_for(lambda: svc.documents.get(tenant, first.id).task.state == "completed", what="the first document")
        assert svc.retrieval.search(tenant, [kb.id], "sea otters budgets", record=False)

        chroma.stop()
        with pytest.raises(Unavailable, match="vector store .* cannot be reached right now"):
            svc.retrieval.search(tenant, [kb.id], "sea otters budgets", mode="hybrid", record=False)
        assert svc.health()["status"] == "degraded"
        (second,) = svc.documents.upload(tenant, kb.id, [("herons.txt", text(12, "grey herons"))])
        waiting = wait_for(lambda: (t := svc.documents.get(tenant, second.id).task).message.startswith(
            "Waiting to retry") and t, what="the task to wait for the vector store")
        assert waiting.state == "indexing" and "vector store" in waiting.message
        # Split already: full-text search needs no vectors and finds the new document at once.
        hits = svc.retrieval.search(tenant, [kb.id], "grey herons", mode="full_text", record=False)
        assert hits and hits[0].doc_id == second.id

        chroma.restart()
        wait_for(lambda: svc.documents.get(tenant, second.id).task.state == "completed", timeout=90,
                 what="the second document after the restart")
        assert {t.state for t in tasks(svc)} == {"completed"} and not any(t.error for t in tasks(svc))
        assert_in_step(svc, kb.id)
        hits = svc.retrieval.search(tenant, [kb.id], "grey herons", mode="semantic", record=False)
        assert hits[0].doc_id == second.id
    finally:
        svc.close()


@pytest.fixture
def restartable_pg():
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (install Debian's 'postgresql')")
    cluster = PgCluster(bindir)
    cluster.start()
    yield cluster
    cluster.stop()


def test_postgresql_restarting_mid_ingest(tmp_path, restartable_pg, tenant, caplog):
    caplog.set_level(logging.WARNING, logger="core.ingestion.worker")
    name = restartable_pg.create_database()
    settings = Settings(data_dir=tmp_path / "data", database_url=restartable_pg.url(name), ingest_workers=2,
                        embedding_model="mock:words-64")
    svc = build_services(settings, start_workers=True)
    try:
        kb = svc.knowledge.create(tenant, "Restart", chunk_config={"chunk_size": 24, "chunk_overlap": 0})
        docs = svc.documents.upload(tenant, kb.id, [(f"doc{i}.txt", text(150, f"topic {i}")) for i in range(6)])
        wait_for(lambda: any(t.state == "indexing" for t in tasks(svc)), what="a document being indexed")
        restartable_pg.stop_server()  # fast shutdown: every open connection is cut
        wait_for(lambda: any("waits" in r.getMessage() for r in caplog.records), what="a worker to meet the outage")
        restartable_pg.restart_server()
        wait_for(lambda: all(svc.documents.get(tenant, d.id).task.state == "completed" for d in docs), timeout=180,
                 what="every document after the restart")
        assert not any(t.error for t in tasks(svc))
        assert_in_step(svc, kb.id)
        with svc.db.session() as s:
            assert s.scalar(select(func.count(Chunk.id)).where(Chunk.kb_id == kb.id)) == sum(
                svc.documents.get(tenant, d.id).chunk_count for d in docs)
    finally:
        svc.close()
