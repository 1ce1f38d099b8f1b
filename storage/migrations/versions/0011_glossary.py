"""glossary: term pairs per knowledge base (租户 <-> tenant) that expand a search into the other language

Revision ID: 0011_glossary
Revises: 0010_nexent
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_glossary"
down_revision = "0010_nexent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "glossary_terms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("kb_id", sa.String(length=32), nullable=False),
        sa.Column("term", sa.String(length=255), nullable=False),
        sa.Column("translation", sa.String(length=255), nullable=False),
        sa.Column("term_key", sa.String(length=255), nullable=False),
        sa.Column("translation_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["kb_id"], ["knowledge_bases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("glossary_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_glossary_terms_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("uq_glossary_pair", ["kb_id", "term_key", "translation_key"], unique=True)


def downgrade() -> None:
    op.drop_table("glossary_terms")
