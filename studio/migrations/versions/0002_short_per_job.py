"""one short per job: shorts.job_id is unique

A process killed between saving a short and marking its job done used to save the short again on restart.
Rows doubled that way keep their files; only the later copies stop naming the job.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    shorts = sa.table("shorts", sa.column("id", sa.String), sa.column("job_id", sa.String),
                      sa.column("created_at", sa.DateTime))
    conn = op.get_bind()
    rows = conn.execute(sa.select(shorts.c.id, shorts.c.job_id).where(shorts.c.job_id.is_not(None))
                        .order_by(shorts.c.job_id, shorts.c.created_at, shorts.c.id)).all()
    seen: set[str] = set()
    for short_id, job_id in rows:
        if job_id in seen:
            conn.execute(shorts.update().where(shorts.c.id == short_id).values(job_id=None))
        seen.add(job_id)
    with op.batch_alter_table('shorts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shorts_job_id'), ['job_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('shorts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shorts_job_id'))
