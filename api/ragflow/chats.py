"""RAGFlow chat assistants = Almanac assistants (kind chat): create, update, delete, list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import MAX_PAGE_SIZE
from api.ragflow.bulk import BulkIds, Outcome, RagflowPage, RagflowPageSize
from api.ragflow.errors import AUTH, DialectError, RagflowRoute, data_error
from api.ragflow.views import http_date, ms, ok, order_field
from core.assistants import AssistantInfo
from core.container import Services
from core.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: chat assistants"], route_class=RagflowRoute)
LLM_KEYS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens")
PROMPT_KEYS = ("similarity_threshold", "keywords_similarity_weight", "top_n", "top_k", "variables", "rerank_model",
               "empty_response", "opener", "show_quote")
# RAGFlow's defaults for a chat created through its API (Almanac's own differ in wording).
RAGFLOW_SYSTEM = (
    "You are an intelligent assistant. Please summarize the content of the knowledge base to answer the question. "
    "Please list the data in the knowledge base and answer in detail. When all knowledge base content is irrelevant "
    "to the question, your answer must include the sentence \"The answer you are looking for is not found in the "
    "knowledge base!\" Answers need to consider chat history.\n      Here is the knowledge base:\n      {knowledge}\n"
    "      The above is the knowledge base.")
RAGFLOW_OPENER = "Hi! I'm your assistant. What can I do for you?"


class ChatLLM(BaseModel):
    model_config = ConfigDict(extra="ignore")  # RAGFlow clients also send e.g. *Enabled switches
    model_name: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_tokens: int | None = None
    max_token: int | None = Field(None, ge=0)  # the spelling RAGFlow's tests use; 0 = the model decides


class ChatPrompt(BaseModel):
    model_config = ConfigDict(extra="ignore")
    similarity_threshold: float | None = None
    keywords_similarity_weight: float | None = None
    top_n: int | None = None
    top_k: int | None = None
    variables: list[dict[str, Any]] | None = None
    rerank_model: str | None = None
    empty_response: str | None = None
    opener: str | None = None
    show_quote: bool | None = None
    prompt: str | None = None


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    avatar: str | None = None
    description: str | None = None
    dataset_ids: list[str] | None = None
    llm: ChatLLM | None = None
    prompt: ChatPrompt | None = None
    top_k: int | None = Field(None, ge=1)
    # Almanac's public chat page (/chat/<id>): off until shared; require_token turns on a new random token.
    shared: bool | None = None
    require_token: bool | None = None


def llm_settings(svc: Services, tenant_id: str, llm: ChatLLM | None) -> dict[str, Any] | None:
    """RAGFlow's llm object as core LLM settings; model_name is one of the tenant's LLM configs (id or name)."""
    if llm is None:
        return None
    out = {k: getattr(llm, k) for k in LLM_KEYS if getattr(llm, k) is not None}
    if "max_token" in llm.model_fields_set:
        out["max_tokens"] = llm.max_token or None
    if llm.model_name:
        models = svc.models.list(tenant_id, "llm")
        match = next((m for m in models if llm.model_name in (m.id, m.name, m.model)), None)
        if match is None:
            raise data_error(f"`model_name` {llm.model_name} doesn't exist")
        out["model_id"] = match.id
    return out


def prompt_settings(prompt: ChatPrompt | None, top_k: int | None, base: dict[str, Any] | None = None
                    ) -> dict[str, Any] | None:
    """The given prompt settings over `base`; RAGFlow's check that each required variable is in the prompt."""
    out = {k: getattr(prompt, k) for k in PROMPT_KEYS if prompt is not None and getattr(prompt, k) is not None}
    if prompt is not None and prompt.prompt:
        out["system"] = prompt.prompt
    if top_k is not None:
        out["top_k"] = top_k
    merged = {**(base or {}), **out} if prompt is not None else {}
    for variable in merged.get("variables", []):
        if isinstance(variable, dict) and not variable.get("optional") and \
                "{%s}" % variable.get("key") not in merged.get("system", ""):
            raise data_error(f"Parameter '{variable.get('key')}' is not used")
    return out or None


def model_name(svc: Services, a: AssistantInfo) -> str | None:
    if not a.llm.model_id:
        default = svc.models.default(a.tenant_id, "llm")
        return default.name if default else None
    try:
        return svc.models.get(a.tenant_id, a.llm.model_id).name
    except NotFound:
        return None


def chat_view(svc: Services, a: AssistantInfo) -> dict[str, Any]:
    p = a.prompt
    return {
        "id": a.id, "name": a.name, "avatar": a.avatar, "description": a.description or "A helpful Assistant",
        "dataset_ids": list(a.kb_ids), "language": "English", "do_refer": "1" if p.show_quote else "0",
        "llm": {"model_name": model_name(svc, a), **{k: getattr(a.llm, k) for k in LLM_KEYS},
                "max_token": a.llm.max_tokens or 0},
        "prompt": {**{k: getattr(p, k) for k in PROMPT_KEYS}, "prompt": p.system},
        "prompt_type": "simple", "status": "1", "tenant_id": a.tenant_id, "top_k": p.top_k,
        "shared": a.shared, "access_token": a.access_token,
        "create_time": ms(a.created_at), "create_date": http_date(a.created_at),
        "update_time": ms(a.updated_at), "update_date": http_date(a.updated_at),
    }


