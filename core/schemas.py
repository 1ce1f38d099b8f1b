"""What services take and return: validated settings and plain views of the domain.

Views are detached from database sessions, so pages, the CLI and API dialects can hold
them freely and map them to their own shapes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.calibration import DEFAULT_THRESHOLD, DEFAULT_TOP_K, DEFAULT_VECTOR_WEIGHT
from core.ingestion.cleaning import PREPROCESS_RULES
from core.ingestion.splitting import SPLIT_METHODS, SplitConfig
from core.languages import parse_languages

SearchMode = Literal["semantic", "full_text", "hybrid"]
TaskState = Literal["waiting", "parsing", "splitting", "indexing", "completed", "error", "cancelled"]
ACTIVE_STATES = ("waiting", "parsing", "splitting", "indexing")
FINAL_STATES = ("completed", "error", "cancelled")


class ChunkConfig(BaseModel):
    """How documents are cleaned and split (a knowledge base's default, or one document's)."""

    model_config = ConfigDict(extra="forbid")
    method: str = "general"
    chunk_size: int = Field(512, ge=16, le=8192)
    chunk_overlap: int = Field(64, ge=0)
    separators: list[str] = Field(default_factory=list)
    preprocess: list[str] = Field(default_factory=list)
    keywords_per_chunk: int = Field(5, ge=0, le=30)

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str) -> str:
        if v not in SPLIT_METHODS:
            raise ValueError(f"unknown chunk method '{v}' (valid: {', '.join(SPLIT_METHODS)})")
        return v

    @field_validator("separators")
    @classmethod
    def _valid_regexes(cls, v: list[str]) -> list[str]:
        for sep in v:
            try:
                re.compile(sep)
            except re.error as exc:
                raise ValueError(f"separator {sep!r} is not a valid regular expression: {exc}") from exc
        return v

    @field_validator("preprocess")
    @classmethod
    def _known_rules(cls, v: list[str]) -> list[str]:
        for rule in v:
            if rule not in PREPROCESS_RULES:
                raise ValueError(f"unknown pre-process rule '{rule}' (valid: {', '.join(PREPROCESS_RULES)})")
        return v

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    def split_config(self) -> SplitConfig:
        return SplitConfig(
            method=self.method, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap,
            separators=list(self.separators),
        )


class RetrievalConfig(BaseModel):
    """How a knowledge base is searched; its defaults are every search's defaults (core/calibration.py)."""

    model_config = ConfigDict(extra="forbid")
    mode: SearchMode = "hybrid"
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=100)
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    vector_weight: float = Field(DEFAULT_VECTOR_WEIGHT, ge=0.0, le=1.0)
    rerank_model: str = ""
    # Cross-language search (core/query_expansion.py; needs a chat model): [] none, ["auto"] the languages of
    # the chunks, or language codes; `model_keywords` adds keywords the model extracts from the question.
    query_languages: list[str] = Field(default_factory=list)
    model_keywords: bool = False

    @field_validator("query_languages", mode="before")
    @classmethod
    def _known_languages(cls, v: Any) -> list[str]:
        return parse_languages(v)


class TaskInfo(BaseModel):
    id: str
    doc_id: str
    batch_id: str
    state: TaskState
    progress: float
    message: str
    error: str
    created_at: datetime
    parsing_at: datetime | None = None
    splitting_at: datetime | None = None
    indexing_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None  # the task's last change (stage, progress or heartbeat)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


class IngestionTask(TaskInfo):
    """A task with what it works on, for callers that list and inspect tasks."""

    kb_id: str
    document_name: str
    source_type: str  # local | url
    source_url: str
    size: int
    chunk_count: int


class KnowledgeBaseInfo(BaseModel):
    id: str
    tenant_id: str
    name: str
    description: str
    icon: str
    language: str
    permission: str
    embedding_model: str
    embedding_dim: int | None
    chunk_config: ChunkConfig
    retrieval_config: RetrievalConfig
    extra: dict[str, Any]
    document_count: int = 0
    assistant_count: int = 0  # assistants and agents whose draft uses it
    chunk_count: int = 0
    token_count: int = 0
    char_count: int = 0
    size: int = 0  # bytes of its documents' original files
    hit_count: int = 0
    created_at: datetime
    updated_at: datetime


class DocumentInfo(BaseModel):
    id: str
    tenant_id: str
    kb_id: str
    name: str
    kind: str
    size: int
    source_type: str
    source_url: str
    chunk_config: ChunkConfig | None
    enabled: bool
    meta: dict[str, Any]
    chunk_count: int
    token_count: int
    char_count: int
    hit_count: int
    created_at: datetime
    updated_at: datetime
    task: TaskInfo | None = None
    file_id: str | None = None  # its original in upload_files
    disabled_at: datetime | None = None  # when it was last turned off
    position: int = 0  # 1-based place in its knowledge base, oldest first (list / get / batch fill it in)
    embedded_count: int | None = None  # chunks with their vectors stored (batch fills it in)
    extra: dict[str, Any] = Field(default_factory=dict)  # a dialect's own settings, kept verbatim

    @property
    def status(self) -> str:
        """`unstart` until parsing is requested, then the latest task's state."""
        return self.task.state if self.task else "unstart"


class ChunkInfo(BaseModel):
    id: str
    kb_id: str
    doc_id: str
    document_name: str = ""
    position: int
    content: str
    keywords: list[str]
    questions: list[str]
    meta: dict[str, Any]
    token_count: int
    char_count: int
    enabled: bool
    embedded: bool
    hit_count: int
    created_at: datetime
    updated_at: datetime
    content_hash: str = ""
    disabled_at: datetime | None = None  # when it was last turned off
    document_kind: str = ""  # the detected type of its document (md, pdf ...)


class SearchHit(BaseModel):
    chunk_id: str
    kb_id: str
    doc_id: str
    document_name: str
    position: int
    content: str
    keywords: list[str]
    meta: dict[str, Any]
    score: float
    vector_score: float | None = None
    text_score: float | None = None


class QueryLogEntry(BaseModel):
    id: str
    kb_id: str | None
    query: str
    mode: str
    source: str
    top_k: int
    result_count: int
    elapsed_ms: float
    created_at: datetime


class Page(BaseModel):
    """One page of a list, with the total across pages."""

    items: list[Any]
    total: int
    page: int
    page_size: int
