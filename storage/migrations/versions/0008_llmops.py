"""llmops: assistants.extra (dialect settings kept verbatim), upload_files.purpose (uploads kept for later use vs
document originals), documents/chunks.disabled_at (when someone turned them off)

Revision ID: 0008_llmops
Revises: 0007_evaluation
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_llmops"
down_revision = "0007_evaluation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assistants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("upload_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=16), nullable=False, server_default="document"))
        batch_op.create_index("ix_upload_files_tenant_purpose", ["tenant_id", "purpose", "name"], unique=False)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
    with op.batch_alter_table("upload_files", schema=None) as batch_op:
        batch_op.drop_index("ix_upload_files_tenant_purpose")
        batch_op.drop_column("purpose")
    with op.batch_alter_table("assistants", schema=None) as batch_op:
        batch_op.drop_column("extra")
