"""Who is calling: one credential resolver for every dialect, and the request dependencies.

A credential arrives as `Authorization: Bearer <key>` (RAGFlow, LLMOps, OpenAI, AgentChat), `X-API-Key: <key>`
(WeKnora) or `?api_key=<key>` (WebSockets and links, where headers are awkward). Whatever the form, the same
key names the same tenant, so every dialect accepts every form. A signed-in user's access token (a JWT from
AgentChat's /user/login) is accepted wherever a key is: it names the user's workspace, and the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends
from starlette.requests import HTTPConnection

from api.common.errors import Unauthenticated
from core.container import Services
from core.errors import AuthenticationFailed, Forbidden
from core.tenants import DEFAULT_TENANT_ID


@dataclass(frozen=True)
class Credential:
    value: str
    source: Literal["bearer", "x-api-key", "query"]

    @property
    def is_jwt(self) -> bool:
        """A JSON Web Token (three base64url parts) rather than an API key."""
        parts = self.value.split(".")
        return len(parts) == 3 and all(parts) and self.value.startswith("eyJ")


@dataclass(frozen=True)
class Principal:
    """Who is calling: everything a request touches is scoped to this tenant."""

    tenant_id: str
    anonymous: bool = False  # no credential where one is optional: built-in, offline providers only
    user_id: str = ""  # the signed-in user, when the credential is a user's access token (not an API key)


def read_credential(conn: HTTPConnection) -> Credential | None:
    """The caller's credential, or None; Unauthenticated for an Authorization header that is not `Bearer <x>`."""
    header = conn.headers.get("authorization", "").strip()
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Please check your authorization format: `Authorization: Bearer <API key>`.",
                                  "malformed")
        return Credential(value.strip(), "bearer")
    if key := conn.headers.get("x-api-key", "").strip():
        return Credential(key, "x-api-key")
    if key := conn.query_params.get("api_key", "").strip():
        return Credential(key, "query")
    return None


def authenticate(services: Services, credential: Credential) -> Principal:
    if credential.is_jwt:
        try:
            user = services.users.resolve_token(credential.value)
        except AuthenticationFailed as exc:
            raise Unauthenticated(exc.message, "invalid") from None
        return Principal(tenant_id=user.tenant_id, user_id=user.id)
    try:
        return Principal(tenant_id=services.tenants.resolve(credential.value))
    except Forbidden:
        raise Unauthenticated("Invalid API key", "invalid") from None


def get_services(conn: HTTPConnection) -> Services:
    return conn.app.state.services


def require_principal(conn: HTTPConnection) -> Principal:
    credential = read_credential(conn)
    if credential is None:
        raise Unauthenticated("`Authorization` can't be empty: send `Authorization: Bearer <API key>` or "
                              "`X-API-Key: <API key>`.", "missing")
    return authenticate(get_services(conn), credential)


def optional_principal(conn: HTTPConnection) -> Principal:
    """The key's tenant, or an anonymous caller of the default workspace when no key is sent."""
    credential = read_credential(conn)
    if credential is None:
        return Principal(tenant_id=DEFAULT_TENANT_ID, anonymous=True)
    return authenticate(get_services(conn), credential)


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(require_principal)]
OptionalPrincipalDep = Annotated[Principal, Depends(optional_principal)]
