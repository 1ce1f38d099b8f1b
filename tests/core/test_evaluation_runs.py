"""Evaluation runs: a three-mode comparison, metrics equal to an independent computation, answers and
generation metrics, cancel, resume after a stop and after a crash, the bundled set, tenant isolation."""

from __future__ import annotations

import json
import math
import time

import pytest
from sqlalchemy import select, update

from core.container import build_services
from core.errors import Conflict, InvalidInput, NotFound
from storage.orm import EvalResult, EvalRun, utcnow
from tests.conftest import ingest

FILES = [
    ("refund.md", b"# Refunds\n\nCustomers may return any product within thirty days of purchase for a full refund."),
    ("security.txt", b"Employees must rotate their passwords every ninety days. Lost laptops must be reported within "
                     b"one hour."),
    ("garden.txt", b"Tomatoes need at least six hours of direct sunlight each day and deep watering twice a week."),
    ("年假.md", "员工入职满一年后每年享有十五天带薪年假，年假需要提前两周申请。".encode()),
]
QUESTIONS = [
    {"question": "How many days to return a product?", "answer": "Thirty days.", "relevant_docs": ["refund.md"]},
    {"question": "How often must passwords be rotated?", "relevant_text": "every ninety days"},
    {"question": "How much sun do tomatoes need?", "relevant_docs": ["garden.txt"], "relevant_text": "six hours"},
    {"question": "每年有几天带薪年假？", "answer": "十五天", "relevant_text": ["十五天带薪年假"]},
    {"question": "Who approves the quarterly budget?", "relevant_docs": ["refund.md", "security.txt"]},
    {"question": "lost laptops reported", "relevant_text": "within one hour"},
]
MODES = ("semantic", "full_text", "hybrid")


@pytest.fixture
def kb(svc, tenant):
    kb = svc.knowledge.create(tenant, "Handbook")
    ingest(svc, tenant, kb.id, FILES)
    return kb


@pytest.fixture
def qset(svc, tenant, kb):
    data = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS).encode()
    return svc.evaluation.sets.import_file(tenant, data, "handbook.jsonl", kb_id=kb.id).set


def independent_metrics(question: dict, hits: list, k: int) -> dict:
    """recall@k, MRR and hit@k straight from the retrieved list, without core.evaluation.metrics."""
    texts = question.get("relevant_text")
    texts = [texts] if isinstance(texts, str) else texts or []
    docs = question.get("relevant_docs") or []

    def targets_of(hit) -> set:
        if texts:
            if docs and hit.document_name not in docs:
                return set()
            return {t for t in texts if "".join(t.split()) in "".join(hit.content.split())}
        return {hit.document_name} & set(docs)

    found = [targets_of(h) for h in hits]
    first = next((i for i, f in enumerate(found, 1) if f), None)
    return {"recall": len(set().union(*found[:k])) / len(texts or docs), "mrr": 1 / first if first else 0.0,
            "hit": float(any(found[:k]))}


def test_a_three_mode_comparison_matches_an_independent_computation(svc, tenant, qset):
    runs = svc.evaluation.start(tenant, qset.id, [{"mode": m, "top_k": 3} for m in MODES])
    assert len({r.group_id for r in runs}) == 1 and [r.state for r in runs] == ["waiting"] * 3
    assert [r.label for r in runs] == ["semantic k=3", "full-text k=3", "hybrid w=0.7 k=3"]
    assert svc.eval_workers.drain()
    (group,) = svc.evaluation.groups(tenant)
    assert [r.id for r in group] == [r.id for r in runs]
    for run in group:
        assert (run.state, run.finished, run.total) == ("completed", 6, 6)
        results = svc.evaluation.results(tenant, run.id)
        assert [r.position for r in results] == list(range(6))
        expected = [independent_metrics(q, r.hits, 3) for q, r in zip(QUESTIONS, results, strict=True)]
        for name in ("recall", "mrr", "hit"):
            key = name if name == "mrr" else f"{name}@3"
            assert run.retrieval[key] == pytest.approx(sum(e[name] for e in expected) / 6), (run.label, name)
        assert run.summary()["recall"] == run.retrieval["recall@3"] and run.generation is None
        assert all(len(r.hits) <= 3 and r.latency_ms > 0 for r in results)
    hybrid = svc.evaluation.results(tenant, group[2].id)
    assert hybrid[0].first_relevant_rank == 1 and hybrid[0].hits[0].document_name == "refund.md"
    assert hybrid[4].first_relevant_rank in (1, 2, 3)  # any chunk of the two named documents counts


