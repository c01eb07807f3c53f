"""Finished days' dashboard counts

Revision ID: 61e30194ea6a
Revises: 23800e6249ad
Create Date: 2026-11-26 23:02:54.770178

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '61e30194ea6a'
down_revision = '23800e6249ad'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('day_count',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('rules', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_day_count_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'day', name=op.f('pk_day_count'))
    )


def downgrade():
    op.drop_table('day_count')
