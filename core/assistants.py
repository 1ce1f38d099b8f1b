"""Assistants: a name, knowledge bases, LLM settings, prompt settings, a session strategy and tools.

One entity serves chat assistants and agents (`kind = agent`: tools, a function-calling loop).
Defaults follow RAGFlow's chat assistant (llm and prompt) and WeKnora's session strategy.

Drafts: the columns hold the draft. An agent's `published` snapshot is what API sessions and the
public page run; debug sessions run the draft. A chat assistant is live: its draft is its
published configuration (as in RAGFlow, an edit applies at once).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.calibration import DEFAULT_THRESHOLD, DEFAULT_TOP_K, DEFAULT_VECTOR_WEIGHT
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.languages import parse_languages
from core.providers.llm import ChatParams
from core.schemas import Page
from core.scope import check_paging, load_kb, load_owned, parse_config
from storage.db import Database
from storage.orm import Assistant, utcnow

KINDS = ("chat", "agent")
UPDATABLE = {"name", "avatar", "description", "kb_ids", "llm", "prompt", "strategy", "tools", "extra"}
SNAPSHOT = ("kb_ids", "llm", "prompt", "strategy", "tools", "extra")  # what publishing freezes

DEFAULT_SYSTEM = (
    "You are an intelligent assistant. Please summarize the content of the knowledge base to answer the "
    "question. Please list the data in the knowledge base and answer in detail. When all knowledge base "
    "content is irrelevant to the question, your answer must include the sentence \"The answer you are "
    "looking for is not found in the knowledge base!\" Answers need to consider chat history.\n"
    "Here is the knowledge base:\n{knowledge}\nThe above is the knowledge base."
)
DEFAULT_AGENT_SYSTEM = (
    "You are a helpful assistant. Use the tools you are given when they help you answer: search the "
    "knowledge bases for facts about the user's documents, and use other tools for calculations, the "
    "current time or the web. Answer in the user's language, briefly and accurately."
)
DEFAULT_OPENER = "Hi! I'm your assistant, what can I do for you?"
DEFAULT_EMPTY_RESPONSE = "Sorry! No relevant content was found in the knowledge base!"
RERANK_POOL = 64  # candidates a reranker sees at most: it costs per passage


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_id: str = ""  # a saved LLM config of the tenant; "" = the tenant's default LLM
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    top_p: float = Field(0.3, ge=0.0, le=1.0)
    presence_penalty: float = Field(0.4, ge=-2.0, le=2.0)
    frequency_penalty: float = Field(0.7, ge=-2.0, le=2.0)
    max_tokens: int | None = Field(512, ge=1, le=200_000)  # None: the model decides
    # Not in RAGFlow's spec: the prompt (knowledge + history) is fitted into this many tokens.
    context_window: int = Field(8192, ge=1024, le=2_000_000)

    def chat_params(self) -> ChatParams:
        return ChatParams(temperature=self.temperature, top_p=self.top_p, presence_penalty=self.presence_penalty,
                          frequency_penalty=self.frequency_penalty, max_tokens=self.max_tokens)


class PromptSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = DEFAULT_SYSTEM  # RAGFlow's `prompt`; {knowledge} is replaced by the numbered passages
    # The same defaults as knowledge bases and Hit testing (core/calibration.py); vector weight = 1 - keywords'.
    similarity_threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    search_mode: Literal["semantic", "full_text", "hybrid"] = "hybrid"
    keywords_similarity_weight: float = Field(round(1 - DEFAULT_VECTOR_WEIGHT, 4), ge=0.0, le=1.0)
    top_n: int = Field(6, ge=0, le=100)  # passages given to the model (0: none, as RAGFlow allows)
    top_k: int = Field(1024, ge=1, le=10_000)  # candidate pool for the reranker
    rerank_model: str = ""  # "" = the knowledge base's setting
    # Cross-language search (core/query_expansion.py): None = the knowledge bases' settings.
    query_languages: list[str] | None = None  # ["auto"], language codes, or [] for none
    model_keywords: bool | None = None
    variables: list[dict[str, Any]] = Field(default_factory=lambda: [{"key": "knowledge", "optional": False}])
    empty_response: str = DEFAULT_EMPTY_RESPONSE  # "" = let the model answer without knowledge
    opener: str = DEFAULT_OPENER
    show_quote: bool = True

    @field_validator("system")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the system prompt must not be empty")
        return v

    @field_validator("query_languages", mode="before")
    @classmethod
    def _known_languages(cls, v: Any) -> list[str] | None:
        return None if v is None else parse_languages(v)

    def search_options(self) -> dict[str, Any]:
        """RetrievalService.search arguments of a chat with these settings (Hit testing "as this assistant" too);
        the first `top_n` hits are the passages."""
        pool = min(self.top_k, max(self.top_n, RERANK_POOL)) if self.rerank_model else self.top_n
        return {"mode": self.search_mode, "top_k": min(max(pool, 1), 1000), "threshold": self.similarity_threshold,
                "vector_weight": round(1 - self.keywords_similarity_weight, 4),
                "rerank_model": self.rerank_model or None}


class StrategySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_rounds: int = Field(5, ge=0, le=100)  # earlier question/answer pairs sent with a question
    query_rewrite: bool = False  # rewrite follow-ups into standalone search queries (needs an LLM)
    # When nothing is retrieved and there is no empty_response: a fixed answer, or the model alone.
    fallback_strategy: Literal["fixed_response", "model"] = "fixed_response"
    fallback_response: str = ""
    # Agents (LLMOps memory_mode; the tool loop's limits).
    memory_mode: Literal["none", "long_term_memory"] = "none"  # long-term: a summary the LLM keeps per session
    max_steps: int = Field(6, ge=1, le=20)  # model turns that may call tools before it must answer
    tool_timeout: float = Field(30.0, ge=1.0, le=300.0)  # seconds one tool call may take
    tool_mode: Literal["auto", "function_calling", "react"] = "auto"  # auto: native calls, ReAct if unsupported


class AssistantInfo(BaseModel):
    id: str
    tenant_id: str
    kind: str
    name: str
    avatar: str
    description: str
    kb_ids: list[str]
    llm: LLMSettings
    prompt: PromptSettings
    strategy: StrategySettings
    tools: list[dict[str, Any]]  # ToolRef dumps (core/tools/base.py)
    extra: dict[str, Any]  # dialect settings kept verbatim, by dialect ({"llmops": {...}})
    published: dict[str, Any] | None  # the snapshot sessions run (kb_ids, llm, prompt, strategy, tools, extra)
    published_at: datetime | None
    draft_changed: bool  # the draft differs from what is published
    shared: bool  # the public chat page serves it (off until its owner shares it)
    access_token: str  # "" = the public chat page is open to anyone with the link
    created_at: datetime
    updated_at: datetime


class ChatSettings(BaseModel):
    """What an answer runs with: an assistant's settings, or the defaults for a quick chat."""

    kind: str = "chat"
    llm: LLMSettings = Field(default_factory=LLMSettings)
    prompt: PromptSettings = Field(default_factory=PromptSettings)
    strategy: StrategySettings = Field(default_factory=StrategySettings)
    tools: list[dict[str, Any]] = Field(default_factory=list)

    def search_options(self) -> tuple[dict[str, Any], int]:
        """How this assistant searches its knowledge bases: (RetrievalService.search arguments, passages kept).
        An agent searches as its kb_search tool does (its settings, the knowledge bases' semantic weight)."""
        if self.kind != "agent":
            return self.prompt.search_options(), self.prompt.top_n
        params = next((t.get("params") or {} for t in self.tools
                       if t.get("provider") == "knowledge" and t.get("tool") == "kb_search"), {})
        top_n = int(params.get("top_n", DEFAULT_TOP_K))
        return {"mode": str(params.get("mode") or "hybrid"), "top_k": top_n,
                "threshold": float(params.get("similarity_threshold", DEFAULT_THRESHOLD))}, top_n