def check_datasets(svc: Services, tenant_id: str, ids: list[str] | None) -> None:
    """The chat's datasets: the caller's, each with parsed content, all with one embedding model."""
    models = set()
    for kb_id in ids or []:
        try:
            kb = svc.knowledge.get(tenant_id, kb_id)
        except NotFound:
            raise data_error(f"You don't own the dataset {kb_id}") from None
        if not kb.chunk_count:
            raise data_error(f"The dataset {kb_id} doesn't own parsed file")
        models.add(kb.embedding_model)
    if len(models) > 1:
        raise DialectError(AUTH, 'Datasets use different embedding models."')  # RAGFlow's code and wording


@router.post("/chats", summary="Create a chat assistant")
def create_chat(svc: ServicesDep, who: PrincipalDep, body: ChatBody) -> dict:
    if not (body.name or "").strip():
        raise data_error("`name` is required.")
    check_datasets(svc, who.tenant_id, body.dataset_ids)
    defaults = {"system": RAGFLOW_SYSTEM, "opener": RAGFLOW_OPENER,
                "variables": [{"key": "knowledge", "optional": False}]}
    prompt = {**defaults, **(prompt_settings(body.prompt, body.top_k, base=defaults) or {})}
    try:
        a = svc.assistants.create(who.tenant_id, body.name, kind="chat", avatar=body.avatar or "",
                                  description=body.description or "", kb_ids=body.dataset_ids or [],
                                  llm=llm_settings(svc, who.tenant_id, body.llm), prompt=prompt)
    except Conflict:
        raise data_error("Duplicated chat name in creating chat.") from None
    if body.shared is not None or body.require_token is not None:
        a = svc.assistants.set_access(who.tenant_id, a.id, shared=body.shared, require_token=body.require_token)
    return ok(chat_view(svc, a))


@router.put("/chats/{chat_id}", summary="Update a chat assistant")
def update_chat(svc: ServicesDep, who: PrincipalDep, chat_id: str, body: ChatBody) -> dict:
    try:
        current = svc.assistants.get(who.tenant_id, chat_id, kind="chat")
    except NotFound:
        raise data_error("You do not own the chat") from None
    if body.name is not None and not body.name.strip():
        raise data_error("`name` cannot be empty.")
    check_datasets(svc, who.tenant_id, body.dataset_ids)
    changes = {"name": body.name, "avatar": body.avatar, "description": body.description,
               "kb_ids": body.dataset_ids, "llm": llm_settings(svc, who.tenant_id, body.llm),
               "prompt": prompt_settings(body.prompt, body.top_k, base=current.prompt.model_dump())}
    try:
        svc.assistants.update(who.tenant_id, chat_id, **{k: v for k, v in changes.items() if v is not None})
    except Conflict:
        raise data_error("Duplicated chat name in updating chat.") from None
    if body.shared is not None or body.require_token is not None:
        svc.assistants.set_access(who.tenant_id, chat_id, shared=body.shared, require_token=body.require_token)
    return ok()


@router.delete("/chats", summary="Delete chat assistants (all of the caller's when `ids` is empty)")
def delete_chats(svc: ServicesDep, who: PrincipalDep, body: BulkIds | None = None) -> dict:
    mine = {a.id: a for a in svc.assistants.list(who.tenant_id, kind="chat", page_size=MAX_PAGE_SIZE).items}
    outcome = Outcome.of(body.ids if body and body.ids else list(mine), mine, "assistant")
    for chat_id in outcome.found:
        svc.assistants.delete(who.tenant_id, chat_id)
    if outcome.missing:
        return outcome.answer("Partially deleted {n} chats with {e} errors",
                              [f"Assistant({i}) not found." for i in outcome.missing], joiner="; ")
    return outcome.answer("Partially deleted {n} chats with {e} errors")


@router.get("/chats", summary="List chat assistants")
def list_chats(svc: ServicesDep, who: PrincipalDep, page: RagflowPage = 1, page_size: RagflowPageSize = 30,
               orderby: str = "create_time", desc: bool = True, name: str | None = None,
               id: str | None = None) -> dict:
    found = svc.assistants.list(who.tenant_id, kind="chat", name=name or "", assistant_id=id or "",
                                page=max(page, 1), page_size=page_size or 1, order_by=order_field(orderby), desc=desc)
    if (id or name) and not found.total:
        raise data_error("The chat doesn't exist")
    return ok([chat_view(svc, a) for a in found.items] if page_size else [])
