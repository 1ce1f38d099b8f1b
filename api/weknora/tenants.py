"""WeKnora tenants: create, get, update, delete, list. `id` is the tenant's integer number.

The admin key (the default tenant's) manages every tenant; another tenant's key reads and updates itself only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from api.common.auth import ServicesDep
from api.weknora.errors import WeknoraRoute, bad_request
from api.weknora.views import CallerDep, ok, tenant_view

router = APIRouter(prefix="/api/v1", tags=["WeKnora: tenants"], route_class=WeknoraRoute)

MAX_NUMBER = 2**31 - 1
TenantId = Annotated[str, Path(description="The tenant's integer id")]


class TenantBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # WeKnora's clients send the whole tenant (business, status ...)
    name: str | None = None
    description: str | None = None


def number(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) <= MAX_NUMBER:
        raise bad_request("Invalid tenant ID")
    return int(value)


@router.post("/tenants", status_code=201, summary="Create a tenant with its API key (admin key only)")
def create_tenant(svc: ServicesDep, who: CallerDep, body: TenantBody) -> dict:
    t = svc.tenants.create(who.tenant_id, body.name or "", body.description or "")
    return ok(tenant_view(t))


@router.get("/tenants/{id}", summary="A tenant with its API key (the admin, or the tenant itself)")
def get_tenant(svc: ServicesDep, who: CallerDep, id: TenantId) -> dict:  # noqa: A002 - WeKnora's name
    return ok(tenant_view(svc.tenants.get(who.tenant_id, number(id))))


@router.put("/tenants/{id}", summary="Rename a tenant or change its description")
def update_tenant(svc: ServicesDep, who: CallerDep, id: TenantId, body: TenantBody) -> dict:  # noqa: A002
    t = svc.tenants.update(who.tenant_id, number(id), name=body.name or None, description=body.description)
    return ok(tenant_view(t))


@router.delete("/tenants/{id}", summary="Delete a tenant and everything it owns (admin key only)")
def delete_tenant(svc: ServicesDep, who: CallerDep, id: TenantId) -> dict:  # noqa: A002
    svc.tenants.delete(who.tenant_id, number(id))
    return ok(message="Tenant deleted successfully")


@router.get("/tenants", summary="Tenants: all of them for the admin key, the caller's own otherwise")
def list_tenants(svc: ServicesDep, who: CallerDep) -> dict:
    return ok({"items": [tenant_view(t) for t in svc.tenants.list(who.tenant_id)]})
