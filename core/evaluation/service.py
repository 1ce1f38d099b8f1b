"""The evaluation service: question sets, runs and comparisons, the bundled sample, per-question results.

    svc.evaluation.sets.import_file(tenant, data, "set.jsonl", kb_id=kb)     # or .csv; all or nothing
    runs = svc.evaluation.start(tenant, set_id, [{"mode": m} for m in MODES])  # one comparison group
    svc.evaluation.get_run(tenant, runs[0].id)                                 # state, finished / total, metrics
    svc.evaluation.results(tenant, runs[0].id)                                 # per question: hits, relevance
    svc.evaluation.start_dataset(tenant, "default", chat_id="default")         # the bundled set (WeKnora)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select

from core.config import Settings
from core.errors import InvalidInput, NotFound
from core.evaluation.generate import generate_questions
from core.evaluation.questionsets import QuestionSets, parse_questions
from core.evaluation.runs import RunQueue
from core.evaluation.schemas import RUN_ACTIVE, HitResult, QuestionResult, QuestionSetInfo, RunConfig, RunInfo
from core.providers.embeddings import EmbedderSpec
from core.providers.llm import LLM, get_llm
from core.providers.rerank import RERANKERS
from core.schemas import KnowledgeBaseInfo
from core.scope import load_kb, load_owned, validation_message
from storage.db import Database
from storage.orm import EvalQuestion, EvalResult, EvalRun, EvalSet, new_id, utcnow

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "assets" / "eval"
SAMPLE_KB = "Evaluation sample"
SAMPLE_SET = "Almanac sample (zh + en)"
SAMPLE_CHUNKING = {"chunk_size": 128, "chunk_overlap": 16}
MAX_CONFIGS = 12
DEFAULT_IDS = ("", "default")


def run_info(row: EvalRun) -> RunInfo:
    metrics = row.metrics or {}
    return RunInfo(id=row.id, set_id=row.set_id, group_id=row.group_id, label=row.label, kb_ids=list(row.kb_ids),
                   config=RunConfig.model_validate(row.config), state=row.state, total=row.total,
                   finished=row.finished, retrieval=metrics.get("retrieval") or {},
                   generation=metrics.get("generation"), latency_ms=metrics.get("latency_ms", 0.0),
                   message=row.message, error=row.error, created_at=row.created_at, started_at=row.started_at,
                   finished_at=row.finished_at)


class EvaluationService:
    def __init__(self, db: Database, settings: Settings, knowledge, documents, models,  # noqa: ANN001 - services
                 on_queued: Callable[[], None] = lambda: None):
        self.db, self.settings = db, settings
        self.knowledge, self.documents, self.models = knowledge, documents, models
        self.sets = QuestionSets(db)
        self.queue = RunQueue(db)
        self.on_queued = on_queued  # wakes the in-process evaluation workers

    # ------------------------------------------------------------------------- models
    def llm_for(self, tenant_id: str, model_id: str) -> LLM | None:
        """The chat model of a run: a saved LLM, or with "default" the tenant's default (None if none)."""
        spec = self.models.llm_spec(tenant_id, None if model_id == "default" else model_id)
        return get_llm(spec) if spec is not None else None

    def _check_config(self, tenant_id: str, raw: dict | RunConfig) -> RunConfig:
        try:
            cfg = raw if isinstance(raw, RunConfig) else RunConfig.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput(validation_message(exc)) from None
        provider, _, model = cfg.rerank_model.partition(":")
        if cfg.rerank_model and (provider not in RERANKERS or not model):
            raise InvalidInput(f"rerank_model must look like provider:model (providers: {', '.join(RERANKERS)})")
        if cfg.chat_model_id not in DEFAULT_IDS:
            model_cfg = self.models.get(tenant_id, cfg.chat_model_id)
            if model_cfg.type != "llm":
                raise InvalidInput(f"Model '{model_cfg.name}' is a {model_cfg.type} model, not a chat model")
        return cfg

    # --------------------------------------------------------------------------- runs
    def start(self, tenant_id: str, set_id: str, configs: Sequence[dict | RunConfig],
              kb_ids: Sequence[str] | None = None) -> list[RunInfo]:
        """Queue one run per configuration over the set (one comparison group); they run in the background."""
        if not configs:
            raise InvalidInput("Give at least one configuration")
        if len(configs) > MAX_CONFIGS:
            raise InvalidInput(f"Compare at most {MAX_CONFIGS} configurations at once")
        checked = [self._check_config(tenant_id, c) for c in configs]
        with self.db.session() as s:
            qset = load_owned(s, EvalSet, set_id, tenant_id, "Question set")
            kb_ids = list(dict.fromkeys(kb_ids or ([qset.kb_id] if qset.kb_id else [])))
            if not kb_ids:
                raise InvalidInput("Choose the knowledge base(s) to evaluate this question set on")
            kbs = [load_kb(s, tenant_id, k) for k in kb_ids]
            total = len(s.scalars(select(EvalQuestion.id).where(EvalQuestion.set_id == set_id)).all())
            group = new_id()
            rows = []
            for cfg in checked:
                cfg = cfg.model_copy(update={"embedding_model": kbs[0].embedding_model})
                rows.append(EvalRun(tenant_id=tenant_id, set_id=set_id, group_id=group, label=cfg.label(),
                                    kb_ids=kb_ids, config=cfg.model_dump(), state="waiting", total=total,
                                    message="Waiting for a worker", created_at=utcnow()))
            s.add_all(rows)
            s.flush()
            infos = [run_info(r) for r in rows]
        self.on_queued()
        return infos

    def get_run(self, tenant_id: str, run_id: str) -> RunInfo:
        with self.db.session() as s:
            return run_info(load_owned(s, EvalRun, run_id, tenant_id, "Evaluation run"))

    def list_runs(self, tenant_id: str, *, set_id: str = "", group_id: str = "", limit: int = 200) -> list[RunInfo]:
        q = select(EvalRun).where(EvalRun.tenant_id == tenant_id)
        if set_id:
            q = q.where(EvalRun.set_id == set_id)
        if group_id:
            q = q.where(EvalRun.group_id == group_id)
        with self.db.session() as s:
            return [run_info(r) for r in s.scalars(q.order_by(EvalRun.created_at.desc(), EvalRun.id).limit(limit))]

    def groups(self, tenant_id: str, limit: int = 50) -> list[list[RunInfo]]:
        """Comparisons, newest first: the runs started together, in the order they were configured."""
        grouped: dict[str, list[RunInfo]] = {}
        for run in self.list_runs(tenant_id, limit=limit * MAX_CONFIGS):
            grouped.setdefault(run.group_id, []).append(run)
        return [sorted(runs, key=lambda r: (r.created_at, r.id)) for runs in list(grouped.values())[:limit]]

    def results(self, tenant_id: str, run_id: str) -> list[QuestionResult]:
        """Every finished question of a run, in set order, with what was retrieved and what was expected
        (the judgement as it was when the question ran: a later edit of the set does not rewrite history)."""
        with self.db.session() as s:
            run = load_owned(s, EvalRun, run_id, tenant_id, "Evaluation run")
            rows = s.scalars(select(EvalResult).where(EvalResult.run_id == run.id).order_by(EvalResult.position)).all()
            return [QuestionResult(
                position=r.position, question=r.question, answer_reference=r.expected.get("answer", ""),
                relevant_docs=list(r.expected.get("relevant_docs", [])),
                relevant_text=list(r.expected.get("relevant_text", [])),
                hits=[HitResult.model_validate(h) for h in r.hits], metrics=dict(r.metrics), answer=r.answer,
                error=r.error, latency_ms=r.latency_ms) for r in rows]

    def cancel(self, tenant_id: str, run_ids: Sequence[str]) -> int:
        """Cancel waiting or running runs; a running one stops before its next question."""
        with self.db.session() as s:
            rows = [load_owned(s, EvalRun, r, tenant_id, "Evaluation run") for r in dict.fromkeys(run_ids)]
            n = 0
            for row in rows:
                if row.state in RUN_ACTIVE:
                    row.state, row.worker, row.message, row.finished_at = "cancelled", "", "Cancelled", utcnow()
                    n += 1
            return n

    def delete_runs(self, tenant_id: str, run_ids: Sequence[str]) -> None:
        with self.db.session() as s:
            for row in [load_owned(s, EvalRun, r, tenant_id, "Evaluation run") for r in dict.fromkeys(run_ids)]:
                s.delete(row)

    # ---------------------------------------------------------------------- question sets
    def generate_set(self, tenant_id: str, kb_id: str, count: int = 20, *, chat_model_id: str = "",
                     name: str = "", seed: int | None = None) -> QuestionSetInfo:
        """A draft set written from the knowledge base's chunks (by a chat model when one is given)."""
        llm = self.llm_for(tenant_id, chat_model_id) if chat_model_id else None
        if chat_model_id and llm is None:
            raise InvalidInput("No chat model is configured; generate without one (key sentences) or add a model")
        kb = self.knowledge.get(tenant_id, kb_id)
        questions = generate_questions(self.db, tenant_id, kb_id, count, llm=llm, seed=seed)
        return self.sets.create(tenant_id, name or f"{kb.name}: generated", questions, kb_id=kb_id, source="generated")

    def install_sample(self, tenant_id: str, embedding_model: str = "") -> tuple[KnowledgeBaseInfo, QuestionSetInfo]:
        """The bundled corpus as a knowledge base (one per embedding model) and its question set; idempotent."""
        model = embedding_model or self.settings.embedding_model
        EmbedderSpec.parse(model)
        name = SAMPLE_KB if model == self.settings.embedding_model else f"{SAMPLE_KB} ({model})"
        found = self.knowledge.list(tenant_id, name=name).items
        kb = found[0] if found else self.knowledge.create(
            tenant_id, name, embedding_model=model, chunk_config=SAMPLE_CHUNKING,
            description="Bundled bilingual corpus for the evaluation sample set")
        if not kb.document_count:
            files = sorted((SAMPLE_DIR / "corpus").iterdir())
            self.documents.upload(tenant_id, kb.id, [(p.name, p.read_bytes()) for p in files])
        with self.db.session() as s:
            existing = s.scalar(select(EvalSet).where(EvalSet.tenant_id == tenant_id, EvalSet.kb_id == kb.id,
                                                      EvalSet.source == "sample").limit(1))
            qset = self.sets.get(tenant_id, existing.id) if existing else None
        if qset is None:
            questions, _, _ = parse_questions((SAMPLE_DIR / "questions.jsonl").read_bytes(), "questions.jsonl")
            qset = self.sets.create(tenant_id, SAMPLE_SET, questions, kb_id=kb.id, source="sample")
        return self.knowledge.get(tenant_id, kb.id), qset

    def _model_name(self, tenant_id: str, model_id: str, type_: str) -> str:
        """A saved model's "provider:model" (how knowledge bases and retrieval name models)."""
        m = self.models.get(tenant_id, model_id)
        if m.type != type_:
            raise InvalidInput(f"Model '{m.name}' is a {m.type} model, not a {type_} model")
        return f"{m.provider}:{m.model}"

    def start_dataset(self, tenant_id: str, dataset_id: str = "", *, embedding_id: str = "", chat_id: str = "",
                      rerank_id: str = "") -> RunInfo:
        """One hybrid run named by model ids (WeKnora's evaluation task): dataset "" or "default" is the
        bundled set on its sample knowledge base for that embedding model, else a question set's id.
        "" / "default" model ids mean the defaults: the default embedding model, the tenant's default
        chat model (generation metrics when there is one), no reranker."""
        embedding = "" if embedding_id in DEFAULT_IDS else self._model_name(tenant_id, embedding_id, "embedding")
        if dataset_id in DEFAULT_IDS:
            _, qset = self.install_sample(tenant_id, embedding)
        else:
            try:
                qset = self.sets.get(tenant_id, dataset_id)
            except NotFound:
                raise NotFound(f"Dataset '{dataset_id}' not found (use 'default' for the bundled set)") from None
            kb = self.knowledge.get(tenant_id, qset.kb_id) if qset.kb_id else None
            if embedding and kb is not None and kb.embedding_model != embedding:
                raise InvalidInput(f"Question set '{qset.name}' is for a knowledge base embedded with "
                                   f"{kb.embedding_model}, not {embedding}")
        rerank = "" if rerank_id in DEFAULT_IDS else self._model_name(tenant_id, rerank_id, "rerank")
        chat = "default" if chat_id in DEFAULT_IDS else chat_id
        cfg = RunConfig(mode="hybrid", rerank_model=rerank, chat_model_id=chat,
                        embedding_model_id="" if embedding_id in DEFAULT_IDS else embedding_id,
                        rerank_model_id="" if rerank_id in DEFAULT_IDS else rerank_id)
        (run,) = self.start(tenant_id, qset.id, [cfg])
        return run
