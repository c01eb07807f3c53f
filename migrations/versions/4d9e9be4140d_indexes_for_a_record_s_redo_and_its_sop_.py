"""Indexes for a record's redo and its SOP version

Whether a sent-back record was redone, and whether an SOP version is in use, each read
every record without them.

Revision ID: 4d9e9be4140d
Revises: c672c1f9d429
Create Date: 2026-11-27 11:11:16.024468

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4d9e9be4140d'
down_revision = 'c672c1f9d429'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_redo_of_id'), ['redo_of_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_sop_version_id'), ['sop_version_id'], unique=False)


def downgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_sop_version_id'))
        batch_op.drop_index(batch_op.f('ix_record_redo_of_id'))
