"""LLMOps built-in tools (2.1-2.4): categories, providers with their tools and parameter schemas, one tool,
a provider's icon. The icon answers without a credential: pages show it in <img> tags, which send none."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.common.auth import PrincipalDep, ServicesDep
from api.llmops.errors import NOT_FOUND, DialectError, LlmopsRoute, ok
from api.llmops.views import builtin_provider_view, builtin_tool_view, ts
from core.errors import NotFound

router = APIRouter(tags=["LLMOps: built-in tools"], route_class=LlmopsRoute)


@router.get("/builtin-tools/categories", summary="Categories of the built-in tools")
def categories(svc: ServicesDep, who: PrincipalDep) -> dict:
    return ok(svc.tools.categories())


@router.get("/builtin-tools", summary="Every built-in provider with its tools")
def providers(svc: ServicesDep, who: PrincipalDep) -> dict:
    return ok([builtin_provider_view(p) for p in svc.tools.builtin_providers(who.tenant_id)])


@router.get("/builtin-tools/{provider}/tools/{tool}", summary="One built-in tool")
def tool(svc: ServicesDep, who: PrincipalDep, provider: str, tool: str) -> dict:
    info, found = svc.tools.builtin_tool(provider, tool)
    return ok({"provider": builtin_provider_view(info, with_tools=False), **builtin_tool_view(found),
               "created_at": ts(info.created_at)})


@router.get("/builtin-tools/{provider}/icon", summary="A built-in provider's icon (SVG)", response_class=Response)
def icon(svc: ServicesDep, provider: str) -> Response:
    try:
        content, media_type = svc.tools.builtin_icon(provider)
    except NotFound as exc:
        raise DialectError(NOT_FOUND, exc.message, status=404) from None  # an <img> needs the real status
    return Response(content, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
