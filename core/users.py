"""User accounts: sign-up, sign-in with an access token, sign-out, and who works in which workspace.

- A user works in one workspace (tenant). Signing up creates the user's own workspace (role `owner`); the
  admin, or a workspace's owner, adds `member`s to a workspace. Admins are the users of the default workspace
  (and whoever runs the CLI, or the UI before any user exists). ALMANAC_ALLOW_SIGNUP=false closes sign-up.
- Passwords: bcrypt (cost ALMANAC_PASSWORD_HASH_ROUNDS) over the SHA-256 of the password, because bcrypt reads
  only 72 bytes and the digest keeps every character significant. Names are unique case-insensitively.
- Access tokens: HS256 JSON Web Tokens (PyJWT) signed with a key derived from the server secret
  (core/secrets.py), with the user's id (`sub`), name, a token id (`jti`), issue and expiry times. Every use
  looks the user up again, so a disabled or removed user, or a signed-out token, stops working at once.
- Failed sign-ins are counted per name and per address in the database, so every process sees them: past
  the limit within the window, sign-in is refused until the window has passed, whatever the password.
  A wrong name and a wrong password get the same answer and cost the same time.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import datetime, timedelta, timezone
from functools import cached_property

import bcrypt
import jwt
from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from core.config import Settings
from core.errors import AuthenticationFailed, Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from core.secrets import Sealer
from core.tenants import DEFAULT_TENANT_ID, TenantService
from storage.db import Database
from storage.orm import LoginFailure, RevokedToken, Tenant, User, utcnow

MAX_NAME = 20  # AgentChat: "用户名长度不超过20字符"
MIN_PASSWORD, MAX_PASSWORD = 4, 1024  # the spec's own example signs in as test / test
MAX_EMAIL, MAX_DESCRIPTION, MAX_AVATAR = 255, 1000, 200_000  # an avatar is a URL or a small data: URL
ROLES = ("owner", "member")
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME, MAX_FAILURES_PER_ADDRESS = 5, 20
WRONG_CREDENTIALS = "Wrong user name or password"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ALGORITHM = "HS256"


class UserInfo(BaseModel):
    id: str
    tenant_id: str
    name: str
    email: str
    avatar: str
    description: str
    role: str
    disabled: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None

    @property
    def is_admin(self) -> bool:
        return self.tenant_id == DEFAULT_TENANT_ID


class SignIn(BaseModel):
    user: UserInfo
    token: str
    expires_at: datetime


def user_info(u: User) -> UserInfo:
    return UserInfo(id=u.id, tenant_id=u.tenant_id, name=u.name, email=u.email, avatar=u.avatar,
                    description=u.description, role=u.role, disabled=u.disabled, created_at=u.created_at,
                    updated_at=u.updated_at, last_login_at=u.last_login_at)


def clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("user_name: the user name must not be empty")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(f"user_name: the user name must be at most {MAX_NAME} characters")
    if any(not ch.isprintable() for ch in name):
        raise InvalidInput("user_name: the user name must not contain control characters")
    return name


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"user_password: the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"user_password: the password must be at most {MAX_PASSWORD} characters")
    return password


def _text(value: object, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    if len(value) > limit:
        raise InvalidInput(f"{field} must be at most {limit:,} characters")
    return value.replace("\x00", "").strip()


def clean_email(email: object) -> str:
    email = _text(email, "user_email", MAX_EMAIL)
    if email and not _EMAIL.match(email):
        raise InvalidInput(f"user_email: '{email}' is not an e-mail address")
    return email


def _digest(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


class UserService:
    def __init__(self, db: Database, settings: Settings, sealer: Sealer, tenants: TenantService):
        self.db, self.settings, self.tenants = db, settings, tenants
        self._key = sealer.signing_key("jwt")

    @cached_property
    def _dummy_hash(self) -> str:
        """Compared when the name is unknown, so that costs what a wrong password costs."""
        return self._hash("not a password")

    # ------------------------------------------------------------------ passwords
    def _hash(self, password: str) -> str:
        return bcrypt.hashpw(_digest(password), bcrypt.gensalt(self.settings.password_hash_rounds)).decode("ascii")

    @staticmethod
    def _matches(password: str, hashed: str) -> bool:
        return bcrypt.checkpw(_digest(password), hashed.encode("ascii"))

    # ------------------------------------------------------------------ accounts
    def any_users(self) -> bool:
        with self.db.session() as s:
            return s.scalar(select(User.id).limit(1)) is not None

    def signup(self, name: str, password: str, email: str = "", *, by_admin: bool = False) -> UserInfo:
        """A new account with a workspace of its own (Forbidden when sign-up is turned off, unless the
        administrator makes it)."""
        if not self.settings.signup_open and not by_admin:
            raise Forbidden("Sign-up is turned off on this server; ask its administrator for an account")
        name, password, email = clean_name(name), check_password(password), clean_email(email)
        hashed = self._hash(password)
        with self.db.session() as s:
            self._check_free(s, name)  # before making a workspace
        tenant_id = self.tenants.create_tenant(f"{name}'s workspace")
        try:
            with self.db.session() as s:
                return self._insert(s, tenant_id, name, hashed, email, "owner")
        except BaseException:
            with self.db.session() as s:  # the name was taken meanwhile: no workspace without its user
                s.execute(delete(Tenant).where(Tenant.id == tenant_id))
            raise

    def add(self, actor: UserInfo | None, tenant_id: str, name: str, password: str, *, email: str = "",
            role: str = "member") -> UserInfo:
        """A user added to a workspace by the admin (actor None: the CLI, or the UI before any user exists),
        an admin user, or the workspace's owner."""
        self._check_manager(actor, tenant_id)
        if role not in ROLES:
            raise InvalidInput(f"role must be one of: {', '.join(ROLES)}")
        name, password, email = clean_name(name), check_password(password), clean_email(email)
        hashed = self._hash(password)
        with self.db.session() as s:
            if s.get(Tenant, tenant_id) is None:
                raise NotFound(f"Workspace '{tenant_id}' not found", kind="tenant", ident=tenant_id)
            return self._insert(s, tenant_id, name, hashed, email, role)

    @staticmethod
    def _check_free(s, name: str) -> None:  # noqa: ANN001 - a Session
        if s.scalar(select(User.id).where(User.name_key == name.casefold())) is not None:
            raise Conflict(f"The user name '{name}' is already taken")

    @classmethod
    def _insert(cls, s, tenant_id: str, name: str, hashed: str, email: str, role: str) -> UserInfo:  # noqa: ANN001
        cls._check_free(s, name)
        user = User(tenant_id=tenant_id, name=name, name_key=name.casefold(), email=email, password_hash=hashed,
                    role=role)
        s.add(user)
        try:
            s.flush()
        except IntegrityError:  # the same name, signed up at the same moment
            raise Conflict(f"The user name '{name}' is already taken") from None
        return user_info(user)

    @staticmethod
    def _check_manager(actor: UserInfo | None, tenant_id: str) -> None:
        if actor is None or actor.is_admin or (actor.tenant_id == tenant_id and actor.role == "owner"):
            return
        raise Forbidden("Only the workspace's owner or an administrator can manage its users")

    def _load(self, s, tenant_id: str | None, user_id: str) -> User:  # noqa: ANN001
        user = s.get(User, user_id) if isinstance(user_id, str) and user_id else None
        if user is None or (tenant_id is not None and user.tenant_id != tenant_id):
            raise NotFound(f"User '{user_id}' not found", kind="user", ident=str(user_id))
        return user

    def get(self, tenant_id: str, user_id: str) -> UserInfo:
        """A user of this workspace (another workspace's user is not found)."""
        with self.db.session() as s:
            return user_info(self._load(s, tenant_id, user_id))

    def find(self, name: str) -> UserInfo | None:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name_key == (name or "").strip().casefold()))
            return user_info(user) if user else None

    def list(self, tenant_id: str) -> list[UserInfo]:
        with self.db.session() as s:
            rows = s.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.created_at, User.id))
            return [user_info(u) for u in rows]

    def update_profile(self, user_id: str, *, avatar: str | None = None, description: str | None = None,
                       email: str | None = None) -> UserInfo:
        """What a user may change about themselves; None keeps a field."""
        values = {"avatar": None if avatar is None else _text(avatar, "user_avatar", MAX_AVATAR),
                  "description": None if description is None else _text(description, "user_description",
                                                                         MAX_DESCRIPTION),
                  "email": None if email is None else clean_email(email)}
        with self.db.session() as s:
            user = self._load(s, None, user_id)
            for field, value in values.items():
                if value is not None:
                    setattr(user, field, value)
            s.flush()
            return user_info(user)

    def set_password(self, user_id: str, password: str) -> None:
        """A new password; the user's tokens issued before now stop working."""
        hashed = self._hash(check_password(password))
        with self.db.session() as s:
            user = self._load(s, None, user_id)
            user.password_hash, user.password_changed_at = hashed, utcnow()

    def set_disabled(self, actor: UserInfo | None, tenant_id: str, user_id: str, disabled: bool) -> UserInfo:
        self._check_manager(actor, tenant_id)
        with self.db.session() as s:
            user = self._load(s, tenant_id, user_id)
            if actor is not None and actor.id == user.id:
                raise InvalidInput("You cannot disable your own account")
            user.disabled = disabled
            s.flush()
            return user_info(user)

    def remove(self, actor: UserInfo | None, tenant_id: str, user_id: str) -> None:
        """The account goes; the workspace and what it holds stay."""
        self._check_manager(actor, tenant_id)
        with self.db.session() as s:
            user = self._load(s, tenant_id, user_id)
            if actor is not None and actor.id == user.id:
                raise InvalidInput("You cannot remove your own account")
            s.delete(user)

    # ------------------------------------------------------------------ signing in
    def login(self, name: str, password: str, address: str = "") -> SignIn:
        """A fresh access token; AuthenticationFailed for a wrong name or password (the same words for both),
        RateLimited while this name or address has too many recent failures."""
        keys = [f"name:{str(name or '').strip().casefold()[:100]}"] + ([f"addr:{address[:100]}"] if address else [])
        self._check_rate(keys)
        name_key = str(name or "").strip().casefold()
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name_key == name_key))
            hashed = user.password_hash if user is not None else self._dummy_hash
            ok = self._matches(str(password or ""), hashed) and user is not None and not user.disabled
            if ok:
                s.execute(delete(LoginFailure).where(LoginFailure.key == keys[0]))
                s.execute(update(User).where(User.id == user.id)  # a sign-in is not a change of the account
                          .values(last_login_at=utcnow(), updated_at=User.updated_at))
                s.refresh(user)
                info = user_info(user)
            else:
                s.add_all([LoginFailure(key=k) for k in keys])
        if not ok:
            raise AuthenticationFailed(WRONG_CREDENTIALS)
        return self._issue(info)

    def _check_rate(self, keys: list[str]) -> None:
        since = utcnow() - FAILURE_WINDOW
        with self.db.session() as s:
            s.execute(delete(LoginFailure).where(LoginFailure.created_at < since))
            for key, limit in zip(keys, (MAX_FAILURES_PER_NAME, MAX_FAILURES_PER_ADDRESS)):
                count, oldest = s.execute(select(func.count(), func.min(LoginFailure.created_at))
                                          .where(LoginFailure.key == key, LoginFailure.created_at >= since)).one()
                if count >= limit:
                    wait = max(1, int((oldest + FAILURE_WINDOW - utcnow()).total_seconds()))
                    what = "this user name" if key.startswith("name:") else "this address"
                    raise RateLimited(f"Too many failed sign-ins for {what}; try again in {-(-wait // 60)} "
                                      f"minute(s)", retry_after=wait)

    def _issue(self, user: UserInfo) -> SignIn:
        now = datetime.now(timezone.utc)
        expires = now + timedelta(minutes=self.settings.token_ttl_minutes)
        claims = {"sub": user.id, "name": user.name, "jti": uuid.uuid4().hex, "iat": now, "exp": expires}
        token = jwt.encode(claims, self._key, algorithm=_ALGORITHM)
        return SignIn(user=user, token=token, expires_at=expires.replace(tzinfo=None))

    def _claims(self, token: str) -> dict:
        try:
            return jwt.decode(token, self._key, algorithms=[_ALGORITHM], options={"require": ["exp", "sub", "jti"]})
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("The access token has expired; sign in again") from None
        except jwt.InvalidTokenError:
            raise AuthenticationFailed("The access token is invalid") from None

    def resolve_token(self, token: str) -> UserInfo:
        """The signed-in user of an access token; AuthenticationFailed when it is expired, signed out, forged,
        older than the user's last password change, or its user is gone or disabled."""
        claims = self._claims(token)
        with self.db.session() as s:
            user = s.get(User, str(claims["sub"]))
            if user is None or user.disabled:
                raise AuthenticationFailed("The access token's user no longer exists or is disabled")
            if s.get(RevokedToken, str(claims["jti"])) is not None:
                raise AuthenticationFailed("The access token was signed out; sign in again")
            changed = user.password_changed_at
            if changed is not None and int(claims.get("iat", 0)) < int(changed.replace(tzinfo=timezone.utc).timestamp()):
                raise AuthenticationFailed("The password was changed; sign in again")
            return user_info(user)

    def logout(self, token: str) -> None:
        """The token stops working at once (its id is kept until it would have expired anyway)."""
        claims = self._claims(token)
        expires = datetime.fromtimestamp(int(claims["exp"]), timezone.utc).replace(tzinfo=None)
        with self.db.session() as s:
            s.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
            if s.get(User, str(claims["sub"])) is not None and s.get(RevokedToken, str(claims["jti"])) is None:
                s.add(RevokedToken(jti=str(claims["jti"]), user_id=str(claims["sub"]), expires_at=expires))