def test_answers_are_generated_and_scored_when_a_chat_model_is_chosen(svc, tenant, qset, llm):
    (run,) = svc.evaluation.start(tenant, qset.id, [{"mode": "hybrid", "chat_model_id": "default"}])
    assert svc.eval_workers.drain()
    run = svc.evaluation.get_run(tenant, run.id)
    results = svc.evaluation.results(tenant, run.id)
    assert all(r.answer.startswith("Mock answer about:") for r in results)
    assert set(run.generation) == {"bleu1", "bleu2", "bleu4", "rouge1", "rouge2", "rougel"}
    scored = [r for r in results if r.answer_reference]  # only questions with a reference answer count
    assert len(scored) == 2 and "bleu1" not in results[1].metrics
    assert run.generation["rouge1"] == pytest.approx(sum(r.metrics["rouge1"] for r in scored) / 2)


def test_bad_configurations_are_refused(svc, tenant, qset, kb):
    with pytest.raises(InvalidInput, match="mode"):
        svc.evaluation.start(tenant, qset.id, [{"mode": "fuzzy"}])
    with pytest.raises(InvalidInput, match="top_k"):
        svc.evaluation.start(tenant, qset.id, [{"top_k": 0}])
    with pytest.raises(InvalidInput, match="provider:model"):
        svc.evaluation.start(tenant, qset.id, [{"rerank_model": "nonsense"}])
    with pytest.raises(NotFound):
        svc.evaluation.start(tenant, qset.id, [{"chat_model_id": "nope"}])
    with pytest.raises(InvalidInput, match="at least one configuration"):
        svc.evaluation.start(tenant, qset.id, [])
    assert svc.evaluation.list_runs(tenant) == []


def wrap_search(svc, after: int, action):
    """Let the real search run; during question `after + 1`, do `action` (a cancel, a stop) once.
    (A run's first search is an untimed warm-up.)"""
    real, calls = svc.retrieval.search, []

    def search(*args, **kwargs):
        calls.append(1)
        if len(calls) == after + 2:
            action()
        return real(*args, **kwargs)

    svc.retrieval.search = search


def test_a_cancelled_run_stops_before_its_next_question(svc, tenant, qset):
    (run,) = svc.evaluation.start(tenant, qset.id, [{"mode": "full_text"}])
    wrap_search(svc, 2, lambda: svc.evaluation.cancel(tenant, [run.id]))
    assert svc.eval_workers.drain()
    run = svc.evaluation.get_run(tenant, run.id)
    assert run.state == "cancelled" and run.finished == 2 == len(svc.evaluation.results(tenant, run.id))
    assert svc.evaluation.cancel(tenant, [run.id]) == 0  # already final


def test_a_stopped_run_resumes_where_it_stopped_after_a_restart(svc, settings, tenant, qset):
    (run,) = svc.evaluation.start(tenant, qset.id, [{"mode": "hybrid"}])
    wrap_search(svc, 3, svc.eval_workers.executor.stop.set)  # the server shuts down during question 4
    svc.eval_workers.drain()
    paused = svc.evaluation.get_run(tenant, run.id)
    assert paused.state == "waiting" and paused.finished == 4 and "Paused" in paused.message
    with svc.db.session() as s:
        kept = set(s.scalars(select(EvalResult.id).where(EvalResult.run_id == run.id)))
    svc.close()

    again = build_services(settings, start_workers=True)
    try:
        deadline = time.monotonic() + 60
        while again.evaluation.get_run(tenant, run.id).state != "completed" and time.monotonic() < deadline:
            time.sleep(0.05)
        done = again.evaluation.get_run(tenant, run.id)
        assert (done.state, done.finished) == ("completed", 6)
        with again.db.session() as s:
            rows = s.scalars(select(EvalResult).where(EvalResult.run_id == run.id)).all()
        assert sorted(r.position for r in rows) == list(range(6)) and kept < {r.id for r in rows}
    finally:
        again.close()


def test_a_run_of_a_crashed_worker_is_adopted(svc, tenant, qset):
    (run,) = svc.evaluation.start(tenant, qset.id, [{"mode": "semantic"}])
    with svc.db.session() as s:  # as a worker on another host that died mid-run long ago would leave it
        s.execute(update(EvalRun).where(EvalRun.id == run.id).values(
            state="running", worker="crashed-host:1", heartbeat_at=utcnow().replace(year=2000)))
    svc.eval_workers.concurrency = 1
    svc.eval_workers.start()
    deadline = time.monotonic() + 60
    while svc.evaluation.get_run(tenant, run.id).state != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    svc.eval_workers.stop()
    assert svc.evaluation.get_run(tenant, run.id).finished == 6


