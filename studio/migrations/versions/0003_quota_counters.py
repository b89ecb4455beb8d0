"""quota counters: spending a short is one atomic conditional update

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quota_counters',
                    sa.Column('subject', sa.String(length=100), nullable=False),
                    sa.Column('day', sa.String(length=10), nullable=False),
                    sa.Column('used', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('subject', 'day'))
    # today's spending so far carries over from the usage log
    conn = op.get_bind()
    events = sa.table("usage_events", sa.column("subject", sa.String), sa.column("kind", sa.String),
                      sa.column("created_at", sa.DateTime(timezone=True)))
    from datetime import UTC, datetime

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = conn.execute(sa.select(events.c.subject, sa.func.count()).where(
        events.c.kind == "short", events.c.created_at >= today).group_by(events.c.subject)).all()
    counters = sa.table("quota_counters", sa.column("subject", sa.String), sa.column("day", sa.String),
                        sa.column("used", sa.Integer))
    for subject, used in rows:
        conn.execute(counters.insert().values(subject=subject, day=today.strftime("%Y-%m-%d"), used=int(used)))


def downgrade() -> None:
    op.drop_table('quota_counters')