def draft_of(a: Assistant) -> dict[str, Any]:
    return {"kb_ids": list(a.kb_ids or []), "llm": dict(a.llm or {}), "prompt": dict(a.prompt or {}),
            "strategy": dict(a.strategy or {}), "tools": list(a.tools or []), "extra": dict(a.extra or {})}


def published_of(a: Assistant) -> dict[str, Any] | None:
    """What sessions outside debugging run: a chat assistant is live; an agent runs its last publication."""
    if a.kind == "chat":
        return draft_of(a)
    return {"extra": {}, **a.published} if a.published is not None else None  # snapshots before `extra` had none


def run_config(a: Assistant, channel: str) -> dict[str, Any]:
    """The configuration a session on `channel` (published | debug) runs; Conflict for an unpublished agent."""
    config = draft_of(a) if channel == "debug" else published_of(a)
    if config is None:
        raise Conflict(f"Agent '{a.name}' is not published yet: publish it, or try it in its debug chat")
    return config


def _publish(a: Assistant) -> None:
    if a.kind == "agent":
        a.published, a.published_at = draft_of(a), utcnow()


def assistant_info(a: Assistant) -> AssistantInfo:
    published = published_of(a)
    return AssistantInfo(
        id=a.id, tenant_id=a.tenant_id, kind=a.kind, name=a.name, avatar=a.avatar, description=a.description,
        kb_ids=list(a.kb_ids or []), llm=LLMSettings.model_validate(a.llm or {}),
        prompt=PromptSettings.model_validate(a.prompt or {}),
        strategy=StrategySettings.model_validate(a.strategy or {}), tools=list(a.tools or []),
        extra=dict(a.extra or {}), published=published,
        published_at=a.published_at if a.kind == "agent" else a.updated_at,
        draft_changed=published != draft_of(a), shared=bool(a.shared), access_token=a.access_token or "",
        created_at=a.created_at, updated_at=a.updated_at,
    )


