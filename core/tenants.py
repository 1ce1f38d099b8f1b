"""Tenants and their API keys.

A tenant is a workspace: every row a caller reaches belongs to one. Besides its string id, each tenant has a
stable integer `number` (WeKnora's clients type tenant_id as uint), never given to another tenant after a
deletion; the default tenant is number 1.

Keys: a SHA-256 hash finds a key's tenant (`resolve` only reads; a key's last use is stamped in the background).
The key itself is also kept sealed (core/secrets.py), never in plain text, so a tenant's record can show it
again. The key a record shows is the tenant's most recently created one.

Administration: the default (admin) tenant manages every tenant; any other tenant may read and update itself
only (Forbidden otherwise). Deleting a tenant removes everything it owns: knowledge bases with their documents,
chunks, vectors and uploaded files, models, assistants, conversations, tools and keys.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings
from core.errors import Forbidden, InvalidInput, NotFound
from core.secrets import Sealer
from storage.db import Database, insert_ignore
from storage.orm import ApiKey, Counter, KnowledgeBase, QueryLog, Tenant, UploadFile, new_id, utcnow

if TYPE_CHECKING:
    from storage.files import BlobStore
    from storage.vectors import VectorStore

log = logging.getLogger(__name__)
DEFAULT_TENANT_ID = "default"
DEFAULT_TENANT_NUMBER = 1
TENANT_COUNTER = "tenant_number"  # storage.orm.Counter: the last number given to a tenant
KEY_PREFIX = "almanac-"
STAMP_EVERY_S = 60  # a key's last_used_at is written at most this often: requests never wait on a write


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


class TenantInfo(BaseModel):
    id: str
    number: int
    name: str
    description: str
    api_key: str  # the tenant's newest key ("" when it has none, or it was sealed with another secret)
    is_default: bool
    created_at: datetime
    updated_at: datetime


class ApiKeyInfo(BaseModel):
    id: str
    tenant_id: str
    name: str
    prefix: str  # the key's first characters: enough to tell keys apart
    created_at: datetime
    last_used_at: datetime | None


def key_info(k: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(id=k.id, tenant_id=k.tenant_id, name=k.name, prefix=k.key_prefix, created_at=k.created_at,
                      last_used_at=k.last_used_at)


def _clean(value: str | None, what: str, limit: int, *, required: bool) -> str:
    value = (value or "").replace("\x00", "").strip()
    if required and not value:
        raise InvalidInput(f"The tenant's {what} must not be empty")
    if len(value) > limit:
        raise InvalidInput(f"The tenant's {what} is longer than {limit} characters")
    return value


class TenantService:
    def __init__(self, db: Database, settings: Settings, sealer: Sealer | None = None,
                 stores: Callable[[], tuple[VectorStore, BlobStore]] | None = None):
        """`stores` gives the vector and blob stores a deleted tenant's data is removed from (asked for only
        then, so resolving keys never opens them)."""
        self.db, self.settings, self.stores = db, settings, stores
        self.sealer = sealer or Sealer(settings)
        self._numbers: dict[str, int] = {}  # tenant id -> number (numbers never change)
        self._stamped: dict[str, float] = {}  # key id -> when this process last queued its stamp
        self._stamp_lock = threading.Lock()
        self._stamper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="key-stamps")

    def ensure_default(self) -> str:
        """Create the default tenant and its admin key on first start; return the admin key.

        ALMANAC_ADMIN_API_KEY wins; otherwise a generated key is kept in the data dir
        (readable only by its owner) so every later start prints the same one.
        """
        key = self.settings.admin_api_key
        key_file = self.settings.admin_key_file
        if not key and key_file.exists():
            key = key_file.read_text().strip()
        if not key:
            key = generate_key()
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key + "\n")
        # Insert-or-skip: several processes may start together on a fresh database.
        now = utcnow()
        with self.db.session() as s:
            insert_ignore(s, Tenant.__table__, [{"id": DEFAULT_TENANT_ID, "number": DEFAULT_TENANT_NUMBER,
                                                 "name": "Default workspace", "description": "", "created_at": now,
                                                 "updated_at": now}])
            insert_ignore(s, ApiKey.__table__,
                          [{"id": new_id(), "tenant_id": DEFAULT_TENANT_ID, "name": "admin", "key_hash": hash_key(key),
                            "key_prefix": key[:12], "key_sealed": self.sealer.seal(key), "created_at": now}])
            s.execute(update(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.key_sealed == "")
                      .values(key_sealed=self.sealer.seal(key)))  # a key stored before keys were sealed
        return key

    # ------------------------------------------------------------------ tenants (no caller checks)
    def create_tenant(self, name: str, description: str = "") -> str:
        """A new tenant with the next free number; its id. Callers that act for someone use create()."""
        name = _clean(name, "name", 255, required=True)
        description = _clean(description, "description", 10_000, required=False)
        for _ in range(5):  # a number taken outside the counter: the unique index refuses it, the next one is tried
            try:
                with self.db.session() as s:  # the counter's row lock orders concurrent creations
                    s.execute(update(Counter).where(Counter.name == TENANT_COUNTER).values(value=Counter.value + 1))
                    number = s.scalar(select(Counter.value).where(Counter.name == TENANT_COUNTER))
                    tenant = Tenant(name=name, description=description, number=number)
                    s.add(tenant)
                    s.flush()
                    return tenant.id
            except IntegrityError:
                continue
        raise InvalidInput("Could not assign a tenant number; try again")

    def create_api_key(self, tenant_id: str, name: str = "") -> str:
        """A new key for the tenant; the plain key is returned here and shown again only from its seal."""
        name = _clean(name, "key name", 255, required=False)
        key = generate_key()
        with self.db.session() as s:
            if s.get(Tenant, tenant_id) is None:
                raise NotFound(f"Tenant '{tenant_id}' not found", kind="tenant", ident=tenant_id)
            s.add(ApiKey(tenant_id=tenant_id, name=name, key_hash=hash_key(key), key_prefix=key[:12],
                         key_sealed=self.sealer.seal(key)))
        return key

    def number_of(self, tenant_id: str) -> int:
        """A tenant's integer id."""
        if tenant_id not in self._numbers:
            with self.db.session() as s:
                number = s.scalar(select(Tenant.number).where(Tenant.id == tenant_id))
            if number is None:
                raise NotFound(f"Tenant '{tenant_id}' not found", kind="tenant", ident=tenant_id)
            self._numbers[tenant_id] = number
        return self._numbers[tenant_id]

    def find(self, ref: str) -> TenantInfo:
        """A tenant by number, id or name (for the command line, which acts as the admin)."""
        ref = (ref or "").strip()
        with self.db.session() as s:
            t = s.scalar(select(Tenant).where(Tenant.number == int(ref))) if ref.isdigit() and len(ref) < 10 else \
                s.get(Tenant, ref)
            if t is None:
                named = s.scalars(select(Tenant).where(func.lower(Tenant.name) == ref.lower())).all()
                if len(named) > 1:
                    raise InvalidInput(f"Several tenants are named '{ref}'; use the number")
                t = named[0] if named else None
            if t is None:
                raise NotFound(f"No tenant with number, id or name '{ref}'", kind="tenant", ident=ref)
            return self._info(s, t)

    # ------------------------------------------------------------------ administration by a caller
    def create(self, actor: str, name: str, description: str = "") -> TenantInfo:
        """A tenant with its first key (the admin only)."""
        self._require_admin(actor)
        tenant_id = self.create_tenant(name, description)
        self.create_api_key(tenant_id, "default")
        with self.db.session() as s:
            return self._info(s, s.get(Tenant, tenant_id))

    def get(self, actor: str, number: int) -> TenantInfo:
        with self.db.session() as s:
            return self._info(s, self._load(s, actor, number))

    def list(self, actor: str) -> list[TenantInfo]:
        """Every tenant for the admin; any other tenant sees itself."""
        q = select(Tenant).order_by(Tenant.number)
        if actor != DEFAULT_TENANT_ID:
            q = q.where(Tenant.id == actor)
        with self.db.session() as s:
            return [self._info(s, t) for t in s.scalars(q)]

    def update(self, actor: str, number: int, *, name: str | None = None,
               description: str | None = None) -> TenantInfo:
        with self.db.session() as s:
            t = self._load(s, actor, number)
            if name is not None:
                t.name = _clean(name, "name", 255, required=True)
            if description is not None:
                t.description = _clean(description, "description", 10_000, required=False)
            t.updated_at = utcnow()
            s.flush()
            return self._info(s, t)

    def delete(self, actor: str, number: int) -> None:
        """The tenant and everything it owns (the admin only; the default tenant stays)."""
        self._require_admin(actor)
        with self.db.session() as s:
            t = self._load(s, actor, number)
            if t.id == DEFAULT_TENANT_ID:
                raise InvalidInput("The default tenant cannot be deleted")
            kb_ids = list(s.scalars(select(KnowledgeBase.id).where(KnowledgeBase.tenant_id == t.id)))
            blob_keys = set(s.scalars(select(UploadFile.storage_key).where(UploadFile.tenant_id == t.id)))
            s.execute(delete(QueryLog).where(QueryLog.tenant_id == t.id))
            s.delete(t)  # the database cascades to every row that references the tenant
        self._numbers.pop(t.id, None)
        if self.stores is None:
            return
        vectors, blobs = self.stores()
        for kb_id in kb_ids:
            vectors.drop(kb_id)
        with self.db.session() as s:  # blobs are shared by content: keep those another upload still uses
            used = set(s.scalars(select(UploadFile.storage_key).where(UploadFile.storage_key.in_(blob_keys))))
        for key in blob_keys - used:
            blobs.delete(key)

    @staticmethod
    def _require_admin(actor: str) -> None:
        if actor != DEFAULT_TENANT_ID:
            raise Forbidden("Only the admin key (the default tenant's) may create or delete tenants")

    @staticmethod
    def _load(s: Session, actor: str, number: int) -> Tenant:
        """The tenant `actor` may manage: any for the admin, itself for the others (Forbidden, whether or not
        the number exists, so numbers reveal nothing)."""
        t = s.scalar(select(Tenant).where(Tenant.number == number)) if isinstance(number, int) else None
        if actor != DEFAULT_TENANT_ID and (t is None or t.id != actor):
            raise Forbidden("A tenant's key may read and update only that tenant")
        if t is None:
            raise NotFound(f"Tenant {number} not found", kind="tenant", ident=str(number))
        return t

    def _info(self, s: Session, t: Tenant) -> TenantInfo:
        self._numbers[t.id] = t.number
        sealed = s.scalar(select(ApiKey.key_sealed).where(ApiKey.tenant_id == t.id, ApiKey.key_sealed != "")
                          .order_by(ApiKey.created_at.desc(), ApiKey.id.desc()).limit(1))
        api_key = ""
        if sealed:
            try:
                api_key = self.sealer.unseal(sealed)
            except ValueError as exc:
                log.warning("Tenant %s: %s", t.id, exc)
        return TenantInfo(id=t.id, number=t.number, name=t.name, description=t.description, api_key=api_key,
                          is_default=t.id == DEFAULT_TENANT_ID, created_at=t.created_at, updated_at=t.updated_at)

    # ------------------------------------------------------------------ keys
    def list_keys(self, tenant_id: str) -> list[ApiKeyInfo]:
        with self.db.session() as s:
            return [key_info(k) for k in s.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id)
                                                   .order_by(ApiKey.created_at, ApiKey.id))]

    def revoke_key(self, tenant_id: str, key_ref: str) -> ApiKeyInfo:
        """Delete one of the tenant's keys, given its id or its prefix; it stops working at once."""
        with self.db.session() as s:
            rows = s.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id)).all()
            found = [k for k in rows if k.id == key_ref] or [k for k in rows if key_ref and k.key_prefix == key_ref]
            if not found:
                raise NotFound(f"The tenant has no key '{key_ref}'", kind="api_key", ident=key_ref)
            if len(found) > 1:
                raise InvalidInput(f"Several keys start with '{key_ref}'; use the key's id")
            key = found[0]
            if tenant_id == DEFAULT_TENANT_ID and key.name == "admin" and self._is_configured_admin(key):
                raise InvalidInput("This is the admin key of ALMANAC_ADMIN_API_KEY or data/admin_api_key, restored at "
                                   "every start: change that setting or file instead")
            s.delete(key)
            return key_info(key)

    def _is_configured_admin(self, key: ApiKey) -> bool:
        configured = self.settings.admin_api_key
        if not configured and self.settings.admin_key_file.exists():
            configured = self.settings.admin_key_file.read_text().strip()
        return bool(configured) and hash_key(configured) == key.key_hash

    def resolve(self, key: str) -> str:
        """The tenant an API key belongs to; Forbidden when the key is unknown. Reads only: the key's
        last-used time is stamped in the background, at most once a minute."""
        with self.db.session() as s:
            row = s.execute(select(ApiKey.id, ApiKey.tenant_id, ApiKey.last_used_at)
                            .where(ApiKey.key_hash == hash_key(key or ""))).first()
        if row is None:
            raise Forbidden("Invalid API key")
        if row.last_used_at is None or utcnow() - row.last_used_at > timedelta(seconds=STAMP_EVERY_S):
            self._stamp_later(row.id)
        return row.tenant_id

    def _stamp_later(self, key_id: str) -> None:
        now = time.monotonic()
        with self._stamp_lock:
            if now - self._stamped.get(key_id, -STAMP_EVERY_S) < STAMP_EVERY_S:
                return
            self._stamped[key_id] = now
        self._stamper.submit(self._stamp, key_id)

    def _stamp(self, key_id: str) -> None:
        with self.db.session() as s:
            s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))

    def close(self) -> None:
        """Write the stamps still queued."""
        self._stamper.shutdown(wait=True)
