"""jobs that scale out: leases, cancel flags, queues and batches; a row per worker process

A job is claimed with a lease its worker renews; a second delivery of a job held by a live lease, or finished, does
nothing. ``charge`` names the quota a job spent (subject, day) so a cancelled or refused job can give it back.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batches',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=False),
                    sa.Column('name', sa.String(length=200), nullable=False),
                    sa.Column('rows', sa.Integer(), nullable=False),
                    sa.Column('refused', sa.JSON(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_batches_owner_id'), 'batches', ['owner_id'])
    with op.batch_alter_table('jobs') as t:
        t.add_column(sa.Column('queue', sa.String(length=16), nullable=False, server_default='cpu'))
        t.add_column(sa.Column('worker', sa.String(length=120), nullable=True))
        t.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column('task_id', sa.String(length=80), nullable=True))
        t.add_column(sa.Column('cancel_requested', sa.Boolean(), nullable=False, server_default=sa.false()))
        t.add_column(sa.Column('profile', sa.String(length=32), nullable=True))
        t.add_column(sa.Column('charge', sa.JSON(), nullable=True))
        t.add_column(sa.Column('batch_id', sa.String(length=32), nullable=True))
        t.add_column(sa.Column('batch_row', sa.Integer(), nullable=True))
        t.create_index('ix_jobs_batch_id', ['batch_id'])
        t.create_index('ix_jobs_owner_status', ['owner_id', 'status'])
    op.create_table('workers',
                    sa.Column('id', sa.String(length=120), nullable=False),
                    sa.Column('node', sa.String(length=120), nullable=False),
                    sa.Column('role', sa.String(length=16), nullable=False),
                    sa.Column('queues', sa.String(length=100), nullable=False),
                    sa.Column('pid', sa.Integer(), nullable=False),
                    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('jobs_done', sa.Integer(), nullable=False),
                    sa.Column('loads', sa.JSON(), nullable=False),
                    sa.Column('rss_bytes', sa.BigInteger(), nullable=False),
                    sa.Column('info', sa.JSON(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))


def downgrade() -> None:
    op.drop_table('workers')
    with op.batch_alter_table('jobs') as t:
        t.drop_index('ix_jobs_owner_status')
        t.drop_index('ix_jobs_batch_id')
        for name in ('batch_row', 'batch_id', 'charge', 'profile', 'cancel_requested', 'task_id', 'enqueued_at', 'lease_until',
                     'worker', 'queue'):
            t.drop_column(name)
    op.drop_index(op.f('ix_batches_owner_id'), table_name='batches')
    op.drop_table('batches')
