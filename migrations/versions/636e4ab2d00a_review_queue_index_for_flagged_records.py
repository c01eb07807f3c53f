"""Review queue index for flagged records

Revision ID: 636e4ab2d00a
Revises: 4b4969405ee5
Create Date: 2026-11-27 05:24:38.946061

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '636e4ab2d00a'
down_revision = '4b4969405ee5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.create_index('ix_record_flagged_queue', ['site_id', 'status', 'flagged',
                                                          'anomaly', 'submitted_at', 'id'],
                              unique=False)

def downgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_index('ix_record_flagged_queue')

