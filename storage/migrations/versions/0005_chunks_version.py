"""knowledge_bases.chunks_version: a counter the database bumps whenever a knowledge base's searchable text changes

In-memory keyword indexes (core/keyword_index.py) compare it with the version they were built
from. Triggers, not application code, bump it: every writer (API, standalone workers, another
host) is covered, and the bump commits in the same transaction as the chunk change, so a reader
sees both or neither. Only inserts, deletes and changes of search_text/kb_id count: hit counts,
embedding flags and enable/disable leave the keyword index valid (search re-checks `enabled`).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BUMP = "UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id = {row}.kb_id"
SQLITE_UP = [
    f"CREATE TRIGGER chunks_version_insert AFTER INSERT ON chunks BEGIN {_BUMP.format(row='new')}; END",
    f"CREATE TRIGGER chunks_version_delete AFTER DELETE ON chunks BEGIN {_BUMP.format(row='old')}; END",
    f"""CREATE TRIGGER chunks_version_update AFTER UPDATE OF search_text, kb_id ON chunks
         WHEN old.search_text IS NOT new.search_text OR old.kb_id IS NOT new.kb_id
       BEGIN {_BUMP.format(row='old')}; {_BUMP.format(row='new')}; END""",
]
SQLITE_DOWN = ["DROP TRIGGER chunks_version_update", "DROP TRIGGER chunks_version_delete",
               "DROP TRIGGER chunks_version_insert"]
# PostgreSQL: inserts and deletes bump once per statement and knowledge base (transition tables),
# so bulk writes do not update the knowledge base row once per chunk.
PG_UP = [
    """CREATE FUNCTION chunks_version_rows() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE knowledge_bases SET chunks_version = chunks_version + 1
          WHERE id IN (SELECT DISTINCT kb_id FROM changed_rows);
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION chunks_version_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id IN (OLD.kb_id, NEW.kb_id);
         RETURN NULL;
       END $$""",
    ("CREATE TRIGGER chunks_version_insert AFTER INSERT ON chunks REFERENCING NEW TABLE AS changed_rows "
     "FOR EACH STATEMENT EXECUTE FUNCTION chunks_version_rows()"),
    ("CREATE TRIGGER chunks_version_delete AFTER DELETE ON chunks REFERENCING OLD TABLE AS changed_rows "
     "FOR EACH STATEMENT EXECUTE FUNCTION chunks_version_rows()"),
    ("CREATE TRIGGER chunks_version_update AFTER UPDATE OF search_text, kb_id ON chunks FOR EACH ROW "
     "WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text OR OLD.kb_id IS DISTINCT FROM NEW.kb_id) "
     "EXECUTE FUNCTION chunks_version_update()"),
]
PG_DOWN = ["DROP TRIGGER chunks_version_update ON chunks", "DROP TRIGGER chunks_version_delete ON chunks",
           "DROP TRIGGER chunks_version_insert ON chunks", "DROP FUNCTION chunks_version_update()",
           "DROP FUNCTION chunks_version_rows()"]


def upgrade() -> None:
    with op.batch_alter_table("knowledge_bases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chunks_version", sa.Integer(), nullable=False, server_default="0"))
    for sql in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP:
        op.execute(sql)


def downgrade() -> None:
    for sql in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN:
        op.execute(sql)
    with op.batch_alter_table("knowledge_bases", schema=None) as batch_op:
        batch_op.drop_column("chunks_version")
