"""agents, tools, drafts: tool providers, published snapshots, debug conversations, memory, soft delete

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 13:16:14.703959
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tool_providers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('icon', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('tools', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tool_providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tool_providers_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ux_tool_providers_tenant_name', ['tenant_id', 'name'], unique=True)

    with op.batch_alter_table('assistants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('published_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('access_token', sa.String(length=64), nullable=False, server_default=''))

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False, server_default='published'))
        batch_op.add_column(sa.Column('summary', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('summary')
        batch_op.drop_column('channel')
    with op.batch_alter_table('assistants', schema=None) as batch_op:
        batch_op.drop_column('access_token')
        batch_op.drop_column('published_at')
        batch_op.drop_column('published')
    with op.batch_alter_table('tool_providers', schema=None) as batch_op:
        batch_op.drop_index('ux_tool_providers_tenant_name')
        batch_op.drop_index(batch_op.f('ix_tool_providers_tenant_id'))
    op.drop_table('tool_providers')
