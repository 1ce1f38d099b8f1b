"""RAGFlow chat assistants = Almanac assistants (kind chat): create, update, delete, list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import PageParam, PageSizeParam
from api.ragflow.datasets import Ids, unique_ids
from api.ragflow.errors import RagflowRoute, data_error
from api.ragflow.views import http_date, ms, ok, order_field
from core.assistants import AssistantInfo
from core.container import Services
from core.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: chat assistants"], route_class=RagflowRoute)
LLM_KEYS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens")
PROMPT_KEYS = ("similarity_threshold", "keywords_similarity_weight", "top_n", "top_k", "variables", "rerank_model",
               "empty_response", "opener", "show_quote")


class ChatLLM(BaseModel):
    model_config = ConfigDict(extra="ignore")  # RAGFlow clients also send e.g. *Enabled switches
    model_name: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_tokens: int | None = None


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


def llm_settings(svc: Services, tenant_id: str, llm: ChatLLM | None) -> dict[str, Any] | None:
    """RAGFlow's llm object as core LLM settings; model_name is one of the tenant's LLM configs (id or name)."""
    if llm is None:
        return None
    out = {k: getattr(llm, k) for k in LLM_KEYS if getattr(llm, k) is not None}
    if llm.model_name:
        models = svc.models.list(tenant_id, "llm")
        match = next((m for m in models if llm.model_name in (m.id, m.name, m.model)), None)
        if match is None:
            raise data_error(f"`model_name` {llm.model_name} doesn't exist")
        out["model_id"] = match.id
    return out


def prompt_settings(prompt: ChatPrompt | None, top_k: int | None) -> dict[str, Any] | None:
    out = {k: getattr(prompt, k) for k in PROMPT_KEYS if prompt is not None and getattr(prompt, k) is not None}
    if prompt is not None and prompt.prompt is not None:
        out["system"] = prompt.prompt
    if top_k is not None:
        out["top_k"] = top_k
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
        "llm": {"model_name": model_name(svc, a), **{k: getattr(a.llm, k) for k in LLM_KEYS}},
        "prompt": {**{k: getattr(p, k) for k in PROMPT_KEYS}, "prompt": p.system},
        "prompt_type": "simple", "status": "1", "tenant_id": a.tenant_id, "top_k": p.top_k,
        "create_time": ms(a.created_at), "create_date": http_date(a.created_at),
        "update_time": ms(a.updated_at), "update_date": http_date(a.updated_at),
    }


def check_datasets(svc: Services, tenant_id: str, ids: list[str] | None) -> None:
    for kb_id in ids or []:
        svc.knowledge.get(tenant_id, kb_id)


@router.post("/chats", summary="Create a chat assistant")
def create_chat(svc: ServicesDep, who: PrincipalDep, body: ChatBody) -> dict:
    if not (body.name or "").strip():
        raise data_error("`name` is required.")
    check_datasets(svc, who.tenant_id, body.dataset_ids)
    try:
        a = svc.assistants.create(who.tenant_id, body.name, kind="chat", avatar=body.avatar or "",
                                  description=body.description or "", kb_ids=body.dataset_ids or [],
                                  llm=llm_settings(svc, who.tenant_id, body.llm),
                                  prompt=prompt_settings(body.prompt, body.top_k))
    except Conflict:
        raise data_error("Duplicated chat name in creating chat.") from None
    return ok(chat_view(svc, a))


@router.put("/chats/{chat_id}", summary="Update a chat assistant")
def update_chat(svc: ServicesDep, who: PrincipalDep, chat_id: str, body: ChatBody) -> dict:
    svc.assistants.get(who.tenant_id, chat_id, kind="chat")
    if body.name is not None and not body.name.strip():
        raise data_error("`name` cannot be empty.")
    check_datasets(svc, who.tenant_id, body.dataset_ids)
    changes = {"name": body.name, "avatar": body.avatar, "description": body.description,
               "kb_ids": body.dataset_ids, "llm": llm_settings(svc, who.tenant_id, body.llm),
               "prompt": prompt_settings(body.prompt, body.top_k)}
    try:
        svc.assistants.update(who.tenant_id, chat_id, **{k: v for k, v in changes.items() if v is not None})
    except Conflict:
        raise data_error("Duplicated chat name in updating chat.") from None
    return ok()


@router.delete("/chats", summary="Delete chat assistants (all of the caller's when `ids` is not given)")
def delete_chats(svc: ServicesDep, who: PrincipalDep, body: Ids | None = None) -> dict:
    ids = body.ids if body else None
    if ids is None:
        ids = [a.id for a in svc.assistants.list(who.tenant_id, kind="chat", page_size=100_000).items]
    for chat_id in unique_ids(ids):  # all checked first: an error deletes nothing
        svc.assistants.get(who.tenant_id, chat_id, kind="chat")
    for chat_id in ids:
        svc.assistants.delete(who.tenant_id, chat_id)
    return ok()


@router.get("/chats", summary="List chat assistants")
def list_chats(svc: ServicesDep, who: PrincipalDep, page: PageParam = 1, page_size: PageSizeParam = 30,
               orderby: str = "create_time", desc: bool = True, name: str | None = None,
               id: str | None = None) -> dict:
    found = svc.assistants.list(who.tenant_id, kind="chat", name=name or "", assistant_id=id or "", page=page,
                                page_size=page_size, order_by=order_field(orderby), desc=desc)
    if (id or name) and not found.total:
        raise data_error("The chat doesn't exist")
    return ok([chat_view(svc, a) for a in found.items])
