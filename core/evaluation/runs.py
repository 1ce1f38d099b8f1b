"""Evaluation runs as durable tasks: a queue of run rows (claimed, heartbeats, orphans adopted, as for
ingestion, via core/durable.py) and the executor that answers a run's questions one by one.

State machine: waiting -> running -> completed | error | cancelled. Each finished question is a result
row written in the same transaction as the run's `finished` count, and only while this worker still owns
the running run; a cancel or a takeover is thus noticed at the next question, and a resumed run skips the
positions it already has.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import select, update

from core.durable import claim_next, recover_orphans, worker_id
from core.errors import AlmanacError
from core.evaluation.metrics import GENERATION_KEYS, Judgement, generation_metrics, mean_metrics, retrieval_metrics
from core.evaluation.schemas import RUN_ACTIVE, Question, RunConfig
from core.prompting import build_prompt, passage
from core.providers.llm import LLM, ChatParams
from core.query_expansion import ALL_LANGUAGES, NO_EXPANSION
from core.retrieval import RetrievalService
from core.schemas import ACTIVE_STATES
from core.text import jieba_module
from storage.db import Database
from storage.orm import EvalQuestion, EvalResult, EvalRun, Task, utcnow

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30.0
ANSWER_SYSTEM = ("Answer the question from the knowledge base below, briefly and in the question's language. "
                 "If it does not contain the answer, say so.\n\nKnowledge base:\n{knowledge}")


class RunLost(Exception):
    """The run was cancelled, deleted or taken over; stop working on it."""


class RunQueue:
    def __init__(self, db: Database, worker: str | None = None):
        self.db = db
        self.worker = worker or worker_id()

    def claim(self) -> EvalRun | None:
        return claim_next(self.db, EvalRun, self.worker, state="running", started_at=utcnow(),
                          message="Running")

    def recover(self) -> int:
        return recover_orphans(self.db, EvalRun, RUN_ACTIVE, self.worker, state="waiting",
                               message="Resuming after an interrupted run")

    def _owned(self, run_id: str):  # noqa: ANN202 - an UPDATE statement
        return update(EvalRun).where(EvalRun.id == run_id, EvalRun.worker == self.worker,
                                     EvalRun.state == "running")

    def touch(self, run_id: str, message: str | None = None) -> None:
        """Heartbeat (and a message); raises RunLost when the run is no longer ours."""
        values = {"heartbeat_at": utcnow(), **({"message": message} if message is not None else {})}
        with self.db.session() as s:
            if not s.execute(self._owned(run_id).values(**values)).rowcount:
                raise RunLost(run_id)

    def record(self, run_id: str, result: EvalResult) -> None:
        """Store one question's result and count it, atomically, while the run is still ours."""
        with self.db.session() as s:
            if not s.execute(self._owned(run_id).values(finished=EvalRun.finished + 1, heartbeat_at=utcnow())).rowcount:
                raise RunLost(run_id)
            s.add(result)

    def finish(self, run_id: str, state: str, message: str, *, metrics: dict | None = None, error: str = "") -> None:
        values = {"state": state, "message": message, "error": error, "finished_at": utcnow(), "worker": ""}
        with self.db.session() as s:
            s.execute(self._owned(run_id).values(**values, **({"metrics": metrics} if metrics is not None else {})))

    def release(self, run_id: str) -> None:
        """Hand a run back (the process is stopping): the next worker to start resumes it."""
        with self.db.session() as s:
            s.execute(self._owned(run_id).values(state="waiting", worker="", message="Paused: the server stopped"))

    def has_waiting(self) -> bool:
        with self.db.session() as s:
            return s.scalar(select(EvalRun.id).where(EvalRun.state == "waiting", EvalRun.worker == "").limit(1)) \
                is not None


def aggregate(results: list[EvalResult]) -> dict:
    """A run's metrics: the mean of every question's, split into retrieval and generation."""
    rows = [r.metrics for r in results]
    means = mean_metrics(rows)
    generation = {k: means[k] for k in GENERATION_KEYS if k in means}
    retrieval = {k: v for k, v in means.items() if k not in GENERATION_KEYS}
    latency = sum(r.latency_ms for r in results) / len(results) if results else 0.0
    return {"retrieval": retrieval, "generation": generation or None, "latency_ms": latency}


