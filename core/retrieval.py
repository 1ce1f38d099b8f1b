"""Retrieval: semantic, full-text and hybrid search over a tenant's knowledge bases.

Scores are on 0..1 so one threshold means the same thing in every mode:
- vector score: cosine similarity of query and chunk embeddings;
- text score: the IDF-weighted share of the query's terms that the chunk contains
  (BM25 picks the candidates and breaks ties);
- hybrid: `w * vector + (1 - w) * text`, with both parts computed for every candidate
  of either list, so fusion never guesses a missing score.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from sqlalchemy import select, update

from core.config import Settings
from core.embedding import EmbeddingService
from core.errors import InvalidInput
from core.providers.rerank import get_reranker
from core.schemas import QueryLogEntry, RetrievalConfig, SearchHit
from core.scope import load_kb
from core.text import search_tokens
from storage import keywords
from storage.db import Database
from storage.orm import Chunk, Document, KnowledgeBase, QueryLog
from storage.vectors import VectorStore

MODES = ("semantic", "full_text", "hybrid")
COMMON_TERM_SHARE = 0.05  # a term in more than this share of all chunks does not select candidates


def _idf(total: int, df: int) -> float:
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


def _selective(tokens: list[str], dfs: dict[str, int], total: int) -> list[str]:
    """The query terms that pick candidates: words in most chunks ("the" of a domain) add little to
    BM25 but make the index walk long lists. Every term still counts in the text score."""
    if total < 1000:  # small collections are cheap to search in full
        return tokens
    present = [t for t in tokens if dfs.get(t, 0)]
    rare = [t for t in present if dfs[t] <= COMMON_TERM_SHARE * total]
    return rare or sorted(present, key=dfs.__getitem__)[:2]


class RetrievalService:
    def __init__(self, db: Database, vectors: VectorStore, embeddings: EmbeddingService, settings: Settings):
        self.db, self.vectors, self.embeddings, self.settings = db, vectors, embeddings, settings

    def search(self, tenant_id: str, kb_ids: Sequence[str], query: str, *, mode: str | None = None,
               top_k: int | None = None, threshold: float | None = None, vector_weight: float | None = None,
               doc_ids: Sequence[str] | None = None, metadata_filter: dict | None = None,
               rerank_model: str | None = None, source: str = "api", record: bool = True) -> list[SearchHit]:
        started = time.perf_counter()
        query = (query or "").replace("\x00", "").strip()
        if not query:
            raise InvalidInput("The query must not be empty")
        kb_ids = list(dict.fromkeys(kb_ids))
        if not kb_ids:
            raise InvalidInput("Choose at least one knowledge base to search")
        with self.db.session() as s:
            kbs = [load_kb(s, tenant_id, k) for k in kb_ids]
            defaults = RetrievalConfig.model_validate(kbs[0].retrieval_config or {})
            models = {kb.id: kb.embedding_model for kb in kbs}
            allowed_docs = self._document_filter(s, tenant_id, kb_ids, doc_ids, metadata_filter)
        mode = mode or defaults.mode
        if mode not in MODES:
            raise InvalidInput(f"Unknown search mode '{mode}' (valid: {', '.join(MODES)})")
        top_k = defaults.top_k if top_k is None else top_k
        threshold = defaults.threshold if threshold is None else threshold
        weight = defaults.vector_weight if vector_weight is None else vector_weight
        if not 1 <= top_k <= 1000:
            raise InvalidInput("top_k must be between 1 and 1000")
        if not (0.0 <= threshold <= 1.0 and 0.0 <= weight <= 1.0):
            raise InvalidInput("threshold and vector_weight must be between 0 and 1")
        rerank = rerank_model if rerank_model is not None else defaults.rerank_model
        n_candidates = max(top_k * 4, 50)

        qvecs = {m: self.embeddings.query(m, query) for m in set(models.values())} if mode != "full_text" else {}
        vec_scores: dict[str, float] = {}
        if mode != "full_text":
            vec_scores = self._nearest(kb_ids, models, qvecs, n_candidates, self._vector_filter(allowed_docs, False))
        q_tokens = list(dict.fromkeys(search_tokens(query)))
        with self.db.session() as s:
            bm25: dict[str, float] = {}
            if mode != "semantic":
                total, dfs = keywords.document_frequencies(s, q_tokens)
                idf = {t: _idf(total, dfs.get(t, 0)) for t in q_tokens}
                bm25 = dict(keywords.search(s, kb_ids, _selective(q_tokens, dfs, total), n_candidates, allowed_docs))
            rows = self._load(s, set(vec_scores) | set(bm25), allowed_docs)
            if mode != "full_text" and len(vec_scores) >= n_candidates and \
                    sum(cid in rows for cid in vec_scores) < top_k:
                # Many of the nearest are disabled: only now pay for Chroma's metadata filter.
                vec_scores = self._nearest(kb_ids, models, qvecs, n_candidates,
                                           self._vector_filter(allowed_docs, True))
                rows = self._load(s, set(vec_scores) | set(bm25), allowed_docs)
        if mode == "hybrid":
            missing = [cid for cid, (c, _) in rows.items() if cid not in vec_scores and c.embedded]
            for kb_id in kb_ids:
                ids = [cid for cid in missing if rows[cid][0].kb_id == kb_id]
                for cid, vec in self.vectors.get_vectors(kb_id, ids).items():
                    vec_scores[cid] = float(np.dot(vec, qvecs[models[kb_id]]))

        hits = []
        idf_total = sum(idf.values()) if mode != "semantic" and q_tokens else 0.0
        for cid, (chunk, doc_name) in rows.items():
            v = max(0.0, min(1.0, vec_scores.get(cid, 0.0))) if mode != "full_text" else None
            t = None
            if mode != "semantic":
                present = set(chunk.search_text.split())
                t = sum(w for tok, w in idf.items() if tok in present) / idf_total if idf_total else 0.0
            score = v if mode == "semantic" else t if mode == "full_text" else weight * v + (1 - weight) * t
            hits.append(SearchHit(chunk_id=cid, kb_id=chunk.kb_id, doc_id=chunk.doc_id, document_name=doc_name,
                                  position=chunk.position, content=chunk.content, keywords=list(chunk.keywords),
                                  meta=dict(chunk.meta or {}), score=score, vector_score=v, text_score=t))
        hits.sort(key=lambda h: (h.score, bm25.get(h.chunk_id, 0.0)), reverse=True)
        hits = [h for h in hits if h.score >= threshold]
        if rerank:
            hits = self._rerank(rerank, query, hits[: n_candidates])
        hits = hits[:top_k]
        if record:
            self._record(tenant_id, kb_ids, query, mode, source, top_k, hits, time.perf_counter() - started)
        return hits

    def _document_filter(self, s, tenant_id: str, kb_ids: list[str], doc_ids: Sequence[str] | None,  # noqa: ANN001
                         metadata_filter: dict | None) -> list[str] | None:
        """The documents a search may return, or None for all of the knowledge bases'."""
        if doc_ids is None and not metadata_filter:
            return None
        q = select(Document.id, Document.meta).where(Document.tenant_id == tenant_id, Document.kb_id.in_(kb_ids))
        if doc_ids is not None:
            q = q.where(Document.id.in_(list(doc_ids)))
        rows = s.execute(q).all()
        if doc_ids is not None:
            unknown = set(doc_ids) - {r.id for r in rows}
            if unknown:
                raise InvalidInput(f"Documents not found in these knowledge bases: {', '.join(sorted(unknown))}")
        if metadata_filter:
            rows = [r for r in rows if all((r.meta or {}).get(k) == v for k, v in metadata_filter.items())]
        return [r.id for r in rows]

    def _nearest(self, kb_ids: list[str], models: dict[str, str], qvecs: dict, n: int,
                 where: dict | None) -> dict[str, float]:
        scores: dict[str, float] = {}
        for kb_id in kb_ids:
            scores.update(self.vectors.query(kb_id, qvecs[models[kb_id]], n, where))
        return scores

    @staticmethod
    def _vector_filter(allowed_docs: list[str] | None, enabled_only: bool) -> dict | None:
        """Chroma `where`: the document filter, and `enabled` only when asked — filtering on
        metadata makes Chroma's search several times slower, and the database has the last
        word on what is enabled anyway."""
        parts = ([{"enabled": True}] if enabled_only else []) + (
            [{"doc_id": {"$in": allowed_docs or [""]}}] if allowed_docs is not None else [])
        return None if not parts else parts[0] if len(parts) == 1 else {"$and": parts}

    @staticmethod
    def _load(s, ids: set[str], allowed_docs: list[str] | None) -> dict[str, tuple[Chunk, str]]:  # noqa: ANN001
        """Candidate rows that may be shown: the database, not the index, has the last word."""
        if not ids:
            return {}
        q = (select(Chunk, Document.name).join(Document, Document.id == Chunk.doc_id)
             .where(Chunk.id.in_(list(ids)), Chunk.enabled.is_(True), Document.enabled.is_(True)))
        if allowed_docs is not None:
            q = q.where(Chunk.doc_id.in_(allowed_docs))
        return {c.id: (c, name) for c, name in s.execute(q)}

    def _rerank(self, model: str, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        if not hits:
            return hits
        reranker = get_reranker(model, self.settings.rerank_base_url or None, self.settings.rerank_api_key or None)
        scores = reranker.rerank(query, [h.content for h in hits])
        for h, sc in zip(hits, scores, strict=True):
            h.score = float(sc)
        return sorted(hits, key=lambda h: h.score, reverse=True)

    def _record(self, tenant_id: str, kb_ids: list[str], query: str, mode: str, source: str, top_k: int,
                hits: list[SearchHit], elapsed: float) -> None:
        """Count hits on chunks, documents and knowledge bases, and log the query per knowledge base."""
        with self.db.session() as s:
            if hits:
                chunk_ids = [h.chunk_id for h in hits]
                s.execute(update(Chunk).where(Chunk.id.in_(chunk_ids)).values(hit_count=Chunk.hit_count + 1))
                per_doc: dict[str, int] = {}
                for h in hits:
                    per_doc[h.doc_id] = per_doc.get(h.doc_id, 0) + 1
                for doc_id, n in per_doc.items():
                    s.execute(update(Document).where(Document.id == doc_id).values(hit_count=Document.hit_count + n))
            for kb_id in kb_ids:
                n = sum(1 for h in hits if h.kb_id == kb_id)
                if n:
                    s.execute(update(KnowledgeBase).where(KnowledgeBase.id == kb_id)
                              .values(hit_count=KnowledgeBase.hit_count + n))
                s.add(QueryLog(tenant_id=tenant_id, kb_id=kb_id, query=query[:2000], mode=mode, source=source,
                               top_k=top_k, result_count=n, elapsed_ms=elapsed * 1000))

    def recent_queries(self, tenant_id: str, kb_id: str | None = None, limit: int = 20) -> list[QueryLogEntry]:
        with self.db.session() as s:
            q = select(QueryLog).where(QueryLog.tenant_id == tenant_id)
            if kb_id:
                load_kb(s, tenant_id, kb_id)
                q = q.where(QueryLog.kb_id == kb_id)
            rows = s.scalars(q.order_by(QueryLog.created_at.desc()).limit(limit)).all()
            return [QueryLogEntry(id=r.id, kb_id=r.kb_id, query=r.query, mode=r.mode, source=r.source, top_k=r.top_k,
                                  result_count=r.result_count, elapsed_ms=r.elapsed_ms, created_at=r.created_at)
                    for r in rows]
