"""Nexent's workspace configuration (/api/config): save_config and load_config over core/workspace.py.

Both spellings Nexent uses are read: the spec's `app: {name, description, icon: {type, avatarUri, customUrl}}` and
its front end's `app: {appName, appDescription, iconType, customIconUrl, avatarUri}`; a model role's `name` or
`modelName`. Saving names saved models (by name, as /api/model/list shows them) and makes them the defaults;
sections or roles a request leaves out keep their stored values. API keys come back masked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.nexent.errors import NexentRoute
from core.workspace import WorkspaceView

router = APIRouter(prefix="/api/config", tags=["Nexent: configuration"], route_class=NexentRoute)
# Nexent's role names -> the workspace's
ROLE_NAMES = {"llm": "llm", "llmSecondary": "llm_secondary", "secondaryLlm": "llm_secondary", "embedding": "embedding",
              "rerank": "rerank", "stt": "stt", "tts": "tts"}


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Icon(Loose):
    type: str | None = None
    avatarUri: str | None = None  # noqa: N815 - Nexent's spelling
    customUrl: str | None = None  # noqa: N815


class App(Loose):
    name: str | None = None
    appName: str | None = None  # noqa: N815
    description: str | None = None
    appDescription: str | None = None  # noqa: N815
    icon: Icon | None = None
    iconType: str | None = None  # noqa: N815
    avatarUri: str | None = None  # noqa: N815
    customIconUrl: str | None = None  # noqa: N815


class ModelRole(Loose):
    name: str | None = None
    modelName: str | None = None  # noqa: N815
    displayName: str | None = None  # noqa: N815


class Data(Loose):
    selectedKbNames: list[str] | None = Field(None, max_length=1000)  # noqa: N815
    selectedKbModels: list[str] | None = Field(None, max_length=1000)  # noqa: N815
    selectedKbSources: list[str] | None = Field(None, max_length=1000)  # noqa: N815


class ConfigBody(Loose):
    app: App | None = None
    models: dict[str, ModelRole | None] | None = None
    data: Data | None = None


def first(*values: str | None) -> str | None:
    return next((v for v in values if v is not None), None)


def app_fields(app: App) -> dict[str, Any]:
    icon = app.icon or Icon()
    fields = {"app_name": first(app.name, app.appName), "app_description": first(app.description, app.appDescription),
              "icon_type": first(icon.type, app.iconType), "icon_avatar": first(icon.avatarUri, app.avatarUri),
              "icon_url": first(icon.customUrl, app.customIconUrl)}
    return {k: v for k, v in fields.items() if v is not None}


def workspace_changes(view: WorkspaceView, body: ConfigBody) -> tuple[dict[str, Any], dict[str, str]]:
    """(fields, role -> model name): the stored document with what the body sends over it."""
    fields = view.config.model_dump(exclude={"models"})
    fields.update(app_fields(body.app or App()))
    if body.data is not None:
        if body.data.selectedKbNames is not None:
            fields["knowledge_bases"] = body.data.selectedKbNames
        fields["extra"] = {**fields["extra"], **body.data.model_dump(exclude={"selectedKbNames"}, exclude_none=True)}
    names = {role: m.name for role, m in view.models.items()}  # unchanged roles keep their model
    for role, sent in (body.models or {}).items():
        names[ROLE_NAMES.get(role, role)] = first(sent.name, sent.modelName) or "" if sent else ""
    return fields, names


def config_view(view: WorkspaceView) -> dict[str, Any]:
    c = view.config
    models = {}
    for shown, role in ROLE_NAMES.items():
        m = view.models.get(role)
        name = m.model if m else ""
        models[shown] = {"name": name, "modelName": name, "displayName": m.name if m else "",
                         "apiConfig": {"apiKey": m.api_key_masked if m else "", "modelUrl": m.base_url if m else ""}}
    extra = c.extra or {}
    return {"app": {"name": c.app_name, "description": c.app_description,
                    "icon": {"type": c.icon_type, "avatarUri": c.icon_avatar, "customUrl": c.icon_url}},
            "models": models,
            "data": {"selectedKbNames": list(c.knowledge_bases), "selectedKbModels": extra.get("selectedKbModels", []),
                     "selectedKbSources": extra.get("selectedKbSources", [])}}


@router.post("/save_config", summary="Save the workspace configuration and apply it (its models become the defaults)")
def save_config(svc: ServicesDep, who: PrincipalDep, body: ConfigBody) -> dict:
    fields, names = workspace_changes(svc.workspace.config(who.tenant_id), body)
    svc.workspace.save_config(who.tenant_id, fields, names)
    return {"message": "Configuration saved successfully", "status": "saved"}


@router.get("/load_config", summary="The workspace configuration")
def load_config(svc: ServicesDep, who: PrincipalDep) -> dict:
    return {"config": config_view(svc.workspace.config(who.tenant_id))}

