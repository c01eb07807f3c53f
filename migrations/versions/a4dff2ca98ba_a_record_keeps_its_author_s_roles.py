"""A record keeps its author's roles

A round is filled only by a record of someone holding the round's role. Records made
before this have none (NULL) and fill rounds of any role, as they did: filling them in
from their authors' present roles would turn the patrols of a guard since promoted into
missed ones.

Revision ID: a4dff2ca98ba
Revises: 4d9e9be4140d
Create Date: 2026-11-28 01:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4dff2ca98ba'
down_revision = '4d9e9be4140d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roles', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_column('roles')
