"""OpenAI-compatible endpoints: /v1/chat/completions and /v1/models, where a model is an assistant
(its id or name): chat assistants and published agents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.common.auth import PrincipalDep, ServicesDep
from api.common.openai_chat import CompletionRequest, conversation_turns, respond, start_answer
from api.openai.errors import OpenAIError, OpenAIRoute
from core.assistants import AssistantInfo
from core.container import Services

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], route_class=OpenAIRoute)


def runnable(a: AssistantInfo) -> bool:
    return a.kind == "chat" or a.published is not None


def assistant_model(svc: Services, tenant_id: str, model: str) -> AssistantInfo:
    """The assistant a `model` names (its id, or its name); 404 unless it can answer through the API."""
    found = svc.assistants.find(tenant_id, model.strip())
    if found is None or not runnable(found):
        raise OpenAIError(f"The model `{model}` does not exist or you do not have access to it.", 404,
                          "model_not_found", "model")
    return found


def model_view(a: AssistantInfo) -> dict[str, Any]:
    return {"id": a.id, "object": "model", "created": int(a.created_at.timestamp()), "owned_by": a.tenant_id,
            "name": a.name, "kind": a.kind}


@router.get("/models", summary="The assistants (chat assistants and published agents) usable as models")
def list_models(svc: ServicesDep, who: PrincipalDep) -> dict:
    found = svc.assistants.list(who.tenant_id, page_size=100_000, desc=False)
    return {"object": "list", "data": [model_view(a) for a in found.items if runnable(a)]}


@router.get("/models/{model}", summary="One assistant as a model")
def get_model(svc: ServicesDep, who: PrincipalDep, model: str) -> dict:
    return model_view(assistant_model(svc, who.tenant_id, model))


@router.post("/chat/completions", response_model=None, summary="Chat with an assistant; `model` is its id")
def chat_completion(svc: ServicesDep, who: PrincipalDep, body: CompletionRequest) -> StreamingResponse | dict:
    a = assistant_model(svc, who.tenant_id, body.model)
    turns = conversation_turns(body.messages)
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise OpenAIError("The last message must be a non-empty message from the user.", 400, None, "messages")
    return respond(start_answer(svc, who.tenant_id, a.id, turns), body)
