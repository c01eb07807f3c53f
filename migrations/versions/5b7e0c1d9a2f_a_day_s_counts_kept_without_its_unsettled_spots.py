"""A day's counts kept without its unsettled spots

The dashboard keeps a day's counts once the day is over and the rounds at all but a few
of its spots have settled; the spots still open to change (a daily check whose grace runs
into today) are listed and counted on each view. Rows kept before this have none.

Revision ID: 5b7e0c1d9a2f
Revises: a4dff2ca98ba
Create Date: 2026-11-28 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b7e0c1d9a2f'
down_revision = 'a4dff2ca98ba'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('day_count', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsettled', sa.JSON(), server_default='[]',
                                      nullable=False))


def downgrade():
    # A row without its unsettled spots would count too few: count those days again.
    op.execute("DELETE FROM day_count WHERE CAST(unsettled AS TEXT) <> '[]'")
    with op.batch_alter_table('day_count', schema=None) as batch_op:
        batch_op.drop_column('unsettled')
