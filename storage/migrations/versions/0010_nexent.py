"""nexent: conversations and messages get stable integer numbers (Nexent's clients type their ids as numbers),
messages keep the files attached to them, tenants keep their own settings (the workspace configuration and its
default agent), stored files keep the folder they were filed in

Numbers come from the `counters` table (one row per kind, only ever going up), so a number is never given twice,
even after deletions. Existing rows are numbered in creation order. Columns are added with constant server
defaults (in place on SQLite).

Revision ID: 0010_nexent
Revises: 0009_ragflow_document_extra
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_nexent"
down_revision = "0009_ragflow_document_extra"
branch_labels = None
depends_on = None

NUMBERED = {"conversations": "conversation_number", "messages": "message_number"}


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("upload_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("folder", sa.String(length=255), nullable=False, server_default=""))
    conn = op.get_bind()
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer))
    for table, counter in NUMBERED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("number", sa.Integer(), nullable=False, server_default="0"))
        conn.execute(sa.text(
            f"UPDATE {table} SET number = ranked.n FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n "
            f"FROM {table}) AS ranked WHERE ranked.id = {table}.id"))
        last = conn.execute(sa.text(f"SELECT COALESCE(MAX(number), 0) FROM {table}")).scalar()
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"uq_{table}_number", ["number"], unique=True)
        op.bulk_insert(counters, [{"name": counter, "value": last}])


def downgrade() -> None:
    conn = op.get_bind()
    for table, counter in NUMBERED.items():
        conn.execute(sa.text("DELETE FROM counters WHERE name = :name"), {"name": counter})
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"uq_{table}_number")
            batch_op.drop_column("number")
    with op.batch_alter_table("upload_files", schema=None) as batch_op:
        batch_op.drop_column("folder")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("settings")
