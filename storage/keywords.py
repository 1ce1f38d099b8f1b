"""Full-text search over chunks.search_text (pre-analysed, Chinese-aware tokens).

The index itself is kept by the database (see migration 0002): FTS5 on SQLite, a GIN
tsvector index on PostgreSQL. This module only queries it. Results are restricted to
enabled chunks of enabled documents in the given knowledge bases.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

_SQLITE_SEARCH = """
SELECT c.id AS chunk_id, -bm25(chunk_fts) AS score
  FROM chunk_fts
  JOIN chunk_fts_rowids m ON m.rowid = chunk_fts.rowid
  JOIN chunks c ON c.id = m.chunk_id
  JOIN documents d ON d.id = c.doc_id
 WHERE chunk_fts MATCH :match
   AND c.kb_id IN :kb_ids AND c.enabled AND d.enabled {doc_filter}
 ORDER BY bm25(chunk_fts)
 LIMIT :limit
"""

_PG_SEARCH = """
SELECT c.id AS chunk_id, ts_rank(to_tsvector('simple', c.search_text), q) AS score
  FROM chunks c JOIN documents d ON d.id = c.doc_id, to_tsquery('simple', :match) q
 WHERE to_tsvector('simple', c.search_text) @@ q
   AND c.kb_id IN :kb_ids AND c.enabled AND d.enabled {doc_filter}
 ORDER BY score DESC
 LIMIT :limit
"""


def _sqlite_match(tokens: Sequence[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)


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
    sqlite = session.get_bind().dialect.name == "sqlite"
    sql = (_SQLITE_SEARCH if sqlite else _PG_SEARCH).format(
        doc_filter="AND c.doc_id IN :doc_ids" if doc_ids is not None else ""
    )
    stmt = text(sql).bindparams(bindparam("kb_ids", expanding=True))
    params: dict = {
        "match": _sqlite_match(tokens) if sqlite else _pg_match(tokens),
        "kb_ids": list(kb_ids),
        "limit": limit,
    }
    if doc_ids is not None:
        stmt = stmt.bindparams(bindparam("doc_ids", expanding=True))
        params["doc_ids"] = list(doc_ids)
    return [(row.chunk_id, float(row.score)) for row in session.execute(stmt, params)]


def document_frequencies(session: Session, tokens: Sequence[str]) -> tuple[int, dict[str, int]]:
    """(number of indexed chunks, chunks containing each token): the inputs of IDF."""
    tokens = list(dict.fromkeys(tokens))
    if not tokens:
        return 0, {}
    if session.get_bind().dialect.name == "sqlite":
        total = session.execute(text("SELECT max(rowid) FROM chunk_fts_rowids")).scalar() or 0
        stmt = text("SELECT term, doc FROM chunk_fts_vocab WHERE term IN :terms").bindparams(
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
