"""Tenants and API keys. Keys are stored as SHA-256 hashes; the plain key is shown once."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select, update

from core.config import Settings
from core.errors import Forbidden, InvalidInput, NotFound
from storage.db import Database, insert_ignore
from storage.orm import ApiKey, Tenant, new_id, utcnow

DEFAULT_TENANT_ID = "default"
KEY_PREFIX = "almanac-"
STAMP_EVERY_S = 60  # a key's last_used_at is written at most this often: requests never wait on a write


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


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


class TenantService:
    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
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
        with self.db.session() as s:
            insert_ignore(s, Tenant.__table__,
                          [{"id": DEFAULT_TENANT_ID, "name": "Default workspace", "created_at": utcnow()}])
            insert_ignore(s, ApiKey.__table__,
                          [{"id": new_id(), "tenant_id": DEFAULT_TENANT_ID, "name": "admin", "key_hash": hash_key(key),
                            "key_prefix": key[:12], "created_at": utcnow()}])
        return key

    def create_tenant(self, name: str) -> str:
        with self.db.session() as s:
            tenant = Tenant(name=name)
            s.add(tenant)
            s.flush()
            return tenant.id

    def create_api_key(self, tenant_id: str, name: str = "") -> str:
        """A new key for the tenant; the only time the plain key is available."""
        key = generate_key()
        with self.db.session() as s:
            if s.get(Tenant, tenant_id) is None:
                raise NotFound(f"Tenant '{tenant_id}' not found")
            s.add(ApiKey(tenant_id=tenant_id, name=name, key_hash=hash_key(key), key_prefix=key[:12]))
        return key

    def name_of(self, tenant_id: str) -> str:
        with self.db.session() as s:
            tenant = s.get(Tenant, tenant_id)
            if tenant is None:
                raise NotFound(f"Tenant '{tenant_id}' not found", kind="tenant", ident=tenant_id)
            return tenant.name

    def list_keys(self, tenant_id: str) -> list[ApiKeyInfo]:
        with self.db.session() as s:
            return [key_info(k) for k in s.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id)
                                                   .order_by(ApiKey.created_at, ApiKey.id))]

    def revoke_key(self, tenant_id: str, key_id: str) -> ApiKeyInfo:
        """Delete one of the tenant's keys; it stops working at once."""
        with self.db.session() as s:
            key = s.get(ApiKey, key_id) if isinstance(key_id, str) and key_id else None
            if key is None or key.tenant_id != tenant_id:
                raise NotFound(f"The tenant has no key '{key_id}'", kind="api_key", ident=str(key_id))
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
