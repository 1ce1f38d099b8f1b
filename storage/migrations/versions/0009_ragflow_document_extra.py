"""documents.extra: a dialect's own settings of a document kept verbatim (as knowledge_bases.extra is)

RAGFlow clients set a document's `parser_config` and `chunk_method` and expect to read them back exactly;
the core keeps only the chunking they translate into (documents.chunk_config).

Revision ID: 0009_ragflow_document_extra
Revises: 0008_llmops
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_ragflow_document_extra"
down_revision = "0008_llmops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("extra")
