"""Several workers sharing one PostgreSQL database: claiming, recovery, a standalone worker process."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy import event, func, select, update

from core.durable import STALE_AFTER
from core.ingestion.tasks import TaskQueue
from storage.db import Database
from storage.orm import Chunk, Task, utcnow
from tests.helpers import communicate_or_kill

ROOT = Path(__file__).resolve().parents[2]


def queue_documents(svc, tenant, n: int, name: str = "Queue") -> tuple[str, list]:  # noqa: ANN001
    kb = svc.knowledge.create(tenant, name)
    docs = svc.documents.upload(tenant, kb.id, [(f"doc{i:02d}.txt", f"Document {i} about topic {i}.".encode())
                                                for i in range(n)])
    return kb.id, docs


def task_rows(svc) -> dict[str, Task]:  # noqa: ANN001
    with svc.db.session() as s:
        return {t.id: t for t in s.scalars(select(Task))}


def test_parallel_claims_never_share_a_task(pg_svc, pg_url, tenant):
    _, docs = queue_documents(pg_svc, tenant, 40)
    start = threading.Barrier(2)

    def claim_all(worker: str) -> list[str]:
        queue = TaskQueue(Database(pg_url), worker=worker)  # its own engine, like another process
        assert queue.has_waiting()  # connected: both start claiming at once
        start.wait()
        claimed = []
        while (task := queue.claim()) is not None:
            assert task.worker == worker
            claimed.append(task.id)
        queue.db.engine.dispose()
        return claimed

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(claim_all, ["host-a:101", "host-b:202"])
    assert not set(a) & set(b)
    assert sorted(a + b) == sorted(d.task.id for d in docs)  # SKIP LOCKED: no claim came back empty early
    assert a and b
    rows = task_rows(pg_svc)
    assert {t.attempts for t in rows.values()} == {1}
    assert {t.worker for t in rows.values()} == {"host-a:101", "host-b:202"}


def test_claim_skips_a_task_locked_by_another_worker(pg_svc, pg_cluster, pg_url, tenant):
    _, docs = queue_documents(pg_svc, tenant, 3)
    oldest = docs[0].task.id  # first in line, so the claim has to skip it
    with pg_svc.db.session() as s:
        s.execute(update(Task).where(Task.id == oldest).values(created_at=utcnow() - timedelta(hours=1)))
    dbname = pg_url.rsplit("/", 1)[1]
    pool = ThreadPoolExecutor(1)
    with psycopg.connect(pg_cluster.dsn(dbname)) as other:  # a worker in the middle of claiming it
        other.execute("SELECT id FROM tasks WHERE id = %s FOR UPDATE", (oldest,))
        claiming = pool.submit(TaskQueue(pg_svc.db, worker="host-b:202").claim)
        try:
            task = claiming.result(timeout=10)  # at once: it does not wait for the locked row
        finally:
            other.rollback()
            pool.shutdown()
    assert task is not None and task.id != oldest
    later = TaskQueue(pg_svc.db, worker="host-c:303")
    assert oldest in {t.id for t in iter(later.claim, None)}  # released, it can be claimed again


def test_recover_adopts_the_tasks_of_silent_and_dead_workers(pg_svc, tenant):
    kb_id, _ = queue_documents(pg_svc, tenant, 4)
    ids = [TaskQueue(pg_svc.db, worker=w).claim().id
           for w in ("other-host:4242", "other-host:4343", "other-host:4444", "placeholder")]
    dead = subprocess.Popen(["true"])
    dead.wait()
    with pg_svc.db.session() as s:
        long_ago = utcnow() - STALE_AFTER - timedelta(minutes=1)
        s.execute(update(Task).where(Task.id == ids[0]).values(state="indexing", heartbeat_at=long_ago))
        s.execute(update(Task).where(Task.id == ids[1]).values(state="indexing"))  # reported just now
        s.execute(update(Task).where(Task.id == ids[2]).values(state="parsing", heartbeat_at=None))
        s.execute(update(Task).where(Task.id == ids[3])  # this host, a process that has exited
                  .values(state="splitting", worker=f"{socket.gethostname()}:{dead.pid}"))
    assert pg_svc.tasks.recover() == 3
    rows = task_rows(pg_svc)
    assert [(rows[i].state, rows[i].worker) for i in ids] == [
        ("waiting", ""), ("indexing", "other-host:4343"), ("waiting", ""), ("waiting", "")]
    assert pg_svc.workers.drain(timeout=60)
    rows = task_rows(pg_svc)
    for i in (0, 2, 3):
        doc = pg_svc.documents.get(tenant, rows[ids[i]].doc_id)
        assert doc.task.state == "completed" and doc.chunk_count == 1 and rows[ids[i]].attempts == 2
    assert pg_svc.vectors.count(kb_id) == 3


def test_recover_leaves_alone_a_task_another_worker_adopted_meanwhile(pg_svc, pg_url, tenant):
    queue_documents(pg_svc, tenant, 1)
    task_id = TaskQueue(pg_svc.db, worker="crashed-host:1").claim().id
    with pg_svc.db.session() as s:
        s.execute(update(Task).where(Task.id == task_id).values(heartbeat_at=utcnow() - 2 * STALE_AFTER))
    other = TaskQueue(Database(pg_url), worker="fast-host:2")
    slow = TaskQueue(Database(pg_url), worker="slow-host:3")

    @event.listens_for(slow.db.engine, "before_cursor_execute")
    def adopt_first(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
        # Between the slow recoverer's look at the tasks and its reset, the fast one recovers and claims.
        if statement.lstrip().upper().startswith("UPDATE TASKS"):
            assert other.recover() == 1 and other.claim().id == task_id

    assert slow.recover() == 0
    row = task_rows(pg_svc)[task_id]
    assert (row.state, row.worker) == ("waiting", "fast-host:2")
    other.advance(task_id, state="parsing")  # still its task
    for q in (other, slow):
        q.db.engine.dispose()


def test_embedding_the_same_texts_concurrently_does_not_deadlock(pg_svc):
    """Two transactions caching overlapping vectors in opposite orders (two documents sharing text)."""
    texts = [f"shared boilerplate paragraph number {i}" for i in range(3000)]
    start = threading.Barrier(2)

    def embed(order: list[str]) -> int:
        start.wait()
        return len(pg_svc.embeddings.passages("mock:words-64", order))

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(embed, [texts, texts[::-1]])) == [3000, 3000]


def test_a_standalone_worker_process_shares_the_work(pg_svc, pg_settings, tenant):
    """`python -m core.cli worker` in another process and this process's workers ingest one queue.

    The data dir is shared (as it must be between hosts: it holds the uploaded originals).
    """
    env = {**os.environ, "ALMANAC_DATABASE_URL": pg_settings.database_url, "ALMANAC_CHROMA_URL": pg_settings.chroma_url,
           "ALMANAC_DATA_DIR": str(pg_settings.data_dir), "ALMANAC_INGEST_WORKERS": "2", "HF_HUB_OFFLINE": "1",
           "ALMANAC_INGEST_NICE": "0"}  # sharing work is tested here, not CPU priority (on a machine others use)
    worker = subprocess.Popen([sys.executable, "-m", "core.cli", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    theirs = f"{socket.gethostname()}:{worker.pid}"
    try:
        kb_id, docs = queue_documents(pg_svc, tenant, 24)
        deadline = time.monotonic() + 180  # both processes start their helper processes first
        while not any(t.worker == theirs for t in task_rows(pg_svc).values()):  # it has started claiming
            assert time.monotonic() < deadline and worker.poll() is None, "the worker process claimed nothing"
            time.sleep(0.02)
        pg_svc.workers.concurrency, pg_svc.workers.nice = 1, 0
        pg_svc.workers.start()
        while {pg_svc.documents.get(tenant, d.id).task.state for d in docs} != {"completed"}:
            assert time.monotonic() < deadline and worker.poll() is None, "ingestion did not complete"
            time.sleep(0.1)
    finally:
        pg_svc.workers.stop()
        worker.send_signal(signal.SIGINT)
        out = communicate_or_kill(worker, timeout=15)
    assert "Worker stopped (SIGINT)" in out, out
    with pg_svc.db.session() as s:
        per_doc = dict(s.execute(select(Chunk.doc_id, func.count(Chunk.id)).group_by(Chunk.doc_id)).all())
        attempts = set(s.scalars(select(Task.attempts)))
    assert per_doc == {d.id: 1 for d in docs} and attempts == {1}
    assert pg_svc.vectors.count(kb_id) == 24
