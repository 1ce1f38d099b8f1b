"""Rerank providers: none by default; an OpenAI-style `/rerank` service when configured.

Model ids are "provider:model". `mock` reranks by word overlap (tests only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from core.errors import InvalidInput, ProviderError


@dataclass(frozen=True)
class RerankSpec:
    provider: str
    model: str
    base_url: str | None = None
    api_key: str | None = None


class MockReranker:
    def __init__(self, spec: RerankSpec):
        self.spec = spec

    def rerank(self, query: str, documents: list[str]) -> list[float]:
        words = set(re.findall(r"\w+", query.lower()))
        return [len(words & set(re.findall(r"\w+", d.lower()))) / (len(words) or 1) for d in documents]


class HttpReranker:
    """POST {base_url}/rerank {model, query, documents} -> results[{index, relevance_score}] (Jina/Cohere/vLLM style)."""

    def __init__(self, spec: RerankSpec):
        if not spec.base_url:
            raise InvalidInput("The rerank model needs a base URL (ALMANAC_RERANK_BASE_URL)")
        self.spec = spec

    def rerank(self, query: str, documents: list[str]) -> list[float]:
        headers = {"Authorization": f"Bearer {self.spec.api_key}"} if self.spec.api_key else {}
        try:
            r = httpx.post(f"{self.spec.base_url.rstrip('/')}/rerank", headers=headers, timeout=30,
                           json={"model": self.spec.model, "query": query, "documents": documents})
        except httpx.HTTPError as exc:
            raise ProviderError(f"Rerank service unreachable at {self.spec.base_url}: {type(exc).__name__}") from exc
        if r.status_code != 200:
            raise ProviderError(f"Rerank service answered HTTP {r.status_code} for model '{self.spec.model}'")
        scores = [0.0] * len(documents)
        for item in r.json().get("results", []):
            scores[int(item["index"])] = float(item.get("relevance_score", item.get("score", 0.0)))
        return scores


RERANKERS: dict[str, Callable[[RerankSpec], object]] = {"mock": MockReranker, "openai": HttpReranker}


def get_reranker(model_id: str, base_url: str | None = None, api_key: str | None = None):  # noqa: ANN201
    provider, _, model = model_id.partition(":")
    if provider not in RERANKERS:
        raise InvalidInput(f"Unknown rerank provider '{provider}' (valid: {', '.join(RERANKERS)})")
    return RERANKERS[provider](RerankSpec(provider, model, base_url, api_key))
