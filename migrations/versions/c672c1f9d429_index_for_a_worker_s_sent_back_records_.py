"""Index for a worker's sent-back records at a spot

Revision ID: c672c1f9d429
Revises: 636e4ab2d00a
Create Date: 2026-11-27 07:26:21.278507

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c672c1f9d429'
down_revision = '636e4ab2d00a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.create_index('ix_record_redo', ['user_id', 'status', 'spot_id'], unique=False)


def downgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_index('ix_record_redo')
