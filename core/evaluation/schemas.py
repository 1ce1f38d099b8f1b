"""What the evaluation service takes and returns (plain views, detached from database sessions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.evaluation.metrics import cutoffs
from core.schemas import SearchMode

RUN_ACTIVE = ("waiting", "running")
RUN_FINAL = ("completed", "error", "cancelled")


class Question(BaseModel):
    """One question with its judgement: relevant documents and/or passages, and a reference answer."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=4000)
    answer: str = ""
    relevant_docs: list[str] = Field(default_factory=list)
    relevant_text: list[str] = Field(default_factory=list)

    @field_validator("question", "answer")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.replace("\x00", "").strip()

    @field_validator("relevant_docs", "relevant_text")
    @classmethod
    def _clean(cls, v: list[str]) -> list[str]:
        return [s.replace("\x00", "").strip() for s in v if s and s.strip()]


class QuestionSetInfo(BaseModel):
    id: str
    name: str
    kb_id: str | None
    source: str  # upload | generated | sample
    question_count: int
    created_at: datetime
    updated_at: datetime


class ImportReport(BaseModel):
    set: QuestionSetInfo
    ignored_fields: list[str] = Field(default_factory=list)  # columns the format does not know (typos?)


class RunConfig(BaseModel):
    """One configuration of a run: how to retrieve, and (optionally) which model answers."""

    model_config = ConfigDict(extra="forbid")
    mode: SearchMode = "hybrid"
    top_k: int = Field(5, ge=1, le=100)
    threshold: float = Field(0.0, ge=0.0, le=1.0)
    vector_weight: float = Field(0.7, ge=0.0, le=1.0)
    rerank_model: str = ""  # "provider:model", "" = none
    chat_model_id: str = ""  # a saved LLM's id, "default" (the tenant's default LLM) or "" (retrieval only)
    embedding_model: str = ""  # set by the service: the knowledge base's model, for the record
    embedding_model_id: str = ""  # the saved model a caller named for these (start_dataset), "" = the default
    rerank_model_id: str = ""
    # Cross-language search (core/query_expansion.py): True = every language of the knowledge bases and their
    # glossaries, False = the question as asked, None = the knowledge bases' own settings.
    cross_language: bool | None = None

    def label(self) -> str:
        parts = [self.mode.replace("_", "-")]
        if self.mode == "hybrid":
            parts.append(f"w={self.vector_weight:g}")
        parts.append(f"k={self.top_k}")
        if self.threshold:
            parts.append(f"t={self.threshold:g}")
        if self.rerank_model:
            parts.append(f"rerank={self.rerank_model}")
        if self.cross_language is not None:
            parts.append("cross-language" if self.cross_language else "no cross-language")
        return " ".join(parts)


class RunInfo(BaseModel):
    id: str
    set_id: str
    group_id: str
    label: str
    kb_ids: list[str]
    config: RunConfig
    state: str  # waiting | running | completed | error | cancelled
    total: int
    finished: int
    retrieval: dict[str, float] = Field(default_factory=dict)  # mrr, map, ndcg@3, precision@5, ... (means)
    generation: dict[str, float] | None = None  # bleu1 ... rougel, when answers were generated
    latency_ms: float = 0.0  # mean retrieval time per question
    message: str = ""
    error: str = ""
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.state in RUN_ACTIVE

    @property
    def k(self) -> int:
        return self.config.top_k

    def summary(self) -> dict[str, float]:
        """The headline numbers at the run's own top_k: precision, recall, hit, ndcg3, ndcg10, mrr, map."""
        r, k = self.retrieval, self.config.top_k
        if not r:
            return {}
        return {"precision": r[f"precision@{k}"], "recall": r[f"recall@{k}"], "hit": r[f"hit@{k}"],
                "ndcg3": r["ndcg@3"], "ndcg10": r["ndcg@10"], "mrr": r["mrr"], "map": r["map"]}

    @property
    def cutoffs(self) -> list[int]:
        return cutoffs(self.config.top_k)


class HitResult(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    kb_id: str
    document_name: str
    content: str
    score: float
    relevant: bool
    targets: list[int] = Field(default_factory=list)  # which of the question's targets it matched


class QuestionResult(BaseModel):
    position: int
    question: str
    answer_reference: str = ""
    relevant_docs: list[str] = Field(default_factory=list)
    relevant_text: list[str] = Field(default_factory=list)
    hits: list[HitResult]
    metrics: dict[str, Any]
    answer: str = ""
    error: str = ""
    latency_ms: float = 0.0

    @property
    def first_relevant_rank(self) -> int | None:
        return next((h.rank for h in self.hits if h.relevant), None)
