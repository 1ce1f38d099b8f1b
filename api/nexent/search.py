"""Nexent's searches over several indices (/api/indices/search/*): accurate (keywords), semantic (vectors) and
hybrid, with Nexent's result fields.

Scores are Almanac's, all on 0..1 (core/retrieval.py): accurate = the IDF-weighted share of the query's terms a
chunk contains, semantic = cosine similarity, hybrid = `weight_accurate * accurate + (1 - weight_accurate) *
semantic` with both parts in `score_details`. No threshold: the top_k best come back, as from Elasticsearch.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.nexent.errors import NexentRoute
from api.nexent.views import hit_view
from core.container import Services
from core.errors import InvalidInput

router = APIRouter(prefix="/api/indices/search", tags=["Nexent: search"], route_class=NexentRoute)
MODES = {"accurate": "full_text", "semantic": "semantic", "hybrid": "hybrid"}


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index_names: list[str] = Field(max_length=100, description="Indices to search")
    query: str = Field(max_length=20_000)
    top_k: int = Field(5, ge=1, le=1000)


class HybridBody(SearchBody):
    weight_accurate: float = Field(0.3, ge=0.0, le=1.0, description="Weight of the accurate (keyword) score")


def search(svc: Services, tenant_id: str, body: SearchBody, kind: str) -> dict[str, Any]:
    if not body.query.strip():
        raise InvalidInput("Search query cannot be empty")
    if not body.index_names:
        raise InvalidInput("At least one index name is required")
    started = time.perf_counter()
    names = {}
    for name in body.index_names:
        kb = svc.knowledge.find(tenant_id, name)  # another tenant's index is not found either
        names[kb.id] = kb.name
    weight = 1 - body.weight_accurate if isinstance(body, HybridBody) else None
    hits = svc.retrieval.search(tenant_id, list(names), body.query, mode=MODES[kind], top_k=body.top_k,
                                threshold=0.0, vector_weight=weight)
    docs = {d.id: d for d in svc.documents.get_many(tenant_id, [h.doc_id for h in hits])}
    results = []
    for h in hits:
        score = h.text_score if kind == "accurate" else h.vector_score if kind == "semantic" else h.score
        result = hit_view(h, names[h.kb_id], docs.get(h.doc_id), round(float(score or 0.0), 6))
        if kind == "hybrid":
            result["score_details"] = {"accurate": round(h.text_score or 0.0, 6),
                                       "semantic": round(h.vector_score or 0.0, 6)}
        results.append(result)
    return {"results": results, "total": len(results), "query_time_ms": round((time.perf_counter() - started) * 1000,
                                                                              2)}


@router.post("/accurate", summary="Keyword search over several indices")
def accurate_search(svc: ServicesDep, who: PrincipalDep, body: SearchBody) -> dict:
    return search(svc, who.tenant_id, body, "accurate")


@router.post("/semantic", summary="Vector search over several indices")
def semantic_search(svc: ServicesDep, who: PrincipalDep, body: SearchBody) -> dict:
    return search(svc, who.tenant_id, body, "semantic")


@router.post("/hybrid", summary="Keyword and vector search fused, over several indices")
def hybrid_search(svc: ServicesDep, who: PrincipalDep, body: HybridBody) -> dict:
    return search(svc, who.tenant_id, body, "hybrid")