class RunExecutor:
    """Answers the questions of a claimed run. `llm_for(tenant_id, model_id)` gives the chat model."""

    def __init__(self, db: Database, queue: RunQueue, retrieval: RetrievalService,
                 llm_for: Callable[[str, str], LLM], stop: threading.Event | None = None):
        self.db, self.queue, self.retrieval, self.llm_for = db, queue, retrieval, llm_for
        self.stop = stop or threading.Event()

    def run(self, run: EvalRun) -> None:
        try:
            self._wait_for_ingestion(run)
            cfg = RunConfig.model_validate(run.config)
            llm = self.llm_for(run.tenant_id, cfg.chat_model_id) if cfg.chat_model_id else None
            todo = self._todo(run)
            if todo:  # one untimed search first: loading models and indexes is not the first question's latency
                jieba_module()
                self._search(run, todo[0][1], cfg)
            for position, question in todo:
                if self.stop.is_set():
                    self.queue.release(run.id)
                    return
                self.queue.record(run.id, self.evaluate(run, position, question, cfg, llm))
            with self.db.session() as s:
                results = s.scalars(select(EvalResult).where(EvalResult.run_id == run.id)).all()
            self.queue.finish(run.id, "completed", f"Evaluated {len(results)} questions", metrics=aggregate(results))
        except RunLost:
            log.info("evaluation run %s was cancelled or taken over", run.id)
        except AlmanacError as exc:
            self.queue.finish(run.id, "error", "Failed", error=exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug fails this run, not the worker thread
            log.exception("evaluation run %s failed", run.id)
            self.queue.finish(run.id, "error", "Failed", error=f"{type(exc).__name__}: {exc}")

    def _wait_for_ingestion(self, run: EvalRun) -> None:
        """A knowledge base still being processed (e.g. the sample just installed) is waited for."""
        while not self.stop.is_set():
            with self.db.session() as s:
                busy = s.scalar(select(Task.id).where(Task.kb_id.in_(run.kb_ids), Task.state.in_(ACTIVE_STATES))
                                .limit(1))
            if busy is None:
                return
            self.queue.touch(run.id, "Waiting for the knowledge base to finish processing")
            self.stop.wait(1.0)

    def _todo(self, run: EvalRun) -> list[tuple[int, Question]]:
        with self.db.session() as s:
            done = set(s.scalars(select(EvalResult.position).where(EvalResult.run_id == run.id)))
            rows = s.scalars(select(EvalQuestion).where(EvalQuestion.set_id == run.set_id)
                             .order_by(EvalQuestion.position)).all()
            return [(r.position, Question(question=r.question, answer=r.answer, relevant_docs=list(r.relevant_docs),
                                          relevant_text=list(r.relevant_text)))
                    for r in rows if r.position not in done]

    def _search(self, run: EvalRun, q: Question, cfg: RunConfig) -> list:
        expansion = {True: ALL_LANGUAGES, False: NO_EXPANSION, None: None}[cfg.cross_language]
        return self.retrieval.search(run.tenant_id, run.kb_ids, q.question, mode=cfg.mode, top_k=cfg.top_k,
                                     threshold=cfg.threshold, vector_weight=cfg.vector_weight,
                                     rerank_model=cfg.rerank_model, source="eval", record=False, expansion=expansion)

    def evaluate(self, run: EvalRun, position: int, q: Question, cfg: RunConfig, llm: LLM | None) -> EvalResult:
        started = time.perf_counter()
        hits = self._search(run, q, cfg)
        latency = (time.perf_counter() - started) * 1000
        judge = Judgement(tuple(q.relevant_docs), tuple(q.relevant_text))
        matched = [judge.matches(h.doc_id, h.document_name, h.content) for h in hits]
        metrics = retrieval_metrics(matched, judge.targets, cfg.top_k)
        answer = ""
        if llm is not None:
            prompt = build_prompt(ANSWER_SYSTEM, [passage(h) for h in hits], [], q.question, context_window=8192,
                                  max_tokens=512, show_quote=False)
            answer = llm.complete(prompt.messages, ChatParams(temperature=0.0, max_tokens=512)).content.strip()
            if q.answer:
                metrics.update(generation_metrics(answer, q.answer))
        return EvalResult(
            run_id=run.id, position=position, question=q.question, answer=answer, latency_ms=round(latency, 2),
            expected={"answer": q.answer, "relevant_docs": q.relevant_docs, "relevant_text": q.relevant_text},
            metrics=metrics,
            hits=[{"rank": i, "chunk_id": h.chunk_id, "doc_id": h.doc_id, "kb_id": h.kb_id,
                   "document_name": h.document_name, "content": h.content, "score": round(float(h.score), 6),
                   "relevant": bool(m), "targets": m}
                  for i, (h, m) in enumerate(zip(hits, matched, strict=True), start=1)])


class EvaluationWorkers:
    """Background threads that claim and execute runs (started and stopped with the other workers)."""

    def __init__(self, executor: RunExecutor, concurrency: int = 1, poll_seconds: float = 1.0):
        self.executor, self.queue = executor, executor.queue
        self.concurrency, self.poll_seconds = concurrency, poll_seconds
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        if self.running or self.concurrency <= 0:
            return
        self.executor.stop.clear()
        if self.queue.recover():
            log.info("resuming interrupted evaluation runs")
        self._threads = [threading.Thread(target=self._loop, name=f"eval-{i}", daemon=True)
                         for i in range(self.concurrency)]
        for t in self._threads:
            t.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self.executor.stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def _loop(self) -> None:
        while not self.executor.stop.is_set():
            try:
                run = self.queue.claim()
            except Exception:  # noqa: BLE001 - e.g. database briefly locked; try again later
                log.exception("could not claim an evaluation run")
                run = None
            if run is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            done = threading.Event()
            threading.Thread(target=self._heartbeat, args=(run.id, done), daemon=True).start()
            try:
                self.executor.run(run)
            finally:
                done.set()

    def _heartbeat(self, run_id: str, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_SECONDS):  # a slow model can outlast STALE_AFTER on one question
            try:
                self.queue.touch(run_id)
            except Exception:  # noqa: BLE001 - lost or finished: the executor notices on its own
                return

    def drain(self, timeout: float = 600.0) -> bool:
        """Execute waiting runs in the calling thread until none are left (CLI and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.executor.stop.is_set():
            run = self.queue.claim()
            if run is None:
                return True
            self.executor.run(run)
        return False
