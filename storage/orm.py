"""Tables (SQLAlchemy 2.0 typed ORM). Every row a caller can reach carries its tenant_id.

The schema itself is created by Alembic (storage/migrations); keep the two in step.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, event, \
    false, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Naive UTC: SQLite drops the zone anyway, so every backend stores the same thing."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (Index("uq_tenants_number", "number", unique=True),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # A stable integer id beside the string one (WeKnora's clients type tenant_id as uint); the default tenant is 1.
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    # The tenant's own settings: the workspace configuration document and its default agent (core/workspace.py).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Counter(Base):
    """Named counters that only go up: a deleted tenant's number is never given to another tenant."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex; the key itself is never stored
    key_prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so users can tell keys apart
    key_sealed: Mapped[str] = mapped_column(Text, default="")  # the key encrypted (core/secrets.py): shown again
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class User(Base):
    """Someone who signs in (UI, AgentChat API, any dialect with a token); works in one workspace (tenant)."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64), unique=True)  # casefolded: one "Alice" only
    email: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(128))  # bcrypt; the password itself is never stored
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)  # older access tokens stop working
    avatar: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(16), default="member")  # owner (made the workspace) | member
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class RevokedToken(Base):
    """Access tokens signed out before they expire (by their `jti`); rows can go once the token has expired."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class LoginFailure(Base):
    """One failed sign-in, counted per user name and per address to slow down password guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_time", "key", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(128))  # "name:<casefolded name>" | "addr:<client address>"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class KnowledgeBase(Base):
    __tablename__ = "knowledge_bases"
    __table_args__ = (Index("uq_kb_tenant_name", "tenant_id", "name_key", unique=True),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255))  # casefolded name: uniqueness is case-insensitive
    description: Mapped[str] = mapped_column(Text, default="")
    icon: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(32), default="English")
    permission: Mapped[str] = mapped_column(String(16), default="me")
    embedding_model: Mapped[str] = mapped_column(String(255))
    embedding_dim: Mapped[int | None] = mapped_column(Integer)
    chunk_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    retrieval_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # dialect-specific settings kept verbatim
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by database triggers (migration 0005) when its chunks' searchable text changes.
    chunks_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class GlossaryTerm(Base):
    """A term and its counterpart in another language (租户 <-> tenant): a search for either also looks for the
    other (core/glossary.py). The keys are the normalised texts, so a pair is stored once whatever its case."""

    __tablename__ = "glossary_terms"
    __table_args__ = (Index("uq_glossary_pair", "kb_id", "term_key", "translation_key", unique=True),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(255))
    translation: Mapped[str] = mapped_column(String(255))
    term_key: Mapped[str] = mapped_column(String(255))
    translation_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UploadFile(Base):
    """A stored file: a document's original, or an upload kept for later use (core/files.py)."""

    __tablename__ = "upload_files"
    __table_args__ = (Index("ix_upload_files_tenant_purpose", "tenant_id", "purpose", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(Integer)
    mime_type: Mapped[str] = mapped_column(String(128), default="application/octet-stream")
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))  # path relative to the blob store root
    # document: kept while a document uses it | file, image: an upload, kept until deleted (core/files.py)
    purpose: Mapped[str] = mapped_column(String(16), default="document", server_default="document")
    folder: Mapped[str] = mapped_column(String(255), default="")  # where an upload was filed (core/files.py)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[str | None] = mapped_column(ForeignKey("upload_files.id", ondelete="SET NULL"))
    task_id: Mapped[str | None] = mapped_column(String(32))  # the latest ingestion task
    name: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16), default="")  # detected type: pdf, md, docx ...
    size: Mapped[int] = mapped_column(Integer, default=0)
    source_type: Mapped[str] = mapped_column(String(16), default="local")  # local | url
    source_url: Mapped[str] = mapped_column(Text, default="")
    chunk_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # None: use the knowledge base's
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)  # when it was last turned off
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")  # dialect settings, verbatim
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    token_count: Mapped[int] = mapped_column(Integer, default=0)
    char_count: Mapped[int] = mapped_column(Integer, default=0)
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    task: Mapped[Task | None] = relationship(
        primaryjoin="Document.task_id == foreign(Task.id)", viewonly=True, lazy="selectin"
    )


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_doc_position", "doc_id", "position"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    search_text: Mapped[str] = mapped_column(Text, default="")  # analysed tokens for the keyword index
    keywords: Mapped[list[str]] = mapped_column(default=list)
    questions: Mapped[list[str]] = mapped_column(default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    token_count: Mapped[int] = mapped_column(Integer, default=0)
    char_count: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)  # when it was last turned off
    embedded: Mapped[bool] = mapped_column(Boolean, default=False)  # its vector is in the vector store
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_state", "state", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(128), default="")  # host:pid of the claiming worker
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # = entered `waiting`
    parsing_at: Mapped[datetime | None] = mapped_column(DateTime)
    splitting_at: Mapped[datetime | None] = mapped_column(DateTime)
    indexing_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class EmbeddingCache(Base):
    """Vectors by (model, text hash): identical text is embedded once per model."""

    __tablename__ = "embedding_cache"
    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class QueryLog(Base):
    __tablename__ = "query_log"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    kb_id: Mapped[str | None] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    query: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32), default="api")  # ui | cli | api | chat
    top_k: Mapped[int] = mapped_column(Integer, default=0)
    result_count: Mapped[int] = mapped_column(Integer, default=0)
    elapsed_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ModelConfig(Base):
    """A model the tenant can use: an LLM, embedding, rerank, speech-to-text or text-to-speech model."""

    __tablename__ = "model_configs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))  # llm | embedding | rerank | stt | tts
    provider: Mapped[str] = mapped_column(String(32))  # openai (any compatible service), mock, ...
    name: Mapped[str] = mapped_column(String(255))  # display name
    description: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(255))  # the provider's model name
    base_url: Mapped[str] = mapped_column(Text, default="")
    api_key: Mapped[str] = mapped_column(Text, default="")  # never returned in full
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)  # max_tokens, dimension, timeout ...
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="unknown")  # unknown | ok | error
    status_message: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Assistant(Base):
    """A chat assistant over knowledge bases; an agent is an assistant with tools (kind = agent)."""

    __tablename__ = "assistants"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="chat")  # chat | agent
    name: Mapped[str] = mapped_column(String(255))
    avatar: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    kb_ids: Mapped[list[str]] = mapped_column(default=list)
    llm: Mapped[dict[str, Any]] = mapped_column(default=dict)  # model_id, temperature, top_p, penalties, max_tokens
    prompt: Mapped[dict[str, Any]] = mapped_column(default=dict)  # system, retrieval knobs, opener, empty response
    strategy: Mapped[dict[str, Any]] = mapped_column(default=dict)  # max_rounds, query_rewrite, fallback
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # tool refs (core/tools/base.py)
    # Dialect settings the core has no concept for, kept verbatim per dialect ({"llmops": {...}}); part of the draft.
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # The columns above are the draft; this is the snapshot that API sessions and the public page run.
    published: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The public chat page serves only shared ones; access_token "" = open to anyone with the link.
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    access_token: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ToolProvider(Base):
    """A tenant's custom tools: an OpenAPI provider (kind api) or an MCP server (kind mcp)."""

    __tablename__ = "tool_providers"
    __table_args__ = (Index("ux_tool_providers_tenant_name", "tenant_id", "name", unique=True),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # api | mcp | builtin (a built-in's settings, core/tools/credentials)
    name: Mapped[str] = mapped_column(String(255))
    icon: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # api: {"openapi_schema": text}; mcp: {"transport": "http"|"stdio", "url", "command", "args", "env"}
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    headers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"key", "value"}]
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # ToolInfo dumps (MCP: last listing)
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | error (MCP: last connection)
    status_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("uq_conversations_number", "number", unique=True),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer)  # a stable integer id (Nexent's clients); given on insert
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    assistant_id: Mapped[str | None] = mapped_column(ForeignKey("assistants.id", ondelete="CASCADE"), index=True)
    kb_ids: Mapped[list[str]] = mapped_column(default=list)  # a quick chat with knowledge bases, no assistant
    title: Mapped[str] = mapped_column(String(255), default="")
    channel: Mapped[str] = mapped_column(String(16), default="published")  # published | debug (runs the draft)
    summary: Mapped[str] = mapped_column(Text, default="")  # long-term memory, kept by the LLM
    # A quick chat's own settings (ChatSettings sections llm / prompt / strategy, overriding the defaults).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # dialect-specific settings kept verbatim
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_time", "conversation_id", "created_at"),
                      Index("uq_messages_number", "number", unique=True))
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer)  # a stable integer id (Nexent's clients); given on insert
    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    content: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    mode: Mapped[str] = mapped_column(String(16), default="")  # llm | retrieval_only | empty
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    completed: Mapped[bool] = mapped_column(Boolean, default=True)
    error: Mapped[str] = mapped_column(Text, default="")
    feedback: Mapped[int] = mapped_column(Integer, default=0)  # 1 like, -1 dislike
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # agent steps
    # Files the question came with: [{"name", "file_id", "text", "size", "mime_type"}]; their text goes to the model with it.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)  # soft delete: kept, no longer shown or sent
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EvalSet(Base):
    """A question set: the bundled sample, an upload, or one generated from a knowledge base."""

    __tablename__ = "eval_sets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kb_id: Mapped[str | None] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="SET NULL"))  # written for
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | generated | sample
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class EvalQuestion(Base):
    __tablename__ = "eval_questions"
    __table_args__ = (Index("ix_eval_questions_set_position", "set_id", "position"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    set_id: Mapped[str] = mapped_column(ForeignKey("eval_sets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")  # the reference answer ("" = none)
    relevant_docs: Mapped[list[str]] = mapped_column(default=list)  # document names or ids
    relevant_text: Mapped[list[str]] = mapped_column(default=list)  # passages a relevant chunk contains


class EvalRun(Base):
    """One configuration run over a question set: a durable task like ingestion's (claimed, heartbeats, resumed)."""

    __tablename__ = "eval_runs"
    __table_args__ = (Index("ix_eval_runs_state", "state", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    set_id: Mapped[str] = mapped_column(ForeignKey("eval_sets.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[str] = mapped_column(String(32), index=True)  # runs started together are compared together
    label: Mapped[str] = mapped_column(String(255), default="")
    kb_ids: Mapped[list[str]] = mapped_column(default=list)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # RunConfig
    state: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting running completed error cancelled
    total: Mapped[int] = mapped_column(Integer, default=0)
    finished: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"retrieval": {...}, "generation": {...}}
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(128), default="")  # host:pid of the claiming worker
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class EvalResult(Base):
    """One question's outcome in a run; its presence is what a resumed run skips."""

    __tablename__ = "eval_results"
    __table_args__ = (Index("ux_eval_results_run_position", "run_id", "position", unique=True),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("eval_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    expected: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the judgement as run: answer, docs, passages
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # rank, chunk, document, text, relevant
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answer: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# Rows numbered from a counter (storage.orm.Counter) as they are inserted, whoever inserts them.
NUMBER_COUNTERS: dict[type[Base], str] = {Conversation: "conversation_number", Message: "message_number"}


def _number_row(_mapper, connection, target) -> None:  # noqa: ANN001 - SQLAlchemy's mapper event arguments
    """The next number of the row's counter, in the inserting transaction: the counter's row lock orders
    concurrent inserts, and a rolled-back insert gives its number back."""
    if target.number is None:
        counter = NUMBER_COUNTERS[type(target)]
        target.number = connection.execute(update(Counter).where(Counter.name == counter)
                                           .values(value=Counter.value + 1).returning(Counter.value)).scalar_one()


for _model in NUMBER_COUNTERS:
    event.listen(_model, "before_insert", _number_row)
