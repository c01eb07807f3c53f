"""A site notes when its counted days were last forgotten

A late record makes the dashboard count its days again; a view that was counting at that
moment, without the record, must not keep what it counted. Empty for every site at first.

Revision ID: e3a91c27b4d0
Revises: 5b7e0c1d9a2f
Create Date: 2026-11-28 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3a91c27b4d0'
down_revision = '5b7e0c1d9a2f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counts_forgotten_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('counts_forgotten_at')
