"""weknora: tenants get an integer number (from a counter that never goes back), a description and updated_at;
API keys are kept sealed too; conversations keep their own settings (WeKnora's session strategy); model configs
get a description

Columns are added with constant server defaults (SQLite adds them in place: recreating `tenants` would
cascade-delete every row that references it), then existing rows are filled in.

Revision ID: 0006_weknora
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_weknora"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=False,
                                      server_default="1970-01-01 00:00:00"))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id FROM tenants ORDER BY CASE WHEN id = 'default' THEN 0 ELSE 1 END, "
                                "created_at, id")).scalars().all()
    for number, tenant_id in enumerate(rows, start=1):
        conn.execute(sa.text("UPDATE tenants SET number = :n, updated_at = created_at WHERE id = :id"),
                     {"n": number, "id": tenant_id})
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.create_index("uq_tenants_number", ["number"], unique=True)
    counters = op.create_table("counters", sa.Column("name", sa.String(length=64), nullable=False),
                               sa.Column("value", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("name"))
    op.bulk_insert(counters, [{"name": "tenant_number", "value": max(len(rows), 1)}])  # 1 is the default tenant's

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_sealed", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("model_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("model_configs", schema=None) as batch_op:
        batch_op.drop_column("description")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("extra")
        batch_op.drop_column("settings")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("key_sealed")
    op.drop_table("counters")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index("uq_tenants_number")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("description")
        batch_op.drop_column("number")
