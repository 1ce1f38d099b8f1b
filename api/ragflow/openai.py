"""RAGFlow's OpenAI-compatible route: /api/v1/chats_openai/{chat_id}/chat/completions (a chat assistant)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.common.auth import PrincipalDep, ServicesDep
from api.common.openai_chat import CompletionRequest, conversation_turns, respond, start_answer
from api.ragflow.errors import RagflowRoute, data_error
from api.ragflow.views import reference_chunk

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: OpenAI-compatible"], route_class=RagflowRoute)


class RagflowCompletionRequest(CompletionRequest):
    model: str = "model"  # RAGFlow ignores it: the chat is in the URL
    stream: bool = True  # RAGFlow streams unless told otherwise


@router.post("/chats_openai/{chat_id}/chat/completions", response_model=None,
             summary="OpenAI-compatible chat completion with a chat assistant")
def ragflow_chat_completion(svc: ServicesDep, who: PrincipalDep, chat_id: str,
                            body: RagflowCompletionRequest) -> StreamingResponse | dict:
    svc.assistants.get(who.tenant_id, chat_id, kind="chat")
    turns = conversation_turns(body.messages)
    if not turns:
        raise data_error("You have to provide messages.")
    if turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise data_error("The last content of this conversation is not from user.")
    return respond(start_answer(svc, who.tenant_id, chat_id, turns), body, reference_chunk)
