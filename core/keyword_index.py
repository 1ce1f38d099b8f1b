"""In-memory BM25 per knowledge base, kept in step with the database by a version counter.

The database's full-text index (storage/keywords.py) is always right but slow for common words at
scale (FTS5 walks and ranks every match). Here each knowledge base's chunks are held as postings
in numpy arrays, so ranking is a few vector operations.

Freshness: `knowledge_bases.chunks_version` is bumped by database triggers in the same transaction
as any chunk insert, delete or search_text change (migration 0005), by any process. An index is
used only when its version equals the one the caller just read with the knowledge base row, which
the search loads anyway: the check costs no extra query. Otherwise the caller falls back to the
database index while a rebuild runs in the background (small knowledge bases are rebuilt inline).
The index holds disabled chunks too: enabled flags change without a rebuild, and search filters
candidates against the database, which has the last word.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from storage.db import Database
from storage.orm import Chunk, KnowledgeBase

log = logging.getLogger(__name__)

K1, B = 1.2, 0.75  # the usual BM25 parameters (as FTS5's bm25())
INLINE_BUILD_LIMIT = 5_000  # up to this many chunks a search rebuilds inline (~0.1 s); above, in the background
MAX_POSTINGS = 40_000_000  # ~320 MB of postings in memory; least recently used indexes are dropped first
PANDAS_FACTORIZE_FROM = 200_000  # tokens
REBUILD_PAUSE = 4.0  # while chunks keep changing, rest this many build durations between background rebuilds


@dataclass(frozen=True)
class KbIndex:
    """An immutable snapshot of one knowledge base's search_text, as of `version`."""

    kb_id: str
    version: int
    chunk_ids: np.ndarray  # object array of chunk ids, by row
    doc_rows: np.ndarray  # int32: row -> position in doc_ids
    doc_ids: list[str]
    vocab: dict[str, int]  # term -> term number
    indptr: np.ndarray  # int64: term t's postings are [indptr[t], indptr[t+1])
    post_rows: np.ndarray  # int32 rows
    post_weights: np.ndarray  # float32 BM25 term weight without IDF: tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl))

    @property
    def size(self) -> int:
        return len(self.chunk_ids)

    def df(self, term: str) -> int:
        t = self.vocab.get(term)
        return 0 if t is None else int(self.indptr[t + 1] - self.indptr[t])

    def scores(self, idf: dict[str, float], allowed_docs: set[str] | None = None) -> np.ndarray:
        """BM25 of every row for the weighted terms; rows outside `allowed_docs` score 0."""
        out = np.zeros(self.size, dtype=np.float32)
        for term, weight in idf.items():
            t = self.vocab.get(term)
            if t is not None:
                lo, hi = self.indptr[t], self.indptr[t + 1]
                out[self.post_rows[lo:hi]] += np.float32(weight) * self.post_weights[lo:hi]
        if allowed_docs is not None:
            keep = np.fromiter((d in allowed_docs for d in self.doc_ids), dtype=bool, count=len(self.doc_ids))
            out[~keep[self.doc_rows]] = 0.0
        return out


_ROW_BREAK = "\x01"  # a token no search_text contains (control characters are stripped below)


def factorize(tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Term numbers in order of first appearance, and the terms. pandas' hash factorisation wins on
    big inputs; a dict is as quick on small ones and spares a command-line search pandas' ~0.5 s import."""
    if len(tokens) > PANDAS_FACTORIZE_FROM:
        import pandas as pd

        return pd.factorize(np.array(tokens, dtype=object))
    numbers: dict[str, int] = {}
    codes = np.fromiter((numbers.setdefault(t, len(numbers)) for t in tokens), dtype=np.int64, count=len(tokens))
    return codes, np.array(list(numbers), dtype=object)


def build_index(kb_id: str, version: int, rows: list[tuple[str, str, str]]) -> KbIndex:
    """Index (chunk id, doc id, search_text) rows; search_text is already analysed (space-separated tokens).

    Vectorised: one split of all texts joined by a row-break token, pandas' hash factorisation for
    term numbers, one sort of (term, row) keys. A per-row Python loop takes ~4x longer at 100k chunks.
    """
    n = len(rows)
    doc_pos: dict[str, int] = {}
    doc_rows = np.fromiter((doc_pos.setdefault(r[1], len(doc_pos)) for r in rows), dtype=np.int32, count=n)
    joined = f" {_ROW_BREAK} ".join(r[2].replace(_ROW_BREAK, " ") for r in rows)
    codes, uniques = factorize(joined.split())
    del joined
    codes = codes.astype(np.int64)
    breaks = np.flatnonzero(uniques == _ROW_BREAK)
    is_break = codes == breaks[0] if len(breaks) else np.zeros(len(codes), dtype=bool)
    row_of = np.cumsum(is_break)[~is_break]  # tokens before the first break belong to row 0
    codes = codes[~is_break]
    # Term numbers without the row-break token.
    if len(breaks):
        codes -= codes > breaks[0]
        uniques = np.delete(uniques, breaks[0])
    vocab = {str(t): i for i, t in enumerate(uniques)}
    lengths = np.bincount(row_of, minlength=n).astype(np.int64)
    # Postings grouped by term: sort (term, row) keys once; runs of equal keys give term frequencies.
    keys = np.sort(codes * max(n, 1) + row_of)
    run_start = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else keys
    tf = np.diff(np.append(run_start, len(keys))).astype(np.float32)
    keys = keys[run_start]
    post_terms, post_rows = keys // max(n, 1), (keys % max(n, 1)).astype(np.int32)
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(post_terms, minlength=len(vocab)), out=indptr[1:])
    avgdl = float(lengths.mean()) if n and lengths.sum() else 1.0
    dl = lengths[post_rows].astype(np.float32)
    weights = tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))
    return KbIndex(kb_id=kb_id, version=version, chunk_ids=np.array([r[0] for r in rows], dtype=object),
                   doc_rows=doc_rows, doc_ids=list(doc_pos), vocab=vocab, indptr=indptr, post_rows=post_rows,
                   post_weights=weights.astype(np.float32))


