"""LLMOps API tools (2.5-2.11) = Almanac OpenAPI tool providers of the tenant: list (search, paged), create
from an OpenAPI schema (LLMOps' simplified one, or OpenAPI 3 JSON/YAML), validate a schema, get, update,
delete, one tool's inputs. They are the providers of the Tools page, so agents can use them at once.
Header values that look secret come back masked; sending a masked value back keeps the stored one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from api.common.auth import PrincipalDep, ServicesDep
from api.llmops.errors import VALIDATE_ERROR, DialectError, LlmopsRoute, ok, validate_error
from api.llmops.params import CurrentPage, IconUrl, PageSize, SearchWord
from api.llmops.views import api_provider_view, api_tool_view, paged
from core.errors import Conflict, InvalidInput

router = APIRouter(tags=["LLMOps: API tools"], route_class=LlmopsRoute)
API = "api"
FIELDS = ("openapi_schema", "headers", "icon", "name")


class Header(BaseModel):
    key: str = Field(max_length=256)
    value: str = Field(max_length=8192)


class SchemaBody(BaseModel):
    openapi_schema: str


class ProviderBody(SchemaBody):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
    icon: IconUrl
    headers: list[Header] = Field(default_factory=list, max_length=100)


def input_error(exc: InvalidInput) -> DialectError:
    """A core complaint about the request, named by its field (the schema, unless another is named)."""
    message = exc.message if exc.message.startswith(FIELDS) else f"openapi_schema: {exc.message}"
    return DialectError(VALIDATE_ERROR, message)


@router.get("/api-tools", summary="List the API tool providers (search, paged)")
def list_providers(svc: ServicesDep, who: PrincipalDep, search_word: SearchWord = "", current_page: CurrentPage = 1,
                   page_size: PageSize = 20) -> dict:
    page = svc.tools.list_providers(who.tenant_id, kind=API, search_word=search_word, page=current_page,
                                    page_size=page_size)
    return ok(paged([api_provider_view(p) for p in page.items], page))


@router.post("/api-tools/validate-openapi-schema", summary="Check an OpenAPI schema")
def validate_schema(svc: ServicesDep, who: PrincipalDep, body: SchemaBody) -> dict:
    try:
        svc.tools.validate_openapi_schema(body.openapi_schema)
    except InvalidInput as exc:
        raise input_error(exc) from None
    return ok(message="OpenAPI-Schema 校验成功")


@router.post("/api-tools", summary="Create an API tool provider from an OpenAPI schema")
def create_provider(svc: ServicesDep, who: PrincipalDep, body: ProviderBody) -> dict:
    try:
        info = svc.tools.create_api_provider(who.tenant_id, body.name, body.icon, body.openapi_schema,
                                             [h.model_dump() for h in body.headers])
    except InvalidInput as exc:
        raise input_error(exc) from None
    except Conflict:
        raise validate_error("name", "an API tool provider with this name already exists") from None
    return ok({"id": info.id}, "创建自定义 API 工具提供者成功")


@router.post("/api-tools/{provider_id}/delete", summary="Delete an API tool provider")
def delete_provider(svc: ServicesDep, who: PrincipalDep, provider_id: str) -> dict:
    svc.tools.delete_provider(who.tenant_id, provider_id, API)
    return ok(message="删除自定义 API 工具提供者成功")


@router.post("/api-tools/{provider_id}", summary="Update an API tool provider (its tools follow the new schema)")
def update_provider(svc: ServicesDep, who: PrincipalDep, provider_id: str, body: ProviderBody) -> dict:
    try:
        svc.tools.update_api_provider(who.tenant_id, provider_id, name=body.name, icon=body.icon,
                                      openapi_schema=body.openapi_schema,
                                      headers=[h.model_dump() for h in body.headers])
    except InvalidInput as exc:
        raise input_error(exc) from None
    except Conflict:
        raise validate_error("name", "an API tool provider with this name already exists") from None
    return ok(message="更新自定义 API 工具提供者成功")


@router.get("/api-tools/{provider_id}", summary="Get an API tool provider with its schema")
def get_provider(svc: ServicesDep, who: PrincipalDep, provider_id: str) -> dict:
    return ok(api_provider_view(svc.tools.get_provider(who.tenant_id, provider_id, API), with_schema=True))


@router.get("/api-tools/{provider_id}/tools/{tool_name}", summary="One tool of an API tool provider")
def get_tool(svc: ServicesDep, who: PrincipalDep, provider_id: str, tool_name: str) -> dict:
    provider, tool = svc.tools.get_provider_tool(who.tenant_id, provider_id, tool_name, API)
    view = api_provider_view(provider)
    view.pop("tools")
    return ok({**api_tool_view(provider.id, tool), "provider": view})
