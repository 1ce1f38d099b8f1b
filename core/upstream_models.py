"""The upstream model service: an OpenAI-compatible server (settings `model_engine_url` / `model_engine_api_key`)
whose models a workspace may pick, as Nexent's ModelEngine.

Lists its models (`GET <url>/models`), checks that it answers, and checks one model with a real minimal call
(core/model_configs.py's verify, provider openai). OpenAI's model list carries no type; ModelEngine's does
(`chat`, `embed`, `rerank`, `asr`, `tts`); without one the type is guessed from the model's name.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel

from core.config import Settings
from core.errors import InvalidInput, NotConfigured, NotFound, ProviderError

UPSTREAM_TYPES = {"chat": "llm", "embed": "embedding", "rerank": "rerank", "asr": "stt", "tts": "tts"}
NAME_HINTS = (("rerank", "rerank"), ("embed", "embed"), ("bge-", "embed"), ("whisper", "asr"), ("asr", "asr"),
              ("tts", "tts"))


class UpstreamModel(BaseModel):
    id: str
    name: str
    type: str  # chat | embed | rerank | asr | tts
    description: str
    owned_by: str


def guess_type(model_id: str) -> str:
    lowered = model_id.lower()
    return next((kind for hint, kind in NAME_HINTS if hint in lowered), "chat")


class UpstreamModels:
    def __init__(self, settings: Settings, models: object):
        self.settings, self.models = settings, models  # models: ModelService (verify)

    @property
    def base_url(self) -> str:
        url = self.settings.model_engine_url.strip().rstrip("/")
        if not url:
            raise NotConfigured("No upstream model service is configured: set ALMANAC_MODEL_ENGINE_URL (an "
                                "OpenAI-compatible base URL such as https://host/v1) and ALMANAC_MODEL_ENGINE_API_KEY")
        return url

    def _get_models(self, timeout: float) -> list[dict]:
        headers = {"Authorization": f"Bearer {self.settings.model_engine_api_key}"} \
            if self.settings.model_engine_api_key else {}
        try:
            r = httpx.get(f"{self.base_url}/models", headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            raise ProviderError(f"The upstream model service did not answer within {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"The upstream model service cannot be reached ({type(exc).__name__})") from None
        if r.status_code != 200:
            raise ProviderError(f"The upstream model service answered HTTP {r.status_code}")
        try:
            data = r.json().get("data")
        except (ValueError, AttributeError):
            data = None
        if not isinstance(data, list):
            raise ProviderError("The upstream model service did not return a model list")
        return [m for m in data if isinstance(m, dict) and m.get("id")]

    def list(self, type: str = "", timeout: float = 5.0) -> list[UpstreamModel]:  # noqa: A002 - Nexent's name
        """The service's models, of one type (`chat`, `embed`, ...) when asked."""
        if type and type not in UPSTREAM_TYPES:
            raise InvalidInput(f"type must be one of: {', '.join(UPSTREAM_TYPES)}")
        found = [UpstreamModel(id=str(m["id"]), name=str(m.get("name") or m["id"]),
                               type=str(m.get("type") or guess_type(str(m["id"]))),
                               description=str(m.get("description") or ""), owned_by=str(m.get("owned_by") or ""))
                 for m in self._get_models(timeout)]
        return [m for m in found if not type or m.type == type]

    def ping(self, timeout: float = 5.0) -> int:
        """How many models the service offers; ProviderError when it does not answer properly."""
        return len(self._get_models(timeout))

    def check(self, model_name: str, timeout: float = 5.0) -> tuple[bool, str]:
        """(reachable, verdict) for one of the service's models, by a real minimal call."""
        model = next((m for m in self.list(timeout=timeout) if m.id == model_name), None)
        if model is None:
            raise NotFound(f"The upstream model service has no model '{model_name}'", kind="model_config",
                           ident=model_name)
        if model.type not in UPSTREAM_TYPES:
            return False, f"Models of type '{model.type}' cannot be checked"
        ok, verdict, _ = self.models.verify(UPSTREAM_TYPES[model.type], "openai", model.id, self.base_url,
                                            self.settings.model_engine_api_key)
        return ok, verdict