class KeywordIndexes:
    """The process's in-memory indexes, one per knowledge base, rebuilt when their version moves."""

    def __init__(self, db: Database, inline_limit: int = INLINE_BUILD_LIMIT):
        self.db, self.inline_limit = db, inline_limit
        self._indexes: OrderedDict[str, KbIndex] = OrderedDict()
        self._building: set[str] = set()
        self._inline_locks: dict[str, threading.Lock] = {}
        self._next_build: dict[str, float] = {}  # kb id -> monotonic time before which no background rebuild
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="keyword-index")

    def current(self, versions: dict[str, int]) -> dict[str, KbIndex] | None:
        """The indexes of these knowledge bases at exactly these versions, or None when any is not
        ready (then a background rebuild is under way and the caller uses the database index)."""
        found: dict[str, KbIndex] = {}
        for kb_id, version in versions.items():
            with self._lock:
                idx = self._indexes.get(kb_id)
                if idx is not None:
                    self._indexes.move_to_end(kb_id)
            if idx is None or idx.version != version:
                idx = self._refresh(kb_id, idx)
            if idx is None or idx.version != version:
                return None
            found[kb_id] = idx
        return found

    def _refresh(self, kb_id: str, stale: KbIndex | None) -> KbIndex | None:
        size = stale.size if stale is not None else self._count(kb_id)
        if size <= self.inline_limit:
            # Concurrent searches of a changed knowledge base wait for one build instead of each building.
            with self._lock:
                build_lock = self._inline_locks.setdefault(kb_id, threading.Lock())
            with build_lock:
                with self._lock:
                    fresh = self._indexes.get(kb_id)
                if fresh is not None and fresh is not stale and (stale is None or fresh.version > stale.version):
                    return fresh
                return self.build(kb_id)
        with self._lock:
            # During a long ingestion every build is stale at once: pausing keeps rebuilds to a
            # fraction of one core, and searches meanwhile use the database index.
            if kb_id not in self._building and time.monotonic() >= self._next_build.get(kb_id, 0.0):
                self._building.add(kb_id)
                self._pool.submit(self._build_in_background, kb_id)
        return None

    def _build_in_background(self, kb_id: str) -> None:
        started = time.monotonic()
        try:
            self.build(kb_id)
        except Exception:
            log.exception("building the keyword index of %s failed", kb_id)
        finally:
            with self._lock:
                self._building.discard(kb_id)
                self._next_build[kb_id] = time.monotonic() + REBUILD_PAUSE * (time.monotonic() - started)

    def _count(self, kb_id: str) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count(Chunk.id)).where(Chunk.kb_id == kb_id)) or 0

    def build(self, kb_id: str) -> KbIndex | None:
        """(Re)build and keep one knowledge base's index; None when the knowledge base is gone."""
        started = time.perf_counter()
        with self.db.session() as s:
            # The version is read before the rows: a change committed in between makes the index
            # newer than its label, so it is rebuilt once more, never trusted while stale.
            version = s.scalar(select(KnowledgeBase.chunks_version).where(KnowledgeBase.id == kb_id))
            if version is None:
                self.forget(kb_id)
                return None
            rows = s.execute(select(Chunk.id, Chunk.doc_id, Chunk.search_text).where(Chunk.kb_id == kb_id)).all()
        idx = build_index(kb_id, version, [tuple(r) for r in rows])
        with self._lock:
            old = self._indexes.get(kb_id)
            if old is None or old.version <= version:
                self._indexes[kb_id] = idx
                self._indexes.move_to_end(kb_id)
            while len(self._indexes) > 1 and sum(len(i.post_rows) for i in self._indexes.values()) > MAX_POSTINGS:
                self._indexes.popitem(last=False)
        log.debug("keyword index of %s: %d chunks in %.2f s", kb_id, idx.size, time.perf_counter() - started)
        return idx

    def forget(self, kb_id: str) -> None:
        with self._lock:
            self._indexes.pop(kb_id, None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def top(indexes: list[KbIndex], idf: dict[str, float], limit: int,
        allowed_docs: set[str] | None = None) -> list[tuple[str, float]]:
    """The `limit` best (chunk id, BM25) over several knowledge bases, best first; only rows with a match."""
    ids, scores = [np.empty(0, dtype=object)], [np.empty(0, dtype=np.float32)]
    for idx in indexes:
        sc = idx.scores(idf, allowed_docs)
        k = min(limit, int(np.count_nonzero(sc)))
        if k == 0:
            continue
        # Each index's own best `limit` first: a common word matches most rows, and only these
        # few need their ids looked up.
        best = np.argpartition(-sc, k - 1)[:k] if k < len(sc) else np.arange(len(sc))
        best = best[sc[best] > 0]
        ids.append(idx.chunk_ids[best])
        scores.append(sc[best])
    all_ids, all_scores = np.concatenate(ids), np.concatenate(scores)
    if len(all_scores) > limit:
        part = np.argpartition(-all_scores, limit - 1)[:limit]
        all_ids, all_scores = all_ids[part], all_scores[part]
    order = np.argsort(-all_scores, kind="stable")
    return [(str(all_ids[i]), float(all_scores[i])) for i in order]
