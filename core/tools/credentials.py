"""A tenant's settings of the built-in tools that need an account (web search, image generation).

They override the server's ALMANAC_SERPER_* / ALMANAC_IMAGES_* settings for that tenant, so an admin can set them
up on the Tools page instead of in the environment. A row per provider in tool_providers (kind "builtin", named
"builtin:<provider>"); the API key is sealed at rest (core/secrets.py) and only ever shown masked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.config import Settings
from core.errors import InvalidInput, NotFound
from core.secrets import Sealer
from core.tools.refs import mask as mask_value
from storage.db import Database
from storage.orm import ToolProvider

KIND = "builtin"
# provider -> form field -> the Settings field it overrides ("api_key" is the secret one)
FIELDS: dict[str, dict[str, str]] = {
    "serper": {"api_key": "serper_api_key", "url": "serper_url"},
    "images": {"api_key": "images_api_key", "base_url": "images_base_url", "model": "images_model"},
}
MAX_VALUE = 2000


def _row_name(provider: str) -> str:
    return f"{KIND}:{provider}"


def _fields(provider: str) -> dict[str, str]:
    if provider not in FIELDS:
        raise NotFound(f"Built-in tool provider '{provider}' has no settings")
    return FIELDS[provider]


def _clean(field: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_VALUE or "\n" in value:
        raise InvalidInput(f"{field} must be one line of text (at most {MAX_VALUE} characters)")
    value = value.strip()
    if field in ("url", "base_url") and value and not value.startswith(("http://", "https://")):
        raise InvalidInput(f"{field} must start with http:// or https://")
    return value


class BuiltinCredentials:
    def __init__(self, db: Database, settings: Settings, sealer: Sealer):
        self.db, self.settings, self.sealer = db, settings, sealer

    def _stored(self, tenant_id: str) -> dict[str, dict[str, str]]:
        with self.db.session() as s:
            rows = s.scalars(select(ToolProvider).where(ToolProvider.tenant_id == tenant_id,
                                                        ToolProvider.kind == KIND)).all()
            return {r.name.removeprefix(f"{KIND}:"): dict(r.config or {}) for r in rows}

    def settings_for(self, tenant_id: str) -> Settings:
        """The server's settings with this tenant's tool settings over them."""
        update: dict[str, str] = {}
        for provider, config in self._stored(tenant_id).items():
            for field, target in FIELDS.get(provider, {}).items():
                value = config.get(field, "")
                if field == "api_key" and value:
                    try:
                        value = self.sealer.unseal(value)
                    except ValueError:  # sealed under another server secret: as if unset
                        value = ""
                if value:
                    update[target] = value
        return self.settings.model_copy(update=update) if update else self.settings

    def form(self, tenant_id: str, provider: str) -> dict[str, str]:
        """What the form shows: the stored values, the key masked; "" where the server's setting applies."""
        fields = _fields(provider)
        config = self._stored(tenant_id).get(provider, {})
        shown = {f: config.get(f, "") for f in fields if f != "api_key"}
        key = self.sealer.unseal(config["api_key"]) if config.get("api_key") else ""
        return {**shown, "api_key": mask_value(key) if key else ""}

    def save(self, tenant_id: str, provider: str, values: dict[str, Any], *, clear_api_key: bool = False) -> None:
        """Store the given fields ("" clears one); an api_key left as its masked form keeps the stored key."""
        fields = _fields(provider)
        unknown = set(values) - set(fields)
        if unknown:
            raise InvalidInput(f"Unknown setting(s) for {provider}: {', '.join(sorted(unknown))}")
        clean = {f: _clean(f, v) for f, v in values.items() if v is not None}
        with self.db.session() as s:
            row = s.scalar(select(ToolProvider).where(ToolProvider.tenant_id == tenant_id,
                                                      ToolProvider.name == _row_name(provider)))
            if row is None:
                row = ToolProvider(tenant_id=tenant_id, kind=KIND, name=_row_name(provider), config={})
                s.add(row)
            config = dict(row.config or {})
            stored_key = self.sealer.unseal(config["api_key"]) if config.get("api_key") else ""
            key = clean.pop("api_key", None)
            if clear_api_key:
                config.pop("api_key", None)
            elif key and key != mask_value(stored_key):
                config["api_key"] = self.sealer.seal(key)
            config.update(clean)
            row.config = config
