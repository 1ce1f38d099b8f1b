"""Full-text search over chunks.search_text (pre-analysed, Chinese-aware tokens).

The index itself is kept by the database (see migration 0002): FTS5 on SQLite, a GIN
tsvector index on PostgreSQL. This module only queries it. Results are restricted to
enabled chunks of enabled documents in the given knowledge bases.

Searches normally rank with the in-memory index (core/keyword_index.py); this one is always in
step with the rows, so it answers while that index is being (re)built after a change.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

# Two steps on SQLite: the best `pool` matches from FTS5 alone (the knowledge-base filter is
# part of the MATCH), then only those are joined to their rows and filtered. Joining every
# match of a common word before ranking is what would cost the time.
_SQLITE_TOP = "SELECT rowid, bm25(chunk_fts, 1.0, 0.0) AS rank FROM chunk_fts WHERE chunk_fts MATCH :match " \
              "ORDER BY rank LIMIT :pool"
_SQLITE_ROWS = """
SELECT m.rowid AS rowid, c.id AS chunk_id
  FROM chunk_fts_rowids m
  JOIN chunks c ON c.id = m.chunk_id
  JOIN documents d ON d.id = c.doc_id
 WHERE m.rowid IN :rowids AND c.enabled AND d.enabled {doc_filter}
"""
POOL_FACTOR = 4

_PG_SEARCH = """
SELECT c.id AS chunk_id, ts_rank(to_tsvector('simple', c.search_text), q) AS score
  FROM chunks c JOIN documents d ON d.id = c.doc_id, to_tsquery('simple', :match) q
 WHERE to_tsvector('simple', c.search_text) @@ q
   AND c.kb_id IN :kb_ids AND c.enabled AND d.enabled {doc_filter}
 ORDER BY score DESC
 LIMIT :limit
"""


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _sqlite_match(tokens: Sequence[str], kb_ids: Sequence[str]) -> str:
    kbs = " OR ".join(_quote(k) for k in kb_ids)
    terms = " OR ".join(_quote(t) for t in tokens)
    return f"kb_id : ({kbs}) AND search_text : ({terms})"


def _pg_match(tokens: Sequence[str]) -> str:
    return " | ".join("'" + t.replace("'", "''").replace("\\", "") + "'" for t in tokens)


def search(
    session: Session,
    kb_ids: Sequence[str],
    tokens: Sequence[str],
    limit: int,
    doc_ids: Sequence[str] | None = None,
) -> list[tuple[str, float]]:
    """Best-matching chunk ids with their raw engine score (higher is better)."""
    tokens = list(dict.fromkeys(t for t in tokens if t))
    if not tokens or not kb_ids or doc_ids == []:
        return []
    doc_filter = "AND c.doc_id IN :doc_ids" if doc_ids is not None else ""
    params: dict = {"doc_ids": list(doc_ids)} if doc_ids is not None else {}
    if session.get_bind().dialect.name != "sqlite":
        stmt = text(_PG_SEARCH.format(doc_filter=doc_filter)).bindparams(bindparam("kb_ids", expanding=True))
        if doc_ids is not None:
            stmt = stmt.bindparams(bindparam("doc_ids", expanding=True))
        params |= {"match": _pg_match(tokens), "kb_ids": list(kb_ids), "limit": limit}
        return [(r.chunk_id, float(r.score)) for r in session.execute(stmt, params)]

    rows_stmt = text(_SQLITE_ROWS.format(doc_filter=doc_filter)).bindparams(bindparam("rowids", expanding=True))
    if doc_ids is not None:
        rows_stmt = rows_stmt.bindparams(bindparam("doc_ids", expanding=True))
    match = _sqlite_match(tokens, kb_ids)
    pool = limit * POOL_FACTOR
    while True:
        top = session.execute(text(_SQLITE_TOP), {"match": match, "pool": pool}).all()
        if not top:
            return []
        ids = {r.rowid: r.chunk_id for r in session.execute(rows_stmt, params | {"rowids": [t.rowid for t in top]})}
        hits = [(ids[t.rowid], -float(t.rank)) for t in top if t.rowid in ids][:limit]
        # Too few survived the enabled/document filters while more matches exist: look deeper.
        if len(hits) == limit or len(top) < pool:
            return hits
        pool *= 16


def document_frequencies(session: Session, tokens: Sequence[str]) -> tuple[int, dict[str, int]]:
    """(number of indexed chunks, chunks containing each token): the inputs of IDF."""
    tokens = list(dict.fromkeys(tokens))
    if not tokens:
        return 0, {}
    if session.get_bind().dialect.name == "sqlite":
        total = session.execute(text("SELECT max(rowid) FROM chunk_fts_rowids")).scalar() or 0
        stmt = text("SELECT term, doc FROM chunk_fts_vocab WHERE col = 'search_text' AND term IN :terms").bindparams(
            bindparam("terms", expanding=True)
        )
        freqs = {row.term: int(row.doc) for row in session.execute(stmt, {"terms": tokens})}
    else:
        total = session.execute(text("SELECT count(*) FROM chunks")).scalar() or 0
        freqs = {}
        for t in tokens:
            freqs[t] = session.execute(
                text("SELECT count(*) FROM chunks WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', :q)"),
                {"q": _pg_match([t])},
            ).scalar() or 0
    return int(total), freqs
