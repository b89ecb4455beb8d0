"""publishing: connected accounts, OAuth attempts, scheduled posts

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('connections',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=False),
                    sa.Column('platform', sa.String(length=16), nullable=False),
                    sa.Column('account_id', sa.String(length=200), nullable=False),
                    sa.Column('name', sa.String(length=300), nullable=False),
                    sa.Column('status', sa.String(length=20), nullable=False),
                    sa.Column('scopes', sa.JSON(), nullable=False),
                    sa.Column('token', sa.Text(), nullable=False),
                    sa.Column('token_version', sa.Integer(), nullable=False),
                    sa.Column('expires_at', TZ, nullable=True),
                    sa.Column('info', sa.JSON(), nullable=False),
                    sa.Column('slots', sa.JSON(), nullable=False),
                    sa.Column('error', sa.Text(), nullable=False),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.Column('updated_at', TZ, nullable=False),
                    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('owner_id', 'platform', 'account_id', name='uq_connections_account'))
    op.create_index(op.f('ix_connections_owner_id'), 'connections', ['owner_id'])
    op.create_table('oauth_states',
                    sa.Column('state_hash', sa.String(length=64), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=False),
                    sa.Column('platform', sa.String(length=16), nullable=False),
                    sa.Column('verifier', sa.Text(), nullable=False),
                    sa.Column('browser_hash', sa.String(length=64), nullable=False),
                    sa.Column('return_to', sa.String(length=300), nullable=False),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.Column('used_at', TZ, nullable=True),
                    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('state_hash'))
    op.create_index(op.f('ix_oauth_states_owner_id'), 'oauth_states', ['owner_id'])
    op.create_table('posts',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=False),
                    sa.Column('short_id', sa.String(length=32), nullable=False),
                    sa.Column('connection_id', sa.String(length=32), nullable=True),
                    sa.Column('platform', sa.String(length=16), nullable=False),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('publish_at', TZ, nullable=False),
                    sa.Column('local_time', sa.String(length=16), nullable=False),
                    sa.Column('timezone', sa.String(length=64), nullable=False),
                    sa.Column('text', sa.JSON(), nullable=False),
                    sa.Column('options', sa.JSON(), nullable=False),
                    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
                    sa.Column('request_hash', sa.String(length=64), nullable=False),
                    sa.Column('attempts', sa.Integer(), nullable=False),
                    sa.Column('claimed_by', sa.String(length=120), nullable=True),
                    sa.Column('claimed_at', TZ, nullable=True),
                    sa.Column('lease_until', TZ, nullable=True),
                    sa.Column('next_try_at', TZ, nullable=True),
                    sa.Column('handle', sa.JSON(), nullable=False),
                    sa.Column('result', sa.JSON(), nullable=False),
                    sa.Column('message', sa.Text(), nullable=False),
                    sa.Column('error_code', sa.String(length=40), nullable=False),
                    sa.Column('created_at', TZ, nullable=False),
                    sa.Column('updated_at', TZ, nullable=False),
                    sa.Column('posted_at', TZ, nullable=True),
                    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['short_id'], ['shorts.id'], ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='SET NULL'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('owner_id', 'idempotency_key', name='uq_posts_idempotency'))
    op.create_index(op.f('ix_posts_owner_id'), 'posts', ['owner_id'])
    op.create_index(op.f('ix_posts_short_id'), 'posts', ['short_id'])
    op.create_index(op.f('ix_posts_connection_id'), 'posts', ['connection_id'])
    op.create_index('ix_posts_due', 'posts', ['status', 'publish_at'])


def downgrade() -> None:
    op.drop_table('posts')
    op.drop_table('oauth_states')
    op.drop_table('connections')
