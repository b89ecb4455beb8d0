"""short versions: every render of a short is kept; a short carries a draft timeline and the version it shows;
account templates: each hosted account's own template library

Shorts made before this revision get their first version the first time they are opened for editing.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('short_versions',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('short_id', sa.String(length=32), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=False),
                    sa.Column('number', sa.Integer(), nullable=False),
                    sa.Column('job_id', sa.String(length=32), nullable=True),
                    sa.Column('timeline', sa.JSON(), nullable=False),
                    sa.Column('files', sa.JSON(), nullable=False),
                    sa.Column('formats', sa.JSON(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['short_id'], ['shorts.id'], ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('short_id', 'number', name='uq_short_versions_number'),
                    sa.UniqueConstraint('job_id'))
    op.create_index(op.f('ix_short_versions_short_id'), 'short_versions', ['short_id'])
    op.create_index(op.f('ix_short_versions_owner_id'), 'short_versions', ['owner_id'])
    op.create_table('account_templates',
                    sa.Column('id', sa.String(length=32), nullable=False),
                    sa.Column('owner_id', sa.String(length=64), nullable=False),
                    sa.Column('name', sa.String(length=32), nullable=False),
                    sa.Column('fields', sa.JSON(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('owner_id', 'name', name='uq_account_templates_name'))
    op.create_index(op.f('ix_account_templates_owner_id'), 'account_templates', ['owner_id'])
    with op.batch_alter_table('shorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('draft', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('draft_rev', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('shorts', schema=None) as batch_op:
        batch_op.drop_column('draft_rev')
        batch_op.drop_column('draft')
        batch_op.drop_column('version')
    op.drop_index(op.f('ix_account_templates_owner_id'), table_name='account_templates')
    op.drop_table('account_templates')
    op.drop_index(op.f('ix_short_versions_owner_id'), table_name='short_versions')
    op.drop_index(op.f('ix_short_versions_short_id'), table_name='short_versions')
    op.drop_table('short_versions')
