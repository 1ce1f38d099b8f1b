"""Nexent conversations (/api/conversation): create, list, rename, get, delete, sources, generate_title, opinions.

A conversation's id is its integer number; these are the tenant's workspace conversations (core channel
`workspace`), answered by POST /api/agent/run. Success bodies are `{"code": 0, "message": "success", "data"}`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.nexent.errors import NexentRoute
from api.nexent.views import conversation_view, millis, message_view, ok, search_item
from core.errors import InvalidInput

router = APIRouter(prefix="/api/conversation", tags=["Nexent: conversations"], route_class=NexentRoute)
OPINIONS = {"Y": 1, "N": -1, "": 0, None: 0}
MAX_CONVERSATIONS = 10_000


class CreateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str = Field("New Conversation", max_length=255)


class RenameBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    conversation_id: int
    name: str = Field(min_length=1, max_length=255)


class Turn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant"]
    content: str


class TitleBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    conversation_id: int
    history: list[Turn] = Field(default_factory=list, max_length=1000)


class SourcesBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    conversation_id: int | None = None
    message_id: int | None = None
    type: Literal["all", "image", "search"] = "all"


class OpinionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message_id: int
    opinion: Literal["Y", "N", ""] | None = None


def workspace_conversation(svc: ServicesDep, who: PrincipalDep, conversation_id: int) -> str:
    """The core id of the caller's workspace conversation with this number (404 otherwise)."""
    core_id = svc.chat.id_of_number(who.tenant_id, conversation_id)
    return svc.chat.get_session(who.tenant_id, core_id, channel="workspace").id


ConversationDep = Annotated[str, Depends(workspace_conversation)]


@router.put("/create", summary="Create a conversation")
def create_conversation(svc: ServicesDep, who: PrincipalDep, body: CreateBody | None = None) -> dict:
    title = (body or CreateBody()).title
    return ok(conversation_view(svc.chat.create_session(who.tenant_id, channel="workspace", title=title)))


@router.get("/list", summary="The workspace's conversations, most recently active first")
def list_conversations(svc: ServicesDep, who: PrincipalDep) -> dict:
    found = svc.chat.list_sessions(who.tenant_id, channel="workspace", page_size=MAX_CONVERSATIONS)
    return ok([conversation_view(c) for c in found.items])


@router.post("/rename", summary="Rename a conversation")
def rename_conversation(svc: ServicesDep, who: PrincipalDep, body: RenameBody) -> dict:
    svc.chat.rename_session(who.tenant_id, workspace_conversation(svc, who, body.conversation_id), body.name)
    return ok(True)


@router.delete("/{conversation_id}", summary="Delete a conversation with its messages")
def delete_conversation(svc: ServicesDep, who: PrincipalDep, conversation: ConversationDep) -> dict:
    svc.chat.delete_session(who.tenant_id, conversation)
    return ok(True)


@router.get("/{conversation_id}", summary="A conversation's messages, with each answer's steps and sources")
def get_conversation(svc: ServicesDep, who: PrincipalDep, conversation: ConversationDep) -> dict:
    c = svc.chat.get_session(who.tenant_id, conversation)
    messages = svc.chat.list_messages(who.tenant_id, conversation, limit=1000)
    return ok({"conversation_id": c.number, "conversation_title": c.title, "create_time": millis(c.created_at),
               "message": [message_view(m) for m in messages]})


@router.post("/sources", summary="The passages (and images) a message or a whole conversation used")
def get_sources(svc: ServicesDep, who: PrincipalDep, body: SourcesBody) -> dict:
    if body.conversation_id is None and body.message_id is None:
        raise InvalidInput("Must provide conversation_id or message_id parameter")
    if body.message_id is not None:
        message_id = svc.chat.id_of_number(who.tenant_id, body.message_id, message=True)
        conversation = workspace_conversation(svc, who, body.conversation_id) if body.conversation_id else None
        messages = [svc.chat.get_message(who.tenant_id, message_id, conversation_id=conversation)]
    else:
        conversation = workspace_conversation(svc, who, body.conversation_id)
        messages = svc.chat.list_messages(who.tenant_id, conversation, limit=1000)
    searches = [{**search_item(r), **({"message_id": m.number} if body.message_id is None else {})}
                for m in messages for r in m.references] if body.type != "image" else []
    return ok({"searches": searches, "images": []})


@router.post("/generate_title", summary="Title the conversation from its first exchange")
def generate_title(svc: ServicesDep, who: PrincipalDep, body: TitleBody) -> dict:
    turns = [t.model_dump() for t in body.history] or None
    c = svc.chat.generate_title(who.tenant_id, workspace_conversation(svc, who, body.conversation_id), turns)
    return ok(c.title)


@router.post("/message/update_opinion", summary="Like (Y), dislike (N) or clear (null) an answer")
def update_opinion(svc: ServicesDep, who: PrincipalDep, body: OpinionBody) -> dict:
    message_id = svc.chat.id_of_number(who.tenant_id, body.message_id, message=True)
    svc.chat.feedback(who.tenant_id, message_id, OPINIONS[body.opinion])
    return ok(True)
