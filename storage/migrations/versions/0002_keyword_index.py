"""keyword index: FTS5 on SQLite, a GIN tsvector index on PostgreSQL

Both are maintained by the database itself from chunks.search_text, so the keyword
index can never drift from the chunk rows: it changes in the same transaction.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    # FTS5 needs integer rowids; chunk ids are hex strings, so a small map table pairs them.
    "CREATE TABLE chunk_fts_rowids (rowid INTEGER PRIMARY KEY, chunk_id VARCHAR(32) NOT NULL UNIQUE)",
    # kb_id is indexed too, so a query can be limited to its knowledge bases inside FTS5 itself.
    "CREATE VIRTUAL TABLE chunk_fts USING fts5(search_text, kb_id, tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE chunk_fts_vocab USING fts5vocab(chunk_fts, 'col')",
    """CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
         INSERT INTO chunk_fts_rowids(chunk_id) VALUES (new.id);
         INSERT INTO chunk_fts(rowid, search_text, kb_id) VALUES (last_insert_rowid(), new.search_text, new.kb_id);
       END""",
    """CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
         DELETE FROM chunk_fts WHERE rowid = (SELECT rowid FROM chunk_fts_rowids WHERE chunk_id = old.id);
         DELETE FROM chunk_fts_rowids WHERE chunk_id = old.id;
       END""",
    """CREATE TRIGGER chunks_fts_update AFTER UPDATE OF search_text, kb_id ON chunks BEGIN
         UPDATE chunk_fts SET search_text = new.search_text, kb_id = new.kb_id
          WHERE rowid = (SELECT rowid FROM chunk_fts_rowids WHERE chunk_id = old.id);
       END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER chunks_fts_update",
    "DROP TRIGGER chunks_fts_delete",
    "DROP TRIGGER chunks_fts_insert",
    "DROP TABLE chunk_fts_vocab",
    "DROP TABLE chunk_fts",
    "DROP TABLE chunk_fts_rowids",
]
PG_UP = ["CREATE INDEX ix_chunks_fts ON chunks USING GIN (to_tsvector('simple', search_text))"]
PG_DOWN = ["DROP INDEX ix_chunks_fts"]


def _run(statements: list[str]) -> None:
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN)
