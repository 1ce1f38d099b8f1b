"""Retrieval: semantic, full-text and hybrid search over a tenant's knowledge bases.

Scores are on 0..1 so one threshold means the same thing in every mode:
- vector score: the cosine similarity of query and chunk embeddings, calibrated per model and language
  pair (core/calibration.py): for the bundled e5 model, clip((cosine - lo) / (hi - lo)) with lo the
  90th percentile similarity of unrelated pairs and hi the 95th percentile of related ones (English
  pairs 0.821 -> 0.904, Chinese pairs 0.863 -> 0.933, mixed 0.788 -> 0.837), so an unrelated chunk
  scores ~0 and a threshold separates related from unrelated (bench/calibration.py measures it);
- text score: the IDF-weighted share of the query's terms that the chunk contains
  (BM25 picks the candidates and breaks ties);
- hybrid: `w * vector + (1 - w) * text`, with both parts computed for every candidate
  of either list, so fusion never guesses a missing score.

Defaults (knowledge bases, assistants, agents and Hit testing alike, from core/calibration.py): hybrid,
semantic weight 0.7, threshold 0.3, top 5.

Keyword candidates come from the in-memory BM25 of each knowledge base (core/keyword_index.py)
when it is at the knowledge base's current chunks_version, else from the database's full-text
index (storage/keywords.py). Hit counts and the query log are written in the background
(core/hit_recorder.py).

`search` may run several variants of a question (translations, glossary terms: core/query_expansion.py),
each through `search_once`, and fuse them: a chunk keeps its best score.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select

from core import keyword_index
from core.calibration import is_chinese, semantic_score
from core.config import Settings
from core.embedding import EmbeddingService
from core.errors import InvalidInput
from core.hit_recorder import HitRecorder, SearchRecord
from core.keyword_index import KbIndex, KeywordIndexes
from core.providers.rerank import get_reranker
from core.query_expansion import ExpandedSearch, Expansion, QueryExpander, QueryVariant
from core.schemas import QueryLogEntry, RetrievalConfig, SearchHit
from core.scope import load_kb
from core.text import search_tokens
from storage import keywords as keyword_store  # `keywords` is a parameter below
from storage.db import Database
from storage.orm import Chunk, Document, QueryLog
from storage.vectors import VectorStore

MODES = ("semantic", "full_text", "hybrid")
_HIT_COLUMNS = (Chunk.id, Chunk.kb_id, Chunk.doc_id, Chunk.position, Chunk.content, Chunk.keywords, Chunk.meta,
                Chunk.search_text, Chunk.embedded)
# A query is a question, not a document: past this, embedding and term matching only cost time.
MAX_QUERY_CHARS = 4_000
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
    def __init__(self, db: Database, vectors: VectorStore, embeddings: EmbeddingService, settings: Settings,
                 expander: QueryExpander | None = None):
        self.db, self.vectors, self.embeddings, self.settings = db, vectors, embeddings, settings
        self.keyword_indexes = KeywordIndexes(db)
        self.recorder = HitRecorder(db)
        self.expander = expander  # cross-language variants of a question (None: the question as asked)

    def flush(self) -> None:
        """Wait until the hit counts and query log of every finished search are stored."""
        self.recorder.flush()

    def close(self) -> None:
        if self.expander is not None:
            self.expander.close()
        self.recorder.close()
        self.keyword_indexes.close()

    # ------------------------------------------------------------------ cross-language (core/query_expansion.py)
    def search(self, tenant_id: str, kb_ids: Sequence[str], query: str, *, expansion: Expansion | None = None,
               record: bool = True, **options: Any) -> list[SearchHit]:
        """The hits of search_expanded: what most callers need."""
        return self.search_expanded(tenant_id, kb_ids, query, expansion=expansion, record=record, **options).hits

    def search_expanded(self, tenant_id: str, kb_ids: Sequence[str], query: str, *,
                        expansion: Expansion | None = None, record: bool = True, **options: Any) -> ExpandedSearch:
        """The question and its variants (translations, glossary terms; by the knowledge bases' settings unless
        `expansion` says otherwise), each searched by search_once with `options`, fused; logged as one search."""
        def once(variant: QueryVariant, sink: Callable[[SearchRecord], None]) -> list[SearchHit]:
            return self.search_once(tenant_id, kb_ids, variant.text, record=sink, keywords=variant.keywords,
                                    **options)

        if self.expander is None:
            return ExpandedSearch([QueryVariant(query, "question")], self.search_once(
                tenant_id, kb_ids, query, record=record, **options))
        return self.expander.search(tenant_id, kb_ids, query, expansion, once, self.recorder.add if record else None)

    # ------------------------------------------------------------------ one query
    def search_once(self, tenant_id: str, kb_ids: Sequence[str], query: str, *, mode: str | None = None,
                    top_k: int | None = None, threshold: float | None = None, vector_weight: float | None = None,
                    doc_ids: Sequence[str] | None = None, metadata_filter: dict | None = None,
                    rerank_model: str | None = None, source: str = "api",
                    record: bool | Callable[[SearchRecord], None] = True,
                    keywords: str | None = None) -> list[SearchHit]:
        """One query, as written; `keywords` is what the keyword side looks for when it differs from the query.
        `record` may be a callable that receives the search's record instead."""
        started = time.perf_counter()
        query = (query or "").replace("\x00", "").strip()
        if not query:
            raise InvalidInput("The query must not be empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidInput(f"The query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}. "
                               "Ask a shorter question.")
        kb_ids = list(dict.fromkeys(kb_ids))
        if not kb_ids:
            raise InvalidInput("Choose at least one knowledge base to search")
        with self.db.session() as s:
            kbs = [load_kb(s, tenant_id, k) for k in kb_ids]
            defaults = RetrievalConfig.model_validate(kbs[0].retrieval_config or {})
            models = {kb.id: kb.embedding_model for kb in kbs}
            versions = {kb.id: kb.chunks_version for kb in kbs}
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

        if mode != "full_text":
            self.vectors.open_in_background()  # a first search: open Chroma while the query is embedded
        qvecs = {m: self.embeddings.query(m, query) for m in set(models.values())} if mode != "full_text" else {}
        vec_scores: dict[str, float] = {}
        if mode != "full_text":
            vec_scores = self._nearest(kb_ids, models, qvecs, n_candidates, self._vector_filter(allowed_docs, False))
        q_tokens = list(dict.fromkeys(search_tokens(query if keywords is None else keywords)))
        indexes = self.keyword_indexes.current(versions) if mode != "semantic" else None
        with self.db.session() as s:
            bm25: dict[str, float] = {}
            rows = self._load(s, set(vec_scores), allowed_docs)
            if mode != "semantic":
                if indexes is not None:
                    total = sum(i.size for i in indexes.values())
                    dfs = {t: sum(i.df(t) for i in indexes.values()) for t in q_tokens}
                else:
                    total, dfs = keyword_store.document_frequencies(s, q_tokens)
                idf = {t: _idf(total, dfs.get(t, 0)) for t in q_tokens}
                if indexes is not None:
                    bm25 = self._keyword_candidates(s, list(indexes.values()), idf, n_candidates, allowed_docs, rows)
                else:
                    bm25 = dict(keyword_store.search(s, kb_ids, _selective(q_tokens, dfs, total), n_candidates,
                                                allowed_docs))
                    rows.update(self._load(s, set(bm25) - set(rows), allowed_docs))
            if mode != "full_text" and len(vec_scores) >= n_candidates and \
                    sum(cid in rows for cid in vec_scores) < top_k:
                # Many of the nearest are disabled: only now pay for Chroma's metadata filter.
                vec_scores = self._nearest(kb_ids, models, qvecs, n_candidates,
                                           self._vector_filter(allowed_docs, True))
                rows.update(self._load(s, set(vec_scores) - set(rows), allowed_docs))
        rows = {cid: r for cid, r in rows.items() if cid in vec_scores or cid in bm25}
        if mode == "hybrid":
            missing = [cid for cid, r in rows.items() if cid not in vec_scores and r.embedded]
            for kb_id in kb_ids:
                ids = [cid for cid in missing if rows[cid].kb_id == kb_id]
                for cid, vec in self.vectors.get_vectors(kb_id, ids).items():
                    vec_scores[cid] = float(np.dot(vec, qvecs[models[kb_id]]))

        hits = []
        idf_total = sum(idf.values()) if mode != "semantic" and q_tokens else 0.0
        query_chinese = is_chinese(query)
        for cid, chunk in rows.items():
            v = None
            if mode != "full_text":
                v = semantic_score(models[chunk.kb_id], vec_scores[cid], query_chinese, chunk.content) \
                    if cid in vec_scores else 0.0
            t = None
            if mode != "semantic":
                present = set(chunk.search_text.split())
                t = sum(w for tok, w in idf.items() if tok in present) / idf_total if idf_total else 0.0
            score = v if mode == "semantic" else t if mode == "full_text" else weight * v + (1 - weight) * t
            hits.append(SearchHit(chunk_id=cid, kb_id=chunk.kb_id, doc_id=chunk.doc_id,
                                  document_name=chunk.document_name,
                                  position=chunk.position, content=chunk.content, keywords=list(chunk.keywords),
                                  meta=dict(chunk.meta or {}), score=score, vector_score=v, text_score=t))
        # Ties (calibration clips every far passage to 0) keep the order of the evidence behind them.
        hits.sort(key=lambda h: (h.score, bm25.get(h.chunk_id, 0.0), vec_scores.get(h.chunk_id, 0.0)), reverse=True)
        hits = [h for h in hits if h.score >= threshold]
        if rerank:
            hits = self._rerank(rerank, query, hits[: n_candidates])
        hits = hits[:top_k]
        if record:
            (self.recorder.add if record is True else record)(SearchRecord(
                tenant_id=tenant_id, kb_ids=tuple(kb_ids), query=query, mode=mode, source=source, top_k=top_k,
                elapsed_ms=(time.perf_counter() - started) * 1000,
                hits=tuple((h.chunk_id, h.doc_id, h.kb_id) for h in hits)))
        return hits

    def _keyword_candidates(self, s, indexes: list[KbIndex], idf: dict[str, float], n: int,
                            allowed_docs: list[str] | None, rows: dict) -> dict[str, float]:
        """The n best BM25 matches that may be shown (their rows are added to `rows`). The index
        holds disabled chunks too, so when too many of the best are disabled, look deeper."""
        allowed = set(allowed_docs) if allowed_docs is not None else None
        checked: set[str] = set()
        pool = n
        while True:
            ranked = keyword_index.top(indexes, idf, pool, allowed)
            fresh = {cid for cid, _ in ranked} - checked - set(rows)
            rows.update(self._load(s, fresh, allowed_docs))
            checked |= fresh
            shown = [(cid, score) for cid, score in ranked if cid in rows]
            if len(shown) >= n or len(ranked) < pool:
                return dict(shown[:n])
            pool *= 4

    def _document_filter(self, s, tenant_id: str, kb_ids: list[str], doc_ids: Sequence[str] | None,
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
    def _load(s, ids: set[str], allowed_docs: list[str] | None) -> dict:
        """Candidate rows that may be shown: the database, not the index, has the last word.
        Only the columns a hit needs (not hit counts, hashes, timestamps, ...)."""
        if not ids:
            return {}
        q = (select(*_HIT_COLUMNS, Document.name.label("document_name")).join(Document, Document.id == Chunk.doc_id)
             .where(Chunk.id.in_(list(ids)), Chunk.enabled.is_(True), Document.enabled.is_(True)))
        if allowed_docs is not None:
            q = q.where(Chunk.doc_id.in_(allowed_docs))
        return {r.id: r for r in s.execute(q)}

    def _rerank(self, model: str, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        if not hits:
            return hits
        reranker = get_reranker(model, self.settings.rerank_base_url or None, self.settings.rerank_api_key or None)
        scores = reranker.rerank(query, [h.content for h in hits])
        for h, sc in zip(hits, scores, strict=True):
            h.score = float(sc)
        return sorted(hits, key=lambda h: h.score, reverse=True)

    def recent_queries(self, tenant_id: str, kb_id: str | None = None, limit: int = 20) -> list[QueryLogEntry]:
        self.flush()  # the log as of every search that has returned
        with self.db.session() as s:
            q = select(QueryLog).where(QueryLog.tenant_id == tenant_id)
            if kb_id:
                load_kb(s, tenant_id, kb_id)
                q = q.where(QueryLog.kb_id == kb_id)
            rows = s.scalars(q.order_by(QueryLog.created_at.desc()).limit(limit)).all()
            return [QueryLogEntry(id=r.id, kb_id=r.kb_id, query=r.query, mode=r.mode, source=r.source, top_k=r.top_k,
                                  result_count=r.result_count, elapsed_ms=r.elapsed_ms, created_at=r.created_at)
                    for r in rows]
