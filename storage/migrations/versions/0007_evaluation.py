"""evaluation: question sets, their questions, runs (durable tasks) and per-question results

Revision ID: 0007_evaluation
Revises: 0006_weknora
"""

from alembic import op
import sqlalchemy as sa


revision = '0007_evaluation'
down_revision = '0006_weknora'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('eval_sets',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kb_id', sa.String(length=32), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['kb_id'], ['knowledge_bases.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('eval_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eval_sets_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('eval_questions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('set_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('relevant_docs', sa.JSON(), nullable=False),
    sa.Column('relevant_text', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['eval_sets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('eval_questions', schema=None) as batch_op:
        batch_op.create_index('ix_eval_questions_set_position', ['set_id', 'position'], unique=False)

    op.create_table('eval_runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('set_id', sa.String(length=32), nullable=False),
    sa.Column('group_id', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('kb_ids', sa.JSON(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('finished', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['set_id'], ['eval_sets.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('eval_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eval_runs_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_eval_runs_set_id'), ['set_id'], unique=False)
        batch_op.create_index('ix_eval_runs_state', ['state', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_eval_runs_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('eval_results',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('expected', sa.JSON(), nullable=False),
    sa.Column('hits', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['eval_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('eval_results', schema=None) as batch_op:
        batch_op.create_index('ux_eval_results_run_position', ['run_id', 'position'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('eval_results', schema=None) as batch_op:
        batch_op.drop_index('ux_eval_results_run_position')

    op.drop_table('eval_results')
    with op.batch_alter_table('eval_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eval_runs_tenant_id'))
        batch_op.drop_index('ix_eval_runs_state')
        batch_op.drop_index(batch_op.f('ix_eval_runs_set_id'))
        batch_op.drop_index(batch_op.f('ix_eval_runs_group_id'))

    op.drop_table('eval_runs')
    with op.batch_alter_table('eval_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_eval_questions_set_position')

    op.drop_table('eval_questions')
    with op.batch_alter_table('eval_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eval_sets_tenant_id'))

    op.drop_table('eval_sets')