def test_the_bundled_set_runs_on_its_own_knowledge_base(svc, tenant):
    run = svc.evaluation.start_dataset(tenant, "default")
    kb, qset = svc.evaluation.install_sample(tenant)  # idempotent: the same pair again
    assert kb.name == "Evaluation sample" and kb.document_count == 8 and qset.question_count == 38
    assert len(svc.evaluation.sets.list(tenant)) == 1 and run.total == 38 and run.config.chat_model_id == "default"
    assert svc.workers.drain(timeout=300)  # the sample's documents are processed first
    chunks = [c.content for d in svc.documents.list(tenant, kb.id).items for c in svc.chunks.list(tenant, d.id,
                                                                                                 page_size=100).items]
    for q in svc.evaluation.sets.questions(tenant, qset.id):  # every judgement can be met by some chunk
        assert any("".join(q.relevant_text[0].split()) in "".join(c.split()) for c in chunks), q.question
    assert svc.eval_workers.drain()
    done = svc.evaluation.get_run(tenant, run.id)
    assert done.state == "completed" and done.finished == 38
    assert set(done.summary()) == {"precision", "recall", "hit", "ndcg3", "ndcg10", "mrr", "map"}
    assert done.generation is None  # no chat model configured: retrieval only
    assert not math.isnan(done.summary()["ndcg10"])


def test_dataset_and_model_ids_are_checked(svc, tenant, llm):
    with pytest.raises(NotFound, match="Dataset 'nope' not found"):
        svc.evaluation.start_dataset(tenant, "nope")
    chat = svc.models.list(tenant, "llm")[0]
    with pytest.raises(InvalidInput, match="not a embedding model"):
        svc.evaluation.start_dataset(tenant, "default", embedding_id=chat.id)
    with pytest.raises(NotFound):
        svc.evaluation.start_dataset(tenant, "default", rerank_id="missing")
    assert svc.evaluation.list_runs(tenant) == []


def test_runs_belong_to_their_tenant(svc, tenant, qset):
    (run,) = svc.evaluation.start(tenant, qset.id, [{}])
    other = svc.tenants.create_tenant("other")
    assert svc.evaluation.list_runs(other) == [] and svc.evaluation.groups(other) == []
    for call in (lambda: svc.evaluation.get_run(other, run.id), lambda: svc.evaluation.results(other, run.id),
                 lambda: svc.evaluation.cancel(other, [run.id]), lambda: svc.evaluation.delete_runs(other, [run.id])):
        with pytest.raises(NotFound):
            call()
    assert svc.evaluation.get_run(tenant, run.id).state == "waiting"


def test_results_keep_the_judgement_they_ran_with(svc, tenant, qset):
    (run,) = svc.evaluation.start(tenant, qset.id, [{"mode": "full_text"}])
    with pytest.raises(Conflict, match="in progress"):  # not while it runs
        svc.evaluation.sets.replace_questions(tenant, qset.id, [{"question": "x", "relevant_text": ["y"]}])
    assert svc.eval_workers.drain()
    svc.evaluation.sets.replace_questions(tenant, qset.id, [{"question": "x", "relevant_text": ["y"]}])
    first = svc.evaluation.results(tenant, run.id)[0]
    assert first.question == QUESTIONS[0]["question"] and first.relevant_docs == ["refund.md"]
    assert first.answer_reference == "Thirty days."


def test_deleting_a_set_deletes_its_runs(svc, tenant, qset):
    svc.evaluation.start(tenant, qset.id, [{}])
    svc.evaluation.sets.delete(tenant, qset.id)
    assert svc.evaluation.list_runs(tenant) == []


def test_a_dataset_run_records_the_models_it_was_started_with(svc, tenant, llm):
    chat = svc.models.list(tenant, "llm")[0]
    rerank = svc.models.create(tenant, type="rerank", provider="mock", name="overlap", model="overlap")
    run = svc.evaluation.start_dataset(tenant, "", chat_id=chat.id, rerank_id=rerank.id)
    assert (run.config.chat_model_id, run.config.rerank_model_id, run.config.rerank_model) == (
        chat.id, rerank.id, "mock:overlap")
    assert run.config.embedding_model_id == "" and run.config.embedding_model == svc.settings.embedding_model
    assert (run.state, run.finished, run.total) == ("waiting", 0, 38)
    assert svc.workers.drain(timeout=300)
    seen = []  # what a caller polling the run sees after each question: finished counts up one by one
    real = svc.evaluation.queue.record  # the executor's queue is this same object

    def record(run_id, result):
        real(run_id, result)
        seen.append(svc.evaluation.get_run(tenant, run_id).finished)

    svc.evaluation.queue.record = record
    assert svc.eval_workers.drain()
    assert seen == list(range(1, 39))
    done = svc.evaluation.get_run(tenant, run.id)
    assert done.state == "completed" and set(done.generation) == {"bleu1", "bleu2", "bleu4", "rouge1", "rouge2",
                                                                  "rougel"}
