"""Evaluation runs on PostgreSQL: workers claim distinct runs, a silent worker's run is adopted and resumed."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import update

from core.durable import STALE_AFTER
from core.evaluation.runs import RunQueue
from storage.orm import EvalRun, utcnow
from tests.conftest import ingest

FILES = [("refund.md", b"Customers may return any product within thirty days of purchase."),
         ("garden.txt", b"Tomatoes need at least six hours of direct sunlight each day.")]
QUESTIONS = [{"question": "return window", "relevant_docs": ["refund.md"]},
             {"question": "sunlight for tomatoes", "relevant_text": "six hours"}]


def start_runs(svc, tenant: str, n: int) -> list[str]:
    kb = svc.knowledge.create(tenant, "Handbook")
    ingest(svc, tenant, kb.id, FILES)
    data = "".join(json.dumps(q) + "\n" for q in QUESTIONS).encode()
    qset = svc.evaluation.sets.import_file(tenant, data, "s.jsonl", kb_id=kb.id).set
    return [r.id for r in svc.evaluation.start(tenant, qset.id, [{"top_k": k} for k in range(1, n + 1)])]


def test_concurrent_workers_claim_each_run_once(pg_svc, tenant):
    ids = start_runs(pg_svc, tenant, 6)
    queues = [RunQueue(pg_svc.db, worker=f"host-{i}:1") for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        claimed = list(pool.map(lambda q: [r.id for r in iter(q.claim, None)], queues))
    flat = [i for ids_ in claimed for i in ids_]
    assert sorted(flat) == sorted(ids) and len(set(flat)) == len(flat)


def test_a_silent_workers_run_is_adopted_and_completed(pg_svc, tenant):
    (run_id,) = start_runs(pg_svc, tenant, 1)
    assert RunQueue(pg_svc.db, worker="crashed-host:7").claim().id == run_id
    with pg_svc.db.session() as s:
        s.execute(update(EvalRun).where(EvalRun.id == run_id).values(heartbeat_at=utcnow() - 2 * STALE_AFTER))
    assert pg_svc.eval_workers.queue.recover() == 1
    assert pg_svc.eval_workers.drain()
    run = pg_svc.evaluation.get_run(tenant, run_id)
    assert (run.state, run.finished, run.total) == ("completed", 2, 2)
