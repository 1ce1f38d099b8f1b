"""LLMOps apps = Almanac agents: get an app with its draft and published configurations, update the draft
(1.1, 1.2). Creating, listing, publishing and deleting apps are not in the spec's 40 routes; they are served
as LLMOps' later API names them (POST/GET /apps, /apps/{id}/publish, /cancel-publish, /delete), so an app
can be made and published over this API alone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.common.auth import PrincipalDep, ServicesDep
from api.llmops.app_config import AppConfigBody, config_id, config_view, draft_changes
from api.llmops.errors import LlmopsRoute, ok, validate_error
from api.llmops.params import CurrentPage, Description, IconUrl, Name, PageSize, SearchWord
from api.llmops.views import paged, ts
from core.assistants import AssistantInfo
from core.container import Services
from core.errors import Conflict

router = APIRouter(tags=["LLMOps: apps"], route_class=LlmopsRoute)
AGENT = "agent"


class AppBody(BaseModel):
    name: Name
    icon: IconUrl = ""
    description: Description = ""


def app_view(svc: Services, app: AssistantInfo) -> dict[str, Any]:
    debug = svc.chat.find_debug_session(app.tenant_id, app.id)
    published = config_view(svc, app, "published")
    return {"id": app.id, "name": app.name, "icon": app.avatar, "description": app.description,
            "status": "published" if published else "draft",
            "published_app_config_id": published["id"] if published else None,
            "drafted_app_config_id": config_id(app, "draft"), "debug_conversation_id": debug.id if debug else None,
            "published_app_config": published, "drafted_app_config": config_view(svc, app, "drafted"),
            "draft_updated_at": ts(app.updated_at), "updated_at": ts(app.updated_at), "created_at": ts(app.created_at)}


def app_summary(app: AssistantInfo) -> dict[str, Any]:
    return {"id": app.id, "name": app.name, "icon": app.avatar, "description": app.description,
            "status": "published" if app.published else "draft", "created_at": ts(app.created_at),
            "updated_at": ts(app.updated_at)}


@router.post("/apps", summary="Create an app (an agent)")
def create_app(svc: ServicesDep, who: PrincipalDep, body: AppBody) -> dict:
    try:
        app = svc.assistants.create(who.tenant_id, body.name, kind=AGENT, avatar=body.icon,
                                    description=body.description)
    except Conflict:
        raise validate_error("name", "an app with this name already exists") from None
    return ok({"id": app.id}, "创建AI应用成功")


@router.get("/apps", summary="List apps (search, paged)")
def list_apps(svc: ServicesDep, who: PrincipalDep, search_word: SearchWord = "", current_page: CurrentPage = 1,
              page_size: PageSize = 20) -> dict:
    page = svc.assistants.list(who.tenant_id, kind=AGENT, search=search_word, page=current_page, page_size=page_size)
    return ok(paged([app_summary(a) for a in page.items], page))


@router.get("/apps/{app_id}", summary="Get an app with its draft and published configurations")
def get_app(svc: ServicesDep, who: PrincipalDep, app_id: str) -> dict:
    return ok(app_view(svc, svc.assistants.get(who.tenant_id, app_id, kind=AGENT)))


@router.put("/apps/{app_id}/config", summary="Update the app's draft configuration (given fields only)")
def update_draft(svc: ServicesDep, who: PrincipalDep, app_id: str, body: AppConfigBody) -> dict:
    app = svc.assistants.get(who.tenant_id, app_id, kind=AGENT)
    svc.assistants.update(who.tenant_id, app_id, **draft_changes(svc, who.tenant_id, app, body))
    return ok(message="更新AI应用配置成功")


@router.post("/apps/{app_id}/publish", summary="Publish the draft: API sessions and the public page run it")
def publish(svc: ServicesDep, who: PrincipalDep, app_id: str) -> dict:
    svc.assistants.get(who.tenant_id, app_id, kind=AGENT)
    svc.assistants.publish(who.tenant_id, app_id)
    return ok(message="发布/更新应用配置成功")


@router.post("/apps/{app_id}/cancel-publish", summary="Take the app offline")
def cancel_publish(svc: ServicesDep, who: PrincipalDep, app_id: str) -> dict:
    svc.assistants.get(who.tenant_id, app_id, kind=AGENT)
    svc.assistants.unpublish(who.tenant_id, app_id)
    return ok(message="取消发布应用配置成功")


@router.post("/apps/{app_id}/delete", summary="Delete an app with its conversations")
def delete_app(svc: ServicesDep, who: PrincipalDep, app_id: str) -> dict:
    svc.assistants.get(who.tenant_id, app_id, kind=AGENT)
    svc.assistants.delete(who.tenant_id, app_id)
    return ok(message="删除AI应用成功")