def load_assistant(s: Session, tenant_id: str, assistant_id: str, kind: str | None = None) -> Assistant:
    """The tenant's assistant; with `kind`, only one of that kind (NotFound's kind is then `chat` or `agent`)."""
    try:
        return load_owned(s, Assistant, assistant_id, tenant_id, "Assistant", kind=kind)
    except NotFound:
        if kind:
            raise NotFound(f"{kind.capitalize()} '{assistant_id}' not found", kind=kind, ident=assistant_id) from None
        raise


class AssistantService:
    def __init__(self, db: Database, models: Any = None, tools: Any = None):
        self.db = db
        self.models = models  # ModelService: checks that llm.model_id is the tenant's LLM
        self.tools = tools  # ToolService: checks an agent's tool refs

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _check_name(s: Session, tenant_id: str, kind: str, name: str, exclude_id: str | None = None) -> str:
        name = (name or "").replace("\x00", "").strip()
        if not name:
            raise InvalidInput("Assistant name must not be empty")
        if len(name) > 255:
            raise InvalidInput("Assistant name is longer than 255 characters")
        q = select(Assistant.id, Assistant.name).where(Assistant.tenant_id == tenant_id, Assistant.kind == kind)
        if any(row.name.casefold() == name.casefold() and row.id != exclude_id for row in s.execute(q)):
            raise Conflict(f"An assistant named '{name}' already exists")
        return name

    @staticmethod
    def _check_kbs(s: Session, tenant_id: str, kb_ids: Any) -> list[str]:
        if kb_ids is None:
            return []
        if isinstance(kb_ids, str) or not all(isinstance(k, str) for k in kb_ids):
            raise InvalidInput("kb_ids must be a list of knowledge base ids")
        kb_ids = list(dict.fromkeys(kb_ids))
        for kb_id in kb_ids:
            load_kb(s, tenant_id, kb_id)  # NotFound for another tenant's id too
        return kb_ids

    def _check_llm(self, tenant_id: str, llm: LLMSettings) -> None:
        if llm.model_id and self.models is not None:
            model = self.models.get(tenant_id, llm.model_id)  # NotFound when not the tenant's
            if model.type != "llm":
                raise InvalidInput(f"Model '{model.name}' is a {model.type} model, not an LLM")

    def _check_tools(self, tenant_id: str, tools: Any) -> list[dict[str, Any]]:
        if not tools:
            return []
        if isinstance(tools, (str, dict)) or not isinstance(tools, list):
            raise InvalidInput("tools must be a list of tools")
        if self.tools is None:
            raise InvalidInput("Tools are not available in this process")
        return [ref.model_dump() for ref in self.tools.check_refs(tenant_id, tools)]

    # ------------------------------------------------------------------ CRUD
    def create(self, tenant_id: str, name: str, *, kind: str = "chat", avatar: str = "", description: str = "",
               kb_ids: list[str] | None = None, llm: dict | None = None, prompt: dict | None = None,
               strategy: dict | None = None, tools: list[str] | None = None,
               extra: dict | None = None, publish: bool = False) -> AssistantInfo:
        """A new assistant; `publish` also publishes an agent at once (a live agent, as AgentChat's are)."""
        if kind not in KINDS:
            raise InvalidInput(f"Unknown assistant kind '{kind}' (valid: {', '.join(KINDS)})")
        llm_s = parse_config(LLMSettings, llm)
        if kind == "agent" and not (prompt or {}).get("system"):
            prompt = {**(prompt or {}), "system": DEFAULT_AGENT_SYSTEM}
        prompt_s = parse_config(PromptSettings, prompt)
        strategy_s = parse_config(StrategySettings, strategy)
        self._check_llm(tenant_id, llm_s)
        with self.db.session() as s:
            a = Assistant(tenant_id=tenant_id, kind=kind, name=self._check_name(s, tenant_id, kind, name),
                          avatar=avatar or "", description=description or "",
                          kb_ids=self._check_kbs(s, tenant_id, kb_ids), llm=llm_s.model_dump(),
                          prompt=prompt_s.model_dump(), strategy=strategy_s.model_dump(),
                          tools=self._check_tools(tenant_id, tools), extra=_check_extra(extra, {}))
            if publish:
                _publish(a)
            s.add(a)
            s.flush()
            return assistant_info(a)

    def get(self, tenant_id: str, assistant_id: str, *, kind: str | None = None) -> AssistantInfo:
        with self.db.session() as s:
            return assistant_info(load_assistant(s, tenant_id, assistant_id, kind))

    def find(self, tenant_id: str, name_or_id: str, kind: str | None = None) -> AssistantInfo | None:
        """By id, else by name (case-insensitive); None when neither matches."""
        with self.db.session() as s:
            a = s.get(Assistant, name_or_id)
            if a is not None and a.tenant_id == tenant_id and (kind is None or a.kind == kind):
                return assistant_info(a)
            q = select(Assistant).where(Assistant.tenant_id == tenant_id)
            if kind:
                q = q.where(Assistant.kind == kind)
            for a in s.scalars(q.order_by(Assistant.created_at)):
                if a.name.casefold() == name_or_id.strip().casefold():
                    return assistant_info(a)
        return None

    def list(self, tenant_id: str, *, kind: str | None = None, name: str = "", assistant_id: str = "",
             search: str = "", page: int = 1, page_size: int = 30, order_by: str = "created_at",
             desc: bool = True) -> Page:
        """`name` matches a whole name, `search` a part of it (both case-insensitively)."""
        check_paging(page, page_size)
        if order_by not in ("created_at", "updated_at", "name"):
            raise InvalidInput("order_by must be one of: created_at, updated_at, name")
        q = select(Assistant).where(Assistant.tenant_id == tenant_id)
        if kind:
            q = q.where(Assistant.kind == kind)
        if assistant_id:
            q = q.where(Assistant.id == assistant_id)
        if name:
            q = q.where(func.lower(Assistant.name) == name.strip().lower())
        if search.strip():
            q = q.where(func.lower(Assistant.name).contains(search.strip().lower(), autoescape=True))
        col = getattr(Assistant, order_by)
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(col.desc() if desc else col.asc(), Assistant.id)
                             .offset((page - 1) * page_size).limit(page_size)).all()
            return Page(items=[assistant_info(a) for a in rows], total=total, page=page, page_size=page_size)

    def update(self, tenant_id: str, assistant_id: str, *, publish: bool = False, **changes: Any) -> AssistantInfo:
        """llm / prompt / strategy are merged into the stored settings (omitted keys keep their value); so is
        `extra`, by dialect (a dialect's entry is replaced whole). `publish` also publishes an agent's new draft."""
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise InvalidInput(f"Cannot update: {', '.join(sorted(unknown))}")
        with self.db.session() as s:
            a = load_assistant(s, tenant_id, assistant_id)
            if "name" in changes:
                a.name = self._check_name(s, tenant_id, a.kind, changes.pop("name"), exclude_id=a.id)
            if "kb_ids" in changes:
                a.kb_ids = self._check_kbs(s, tenant_id, changes.pop("kb_ids"))
            if "tools" in changes:
                a.tools = self._check_tools(tenant_id, changes.pop("tools"))
            if "extra" in changes:
                a.extra = _check_extra(changes.pop("extra"), a.extra or {})
            for field, model in (("llm", LLMSettings), ("prompt", PromptSettings), ("strategy", StrategySettings)):
                if field in changes:
                    merged = parse_config(model, {**(getattr(a, field) or {}), **(changes.pop(field) or {})})
                    if field == "llm":
                        self._check_llm(tenant_id, merged)
                    setattr(a, field, merged.model_dump())
            for field, value in changes.items():  # avatar, description
                if value is not None:
                    setattr(a, field, str(value))
            if publish:
                _publish(a)
            s.flush()
            return assistant_info(a)

    # ------------------------------------------------------------------ publishing
    def publish(self, tenant_id: str, assistant_id: str) -> AssistantInfo:
        """Freeze the draft: API sessions and the public page run this until the next publish."""
        with self.db.session() as s:
            a = load_assistant(s, tenant_id, assistant_id)
            _publish(a)
            s.flush()
            return assistant_info(a)

    def unpublish(self, tenant_id: str, assistant_id: str) -> AssistantInfo:
        with self.db.session() as s:
            a = load_assistant(s, tenant_id, assistant_id)
            if a.kind != "agent":
                raise InvalidInput("A chat assistant is always live; only agents can be unpublished")
            a.published, a.published_at = None, None
            s.flush()
            return assistant_info(a)

    def set_access(self, tenant_id: str, assistant_id: str, *, shared: bool | None = None,
                   require_token: bool | None = None) -> AssistantInfo:
        """Share it on the public chat page or make it private; require a token there (a new random one each
        time it is turned on) or not. None keeps the current setting."""
        with self.db.session() as s:
            a = load_assistant(s, tenant_id, assistant_id)
            if shared is not None:
                a.shared = bool(shared)
            if require_token is not None:
                a.access_token = secrets.token_urlsafe(18) if require_token else ""
            s.flush()
            return assistant_info(a)

    def get_public(self, assistant_id: str, token: str = "") -> AssistantInfo:
        """An assistant the public chat page may serve (any tenant's): NotFound unless it is shared and runs
        published, Forbidden when it requires a token and `token` is not it."""
        with self.db.session() as s:
            a = s.get(Assistant, assistant_id or "")
            if a is None or not a.shared or published_of(a) is None:
                raise NotFound("This assistant is not available")
            info = assistant_info(a)
        # Compared in constant time: the token is the only secret of a restricted page.
        if info.access_token and not hmac.compare_digest((token or "").encode(), info.access_token.encode()):
            raise Forbidden("This chat needs a valid access link")
        return info

    def delete(self, tenant_id: str, assistant_id: str, *, kind: str | None = None) -> None:
        """Its conversations and messages go with it (database cascade); with `kind`, only one of that kind."""
        with self.db.session() as s:
            s.delete(load_assistant(s, tenant_id, assistant_id, kind))


def _check_extra(extra: Any, current: dict[str, Any]) -> dict[str, Any]:
    if extra is None:
        return dict(current)
    if not isinstance(extra, dict) or not all(isinstance(v, dict) for v in extra.values()):
        raise InvalidInput("extra must map each dialect to an object of its settings")
    return {**current, **extra}
