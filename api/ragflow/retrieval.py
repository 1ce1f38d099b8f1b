"""RAGFlow retrieval: /api/v1/retrieval over Almanac's hybrid search.

`cross_languages` (the languages to translate the question into; absent = the datasets' own setting) and
`keyword: true` (keywords extracted by the model) map onto cross-language search (core/query_expansion.py);
the question's variants are highlighted too."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import MAX_IDS, MAX_PAGE, MAX_PAGE_SIZE
from api.ragflow.chunks import positions
from api.ragflow.bulk import page_window
from api.ragflow.errors import ARGUMENT, DialectError, RagflowRoute, argument_error, data_error
from api.ragflow.views import ok
from core.errors import NotFound
from core.query_expansion import Expansion
from core.schemas import SearchHit
from core.text import search_tokens

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: retrieval"], route_class=RagflowRoute)
MAX_TOP_K = 1000  # the core's limit on results per search


class Retrieval(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer clients send options this version does not know
    question: str | None = None
    dataset_ids: list[str] | None = Field(None, max_length=MAX_IDS)
    document_ids: list[str] | None = Field(None, max_length=MAX_IDS)
    page: int = Field(1, ge=0, le=MAX_PAGE)  # 0 = 1, as in RAGFlow
    page_size: int = Field(30, ge=0, le=MAX_PAGE_SIZE)
    similarity_threshold: float = Field(0.2, ge=0, le=1)
    vector_similarity_weight: float = 0.3  # RAGFlow takes any number; the weight used is kept within 0..1
    top_k: int = Field(1024, le=MAX_PAGE_SIZE)  # RAGFlow's vector candidate pool: it never limits a page
    rerank_id: str | int | None = None
    keyword: bool = False
    highlight: bool = False
    cross_languages: list[str] | None = None
    metadata_condition: dict[str, Any] | None = None


def metadata_filter(condition: dict[str, Any] | None) -> dict[str, Any] | None:
    """RAGFlow's metadata_condition, for the equality conditions joined by "and" that the core filter supports."""
    if not condition or not condition.get("conditions"):
        return None
    if str(condition.get("logic", "and")).lower() != "and":
        raise DialectError(ARGUMENT, "metadata_condition: only logic 'and' is supported")
    wanted = {}
    for c in condition["conditions"]:
        if not isinstance(c, dict) or c.get("comparison_operator", "is") not in ("is", "=") or not c.get("name"):
            raise DialectError(ARGUMENT, "metadata_condition: only 'is' conditions on a named field are "
                                                 "supported")
        wanted[c["name"]] = c.get("value")
    return wanted


def highlight(content: str, question: str) -> str:
    """The content with the question's terms wrapped in <em>."""
    terms = sorted({t for t in search_tokens(question) if t.strip()}, key=len, reverse=True)
    if not terms:
        return content
    alternatives = [rf"\b{re.escape(t)}\b" if t.isascii() and t.isalnum() else re.escape(t) for t in terms]
    return re.sub("|".join(alternatives), lambda m: f"<em>{m.group(0)}</em>", content, flags=re.IGNORECASE)


def hit_view(h: SearchHit, question: str, with_highlight: bool) -> dict[str, Any]:
    view = {
        "id": h.chunk_id, "content": h.content, "content_ltks": " ".join(search_tokens(h.content)),
        "document_id": h.doc_id, "document_keyword": h.document_name, "document_name": h.document_name,
        "kb_id": h.kb_id, "dataset_id": h.kb_id, "important_keywords": list(h.keywords), "image_id": "",
        "positions": positions(h.meta), "similarity": h.score, "vector_similarity": h.vector_score or 0.0,
        "term_similarity": h.text_score or 0.0,
    }
    if with_highlight:
        view["highlight"] = highlight(h.content, question)
    return view


def doc_aggs(hits: list[SearchHit]) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for h in hits:
        agg = counts.setdefault(h.doc_id, {"doc_name": h.document_name, "doc_id": h.doc_id, "count": 0})
        agg["count"] += 1
    return sorted(counts.values(), key=lambda a: a["count"], reverse=True)


@router.post("/retrieval", summary="Retrieve chunks from datasets")
def retrieve(svc: ServicesDep, who: PrincipalDep, body: Retrieval) -> dict:
    if not body.dataset_ids:
        raise data_error("`dataset_ids` is required.")
    dataset_ids = list(dict.fromkeys(body.dataset_ids))
    for kb_id in dataset_ids:
        svc.knowledge.require(who.tenant_id, kb_id)
    for doc_id in body.document_ids or []:
        try:
            owner = svc.documents.get(who.tenant_id, doc_id).kb_id
        except NotFound:
            owner = None
        if owner not in dataset_ids:
            raise data_error(f"The datasets don't own the document {doc_id}")
    if not (body.question or "").strip():
        raise data_error("`question` is required.")
    if body.top_k <= 0:
        raise argument_error("`top_k` must be greater than 0")
    start, stop = page_window(body.page, body.page_size)
    found = svc.retrieval.search_expanded(
        who.tenant_id, dataset_ids, body.question, mode="hybrid", top_k=min(max(body.top_k, stop), MAX_TOP_K),
        threshold=body.similarity_threshold, vector_weight=min(max(body.vector_similarity_weight, 0.0), 1.0),
        doc_ids=body.document_ids or None, metadata_filter=metadata_filter(body.metadata_condition),
        rerank_model=str(body.rerank_id) if body.rerank_id not in (None, "") else None, source="api",
        expansion=Expansion.of(body.cross_languages, True if body.keyword else None))
    hits = found.hits
    terms = " ".join(v.keywords or v.text for v in found.variants)  # highlight what each variant matched
    page = hits[start:stop]
    return ok({"chunks": [hit_view(h, terms, body.highlight) for h in page], "doc_aggs": doc_aggs(hits),
               "total": len(hits)})
