"""Nexent's model management (/api/model) over the model registry, and the upstream model service (/api/me).

A model is addressed by `model_name`: a saved model's name, else its provider model name (Nexent's display_name is
Almanac's name, its model_name the provider's model). `model_factory` "OpenAI-API-Compatible" means provider
openai; Almanac's provider names work too. Connection statuses are Nexent's (未检测, 检测中, 可用, 不可用; the English
names NOT_DETECTED, DETECTING, AVAILABLE, UNAVAILABLE are read too). Bodies are Nexent's ModelResponse
`{"code", "message", "data"}`; API keys come back masked. Where Nexent reads `model_name` (and `type`, `timeout`) from
the query string, a JSON body works too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.nexent.errors import ModelRoute, message_of
from api.nexent.views import CONNECT_STATUS, STATUS_OF, model_view, ok
from core.errors import AlmanacError, InvalidInput

router = APIRouter(prefix="/api/model", tags=["Nexent: models"], route_class=ModelRoute)
me_router = APIRouter(prefix="/api/me", tags=["Nexent: upstream models"], route_class=ModelRoute)
FACTORIES = {"openai-api-compatible": "openai", "openai": "openai"}
TimeoutQuery = Query(None, ge=0.5, le=60, description="Seconds to wait for the service")


class ModelBody(BaseModel):
    """Nexent's ModelRequest."""

    model_config = ConfigDict(extra="ignore")
    model_factory: str | None = "OpenAI-API-Compatible"
    model_name: str = Field(min_length=1, max_length=255)
    model_type: str = ""
    api_key: str | None = ""
    base_url: str | None = ""
    max_tokens: int | None = Field(0, ge=0, le=10_000_000)
    display_name: str | None = ""
    connect_status: str | None = ""
    embedding_dim: int | None = Field(None, ge=1, le=65_536)


class NameBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model_name: str | None = None
    connect_status: str | None = None
    type: str | None = None
    timeout: float | None = Field(None, ge=0.5, le=60)


def provider_of(factory: str | None) -> str:
    return FACTORIES.get((factory or "openai").strip().lower(), (factory or "").strip())


def params_of(body: ModelBody) -> dict[str, Any]:
    params: dict[str, Any] = {"max_tokens": body.max_tokens} if body.max_tokens else {}
    if body.embedding_dim:
        params["dimension"] = body.embedding_dim
    return params


def status_of(value: str) -> str:
    if value not in STATUS_OF:
        raise InvalidInput(f"connect_status must be one of: {', '.join(STATUS_OF)}")
    return STATUS_OF[value]


def name_from(model_name: str | None, body: NameBody | None) -> str:
    name = (model_name or (body.model_name if body else None) or "").strip()
    if not name:
        raise InvalidInput("model_name is required")
    return name


def check_data(ok_: bool, message: str) -> dict[str, Any]:
    status = "ok" if ok_ else "error"
    return {"connectivity": ok_, "message": message, "status": "Connected" if ok_ else "Disconnected",
            "desc": message, "connect_status": CONNECT_STATUS[status]}


@router.post("/create", summary="Save a model")
def create_model(svc: ServicesDep, who: PrincipalDep, body: ModelBody) -> dict:
    m = svc.models.create(who.tenant_id, type=body.model_type, provider=provider_of(body.model_factory),
                          name=body.display_name or body.model_name, model=body.model_name,
                          base_url=body.base_url or "", api_key=body.api_key or "", params=params_of(body))
    if body.connect_status:
        svc.models.set_status(who.tenant_id, m.id, status_of(body.connect_status))
    return ok(None, f"Model {body.model_name} created successfully", 200)


@router.post("/update", summary="Change a model (found by model_name); an empty api_key keeps the stored one")
def update_model(svc: ServicesDep, who: PrincipalDep, body: ModelBody) -> dict:
    m = svc.models.get_by_name(who.tenant_id, body.model_name)
    if body.model_type and body.model_type != m.type:
        raise InvalidInput("A model's type cannot be changed; add a new model instead")
    changed = svc.models.update(who.tenant_id, m.id, name=body.display_name or None, base_url=body.base_url or None,
                                provider=provider_of(body.model_factory) if body.model_factory else None,
                                api_key=body.api_key if body.api_key != m.api_key_masked else None,
                                params={**m.params, **params_of(body)})
    if body.connect_status:
        svc.models.set_status(who.tenant_id, m.id, status_of(body.connect_status))
    return ok({"model_name": changed.model}, f"Model {changed.model} updated successfully", 200)


