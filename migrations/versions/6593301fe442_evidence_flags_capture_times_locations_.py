"""evidence: flags, capture times, locations, photo hashes

Revision ID: 6593301fe442
Revises: e075ba6ab487
Create Date: 2026-11-27 00:38:50.812680

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6593301fe442'
down_revision = 'e075ba6ab487'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('photo_band',
    sa.Column('band', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_photo_band_photo_id_photo'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('band', 'value', 'photo_id', name=op.f('pk_photo_band'))
    )
    with op.batch_alter_table('photo_band', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_band_photo_id'), ['photo_id'], unique=False)

    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phash', sa.String(length=64), server_default='', nullable=False))

    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('captured_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('clock_skew', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('scan_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('latitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('accuracy', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('distance', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('flags', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), server_default=sa.false(), nullable=False))

    # Records made before: they arrived when they were submitted.
    op.execute("UPDATE record SET received_at = submitted_at")
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.alter_column('received_at', existing_type=sa.DateTime(), nullable=False)

    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offline', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('spot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('radius', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('spot', schema=None) as batch_op:
        batch_op.drop_column('radius')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')

    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.drop_column('offline')

    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_column('flagged')
        batch_op.drop_column('flags')
        batch_op.drop_column('distance')
        batch_op.drop_column('accuracy')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
        batch_op.drop_column('scan_seconds')
        batch_op.drop_column('clock_skew')
        batch_op.drop_column('captured_at')
        batch_op.drop_column('received_at')

    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_column('phash')

    with op.batch_alter_table('photo_band', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_band_photo_id'))

    op.drop_table('photo_band')
