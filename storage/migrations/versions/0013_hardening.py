"""assistants.shared: assistants and agents are private until their owner shares them

The public chat page (/chat/<id>) serves only shared ones. Existing rows: those that already required
an access token (their owner set up the public page on purpose) stay reachable with their token;
all others become private until shared in the Assistants or Agents page.

Revision ID: 0013_hardening
Revises: 0012_users
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_hardening"
down_revision = "0012_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assistants") as batch:
        batch.add_column(sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE assistants SET shared = (access_token <> '')")


def downgrade() -> None:
    with op.batch_alter_table("assistants") as batch:
        batch.drop_column("shared")
