"""Request dependencies shared by the dialects: the services and the caller's tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.errors import Unauthenticated
from core.container import Services
from core.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    """Who is calling: everything a request touches is scoped to this tenant."""

    tenant_id: str


def get_services(request: Request) -> Services:
    return request.app.state.services


def bearer_key(request: Request) -> str:
    """The key of `Authorization: Bearer <key>`; Unauthenticated when missing or malformed."""
    header = request.headers.get("authorization", "").strip()
    if not header:
        raise Unauthenticated("`Authorization` can't be empty")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthenticated("Please check your authorization format.")
    return key


def bearer_principal(request: Request, services: Annotated[Services, Depends(get_services)]) -> Principal:
    key = bearer_key(request)
    try:
        return Principal(tenant_id=services.tenants.resolve(key))
    except Forbidden:
        raise Unauthenticated("Authentication error: API key is invalid!") from None


ServicesDep = Annotated[Services, Depends(get_services)]
BearerDep = Annotated[Principal, Depends(bearer_principal)]
