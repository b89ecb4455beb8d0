"""analytics: events, metric snapshots, the exporter's batches and deletions, A/B experiments

``events`` and ``metric_snapshots`` are append-only (docs/analytics.md) and carry no foreign keys: an account's or a
short's rows are deleted explicitly, with an ``analytics_deletions`` row the exporter acts on. ``export_batch`` is the
exporter's claim on a row (NULL: not yet exported).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')  # SQLite autoincrements only INTEGER PRIMARY KEY


def upgrade() -> None:
    op.create_table('events',
                    sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
                    sa.Column('event_id', sa.String(length=200), nullable=False),
                    sa.Column('at', TZ, nullable=False),
                    sa.Column('day', sa.String(length=10), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=True),
                    sa.Column('run_id', sa.String(length=64), nullable=True),
                    sa.Column('job_id', sa.String(length=64), nullable=True),
                    sa.Column('short_id', sa.String(length=64), nullable=True),
                    sa.Column('post_id', sa.String(length=64), nullable=True),
                    sa.Column('platform', sa.String(length=32), nullable=True),
                    sa.Column('name', sa.String(length=64), nullable=True),
                    sa.Column('engine', sa.String(length=120), nullable=True),
                    sa.Column('status', sa.String(length=32), nullable=True),
                    sa.Column('code', sa.String(length=80), nullable=True),
                    sa.Column('seconds', sa.Float(), nullable=True),
                    sa.Column('calls', sa.Integer(), nullable=True),
                    sa.Column('hits', sa.Integer(), nullable=True),
                    sa.Column('data', sa.JSON(), nullable=False),
                    sa.Column('export_batch', sa.BigInteger(), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('event_id'))
    op.create_index(op.f('ix_events_owner_id'), 'events', ['owner_id'])
    op.create_index(op.f('ix_events_short_id'), 'events', ['short_id'])
    op.create_index(op.f('ix_events_post_id'), 'events', ['post_id'])
    op.create_index('ix_events_export_batch', 'events', ['export_batch', 'id'])
    op.create_table('metric_snapshots',
                    sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
                    sa.Column('snapshot_id', sa.String(length=400), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=True),
                    sa.Column('post_id', sa.String(length=64), nullable=True),
                    sa.Column('short_id', sa.String(length=64), nullable=True),
                    sa.Column('platform', sa.String(length=32), nullable=False),
                    sa.Column('remote_id', sa.String(length=200), nullable=False),
                    sa.Column('title', sa.Text(), nullable=True),
                    sa.Column('source', sa.String(length=32), nullable=False),
                    sa.Column('taken_at', TZ, nullable=False),
                    sa.Column('posted_at', TZ, nullable=True),
                    sa.Column('day', sa.String(length=10), nullable=False),
                    sa.Column('hours', sa.Float(), nullable=True),
                    sa.Column('views', sa.BigInteger(), nullable=True),
                    sa.Column('likes', sa.BigInteger(), nullable=True),
                    sa.Column('comments', sa.BigInteger(), nullable=True),
                    sa.Column('shares', sa.BigInteger(), nullable=True),
                    sa.Column('saves', sa.BigInteger(), nullable=True),
                    sa.Column('reach', sa.BigInteger(), nullable=True),
                    sa.Column('engaged_views', sa.BigInteger(), nullable=True),
                    sa.Column('subscribers', sa.BigInteger(), nullable=True),
                    sa.Column('avg_view_seconds', sa.Float(), nullable=True),
                    sa.Column('avg_view_ratio', sa.Float(), nullable=True),
                    sa.Column('watch_seconds', sa.Float(), nullable=True),
                    sa.Column('retention', sa.JSON(), nullable=True),
                    sa.Column('duration', sa.Float(), nullable=True),
                    sa.Column('export_batch', sa.BigInteger(), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('snapshot_id'))
    op.create_index(op.f('ix_metric_snapshots_owner_id'), 'metric_snapshots', ['owner_id'])
    op.create_index(op.f('ix_metric_snapshots_post_id'), 'metric_snapshots', ['post_id'])
    op.create_index(op.f('ix_metric_snapshots_short_id'), 'metric_snapshots', ['short_id'])
    op.create_index('ix_metric_snapshots_export_batch', 'metric_snapshots', ['export_batch', 'id'])
    op.create_table('analytics_exports',
                    sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
                    sa.Column('started_at', TZ, nullable=False),
                    sa.Column('finished_at', TZ, nullable=True),
                    sa.Column('events', sa.Integer(), nullable=False),
                    sa.Column('snapshots', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_analytics_exports_finished_at'), 'analytics_exports', ['finished_at'])
    op.create_table('analytics_deletions',
                    sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=True),
                    sa.Column('short_id', sa.String(length=64), nullable=True),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.Column('done_at', TZ, nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_analytics_deletions_done_at'), 'analytics_deletions', ['done_at'])
    op.create_table('experiments',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=False),
                    sa.Column('name', sa.String(length=200), nullable=False),
                    sa.Column('variants', sa.JSON(), nullable=False),
                    sa.Column('alpha', sa.Float(), nullable=False),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_experiments_owner_id'), 'experiments', ['owner_id'])


def downgrade() -> None:
    op.drop_table('experiments')
    op.drop_table('analytics_deletions')
    op.drop_table('analytics_exports')
    op.drop_table('metric_snapshots')
    op.drop_table('events')
