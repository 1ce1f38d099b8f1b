"""AgentChat's tools: the built-in tools (read-only) and the workspace's own tools, which are API tool providers.

A tool made with AgentChat's fields only (zh_name, en_name, description, logo_url) is described but has nothing to
call; with `openapi_schema` (AgentChat's newer field: an OpenAPI 3 document, or LLMOps' simplified schema) its
operations become the functions an agent calls, with `auth_config` ({"auth_type": "Bearer" | "Basic" | "APIKey" |
"Header", "data": ...}) sent as request headers. `visible` = the built-in tools plus your own; `all` is the same
set (AgentChat's newer /tool/all is "every tool the current user can see": another workspace's are never shown).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.agentchat.errors import AgentchatRoute, ok
from api.agentchat.views import builtin_tool_views, own_tool_view
from api.common.auth import PrincipalDep, ServicesDep
from core.container import Services
from core.errors import Forbidden, InvalidInput

router = APIRouter(prefix="/api/v1", tags=["AgentChat: tools"], route_class=AgentchatRoute)
ALL = 10_000
AUTH_HEADERS = {"Bearer": lambda d: {"Authorization": f"Bearer {d}"}, "Basic": lambda d: {"Authorization": f"Basic {d}"},
                "APIKey": lambda d: {"X-API-Key": d}, "Header": lambda d: d}


class ToolFields(BaseModel):
    description: str | None = Field(None, max_length=2000)
    logo_url: str | None = None
    openapi_schema: dict[str, Any] | str | None = Field(None, description="OpenAPI 3 (JSON object or text)")
    auth_config: dict[str, Any] | None = Field(None, description='{"auth_type": "Bearer", "data": "<token>"}')


class CreateToolReq(ToolFields):
    zh_name: str = Field(description="Display name")
    en_name: str = Field(description="Name, unique in your workspace")


class UpdateToolReq(ToolFields):
    tool_id: str
    zh_name: str | None = None
    en_name: str | None = None


class ToolIdReq(BaseModel):
    tool_id: str


def schema_text(schema: dict[str, Any] | str | None) -> str | None:
    return json.dumps(schema) if isinstance(schema, dict) else schema


def auth_headers(auth: dict[str, Any] | None) -> dict[str, Any] | None:
    if auth is None:
        return None
    kind, data = auth.get("auth_type"), auth.get("data")
    if not auth or kind in (None, ""):
        return {}
    if kind not in AUTH_HEADERS:
        raise InvalidInput(f"auth_config.auth_type must be one of: {', '.join(AUTH_HEADERS)}")
    if not isinstance(data, dict if kind == "Header" else str):
        raise InvalidInput(f"auth_config.data must be {'an object of headers' if kind == 'Header' else 'text'}")
    return AUTH_HEADERS[kind](data)


def own_tools(svc: Services, tenant_id: str) -> list[dict[str, Any]]:
    return [own_tool_view(p) for p in svc.tools.list_providers(tenant_id, kind="api", page_size=ALL).items]


def visible_tools(svc: Services, tenant_id: str) -> list[dict[str, Any]]:
    return builtin_tool_views(svc.tools.builtin_providers()) + own_tools(svc, tenant_id)


def own_tool_id(svc: Services, tool_id: str) -> str:
    if any(t.name == tool_id for p in svc.tools.builtin_providers() for t in p.tools):
        raise Forbidden(f"'{tool_id}' is a built-in tool: it cannot be changed or deleted")
    return tool_id


@router.post("/tool/create", summary="Create a tool of your own")
def create_tool(req: CreateToolReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    provider = svc.tools.create_api_provider(
        principal.tenant_id, req.en_name, req.logo_url or "", schema_text(req.openapi_schema),
        auth_headers(req.auth_config), label=req.zh_name, description=req.description)
    return ok(own_tool_view(provider))


@router.get("/tool/all", summary="Every tool you can use: built-in and your own")
def all_tools(principal: PrincipalDep, svc: ServicesDep) -> dict:
    return ok(visible_tools(svc, principal.tenant_id))


@router.post("/tool/own", summary="The tools you made")
def own(principal: PrincipalDep, svc: ServicesDep) -> dict:
    return ok(own_tools(svc, principal.tenant_id))


@router.post("/tool/visible", summary="The tools you can use: built-in and your own")
def visible(principal: PrincipalDep, svc: ServicesDep) -> dict:
    return ok(visible_tools(svc, principal.tenant_id))


@router.put("/tool/update", summary="Change a tool of your own")
def update_tool(req: UpdateToolReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    provider = svc.tools.update_api_provider(
        principal.tenant_id, own_tool_id(svc, req.tool_id), name=req.en_name, icon=req.logo_url,
        openapi_schema=schema_text(req.openapi_schema), headers=auth_headers(req.auth_config), label=req.zh_name,
        description=req.description)
    return ok(own_tool_view(provider))


@router.delete("/tool/delete", summary="Delete a tool of your own (agents stop using it)")
def delete_tool(req: ToolIdReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    svc.tools.delete_provider(principal.tenant_id, own_tool_id(svc, req.tool_id), kind="api")
    return ok()