@router.post("/delete", summary="Delete a model (found by model_name)")
def delete_model(svc: ServicesDep, who: PrincipalDep, body: NameBody) -> dict:
    name = name_from(None, body)
    svc.models.delete(who.tenant_id, svc.models.get_by_name(who.tenant_id, name).id)
    return ok({"model_name": name}, "Model deleted successfully", 200)


@router.get("/list", summary="The tenant's models")
def list_models(svc: ServicesDep, who: PrincipalDep) -> dict:
    return ok([model_view(m) for m in svc.models.list(who.tenant_id)], "Successfully retrieved model list", 200)


@router.get("/healthcheck", summary="Check a saved model with a real call and store the verdict")
def model_healthcheck(svc: ServicesDep, who: PrincipalDep, model_name: str | None = Query(None),
                      body: NameBody | None = None) -> dict:
    name = name_from(model_name, body)
    m = svc.models.check(who.tenant_id, svc.models.get_by_name(who.tenant_id, name).id)
    verdict = f"Model {name} connectivity {'successful' if m.status == 'ok' else 'failed'}: {m.status_message}"
    return ok(check_data(m.status == "ok", verdict), "Model health check successful", 200)


@router.get("/get_connect_status", summary="A model's stored connection status")
def get_connect_status(svc: ServicesDep, who: PrincipalDep, model_name: str | None = Query(None),
                       body: NameBody | None = None) -> dict:
    name = name_from(model_name, body)
    m = svc.models.get_by_name(who.tenant_id, name)
    return ok({"model_name": name, "connect_status": CONNECT_STATUS.get(m.status, CONNECT_STATUS["unknown"])},
              "Successfully retrieved connection status", 200)


@router.post("/update_connect_status", summary="Store a connection status the client determined")
def update_connect_status(svc: ServicesDep, who: PrincipalDep, body: NameBody) -> dict:
    name = name_from(None, body)
    status = status_of(body.connect_status or "")
    svc.models.set_status(who.tenant_id, svc.models.get_by_name(who.tenant_id, name).id, status)
    return ok({"model_name": name, "connect_status": CONNECT_STATUS[status]}, "Successfully updated connection status",
              200)


@router.post("/verify_config", summary="Check settings with a real call, saving nothing")
def verify_config(svc: ServicesDep, who: PrincipalDep, body: ModelBody) -> dict:
    passed, verdict, _ = svc.models.verify(body.model_type, provider_of(body.model_factory), body.model_name,
                                           body.base_url or "", body.api_key or "", params_of(body))
    message = f"Model configuration {body.model_name} connectivity verification {'succeeded' if passed else 'failed'}"
    return ok(check_data(passed, f"{message}: {verdict}"), message, 200)


# ------------------------------------------------------------------ the upstream service (ALMANAC_MODEL_ENGINE_URL)
def disconnected(exc: AlmanacError) -> JSONResponse:
    message = message_of(exc)
    return JSONResponse({"code": exc.status, "message": message, "data": check_data(False, message)},
                        status_code=exc.status)


@me_router.get("/model/list", summary="The upstream service's models (type chat, embed, rerank, asr or tts)")
def upstream_models(svc: ServicesDep, who: PrincipalDep, type: str | None = Query(None),  # noqa: A002
                    timeout: float | None = TimeoutQuery, body: NameBody | None = None) -> dict:
    kind = type or (body.type if body else None) or ""
    found = svc.upstream.list(kind, timeout or (body.timeout if body else None) or 5.0)
    return ok([m.model_dump() for m in found], "Successfully retrieved", 200)


@me_router.get("/healthcheck", summary="Whether the upstream service answers")
def upstream_health(svc: ServicesDep, who: PrincipalDep, timeout: float | None = TimeoutQuery):  # noqa: ANN201
    try:
        svc.upstream.ping(timeout or 5.0)
    except AlmanacError as exc:
        return disconnected(exc)
    return ok(check_data(True, "Connection successful"), "Connection successful", 200)


@me_router.get("/model/healthcheck", summary="Check one of the upstream service's models with a real call")
def upstream_model_health(svc: ServicesDep, who: PrincipalDep, model_name: str | None = Query(None),
                          timeout: float | None = TimeoutQuery, body: NameBody | None = None) -> dict:
    name = name_from(model_name, body)
    passed, verdict = svc.upstream.check(name, timeout or 5.0)
    return ok(check_data(passed, f"Model {name} {'responded normally' if passed else 'failed'}: {verdict}"),
              "Model health check successful", 200)
