"""Tenants and API keys. Keys are stored as SHA-256 hashes; the plain key is shown once."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select, update

from core.config import Settings
from core.errors import Forbidden, NotFound
from storage.db import Database, insert_ignore
from storage.orm import ApiKey, Tenant, new_id, utcnow

DEFAULT_TENANT_ID = "default"
KEY_PREFIX = "almanac-"
STAMP_EVERY_S = 60  # a key's last_used_at is written at most this often: requests never wait on a write


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


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
