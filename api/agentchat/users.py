"""AgentChat's user routes: register, login, logout, info, update (core/users.py does the work)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.agentchat.errors import AgentchatRoute, ok
from api.agentchat.views import user_view
from api.common.auth import Principal, PrincipalDep, ServicesDep, read_credential
from core.errors import Forbidden

router = APIRouter(prefix="/api/v1", tags=["AgentChat: users"], route_class=AgentchatRoute)


class RegisterReq(BaseModel):
    user_name: str
    user_email: str | None = None
    user_password: str


class LoginReq(BaseModel):
    user_name: str
    user_password: str


class UpdateReq(BaseModel):
    user_id: str
    user_avatar: str | None = None
    user_description: str | None = None
    user_email: str | None = None


def signed_in(principal: Principal) -> str:
    """The caller's user id; an API key names a workspace, not a user."""
    if not principal.user_id:
        raise Forbidden("This needs a signed-in user's access token (from /api/v1/user/login), not an API key")
    return principal.user_id


@router.post("/user/register", summary="Create an account (and its own workspace)")
def register(req: RegisterReq, svc: ServicesDep) -> dict:
    return ok(user_view(svc.users.signup(req.user_name, req.user_password, email=req.user_email or "")))


@router.post("/user/login", summary="Sign in: an access token for `Authorization: Bearer <token>`")
def login(req: LoginReq, request: Request, svc: ServicesDep) -> dict:
    address = request.client.host if request.client else ""
    signin = svc.users.login(req.user_name, req.user_password, address=address)
    return ok({"user_id": signin.user.id, "access_token": signin.token, "token_type": "bearer",
               "expires_at": signin.expires_at.isoformat() + "Z"})


@router.post("/user/logout", summary="Sign out: the access token stops working")
def logout(request: Request, principal: PrincipalDep, svc: ServicesDep) -> dict:
    signed_in(principal)
    svc.users.logout(read_credential(request).value)
    return ok()


@router.get("/user/info", summary="A user of your workspace (yourself when user_id is omitted)")
def info(principal: PrincipalDep, svc: ServicesDep, user_id: str = "") -> dict:
    return ok(user_view(svc.users.get(principal.tenant_id, user_id or signed_in(principal))))


@router.put("/user/update", summary="Change your avatar, description (and e-mail)")
def update(req: UpdateReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    if req.user_id != signed_in(principal):
        raise Forbidden("You can only update your own profile")
    return ok(user_view(svc.users.update_profile(req.user_id, avatar=req.user_avatar,
                                                 description=req.user_description, email=req.user_email)))
