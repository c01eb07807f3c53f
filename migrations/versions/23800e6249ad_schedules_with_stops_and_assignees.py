"""Schedules (versioned), their stops and assignees; records indexed by spot and time

Revision ID: 23800e6249ad
Revises: 573d48b8752d
Create Date: 2026-11-26 21:10:25.349584

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '23800e6249ad'
down_revision = '573d48b8752d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('origin_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('sop_id', sa.Integer(), nullable=True),
    sa.Column('grace', sa.Integer(), nullable=False),
    sa.Column('timing', sa.String(length=20), nullable=False),
    sa.Column('span_start', sa.Time(), nullable=True),
    sa.Column('span_end', sa.Time(), nullable=True),
    sa.Column('every', sa.Integer(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('times', sa.String(length=200), nullable=False),
    sa.Column('length', sa.Integer(), nullable=True),
    sa.Column('weekdays', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Integer(), nullable=True),
    sa.Column('month', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('valid_until', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['origin_id'], ['schedule.id'], name=op.f('fk_schedule_origin_id_schedule')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_schedule_site_id_site')),
    sa.ForeignKeyConstraint(['sop_id'], ['sop.id'], name=op.f('fk_schedule_sop_id_sop')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule'))
    )
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_site_id'), ['site_id'], unique=False)

    op.create_table('schedule_assignee',
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedule.id'], name=op.f('fk_schedule_assignee_schedule_id_schedule'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_schedule_assignee_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('schedule_id', 'user_id', name=op.f('pk_schedule_assignee'))
    )
    op.create_table('stop',
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('spot_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedule.id'], name=op.f('fk_stop_schedule_id_schedule'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['spot_id'], ['spot.id'], name=op.f('fk_stop_spot_id_spot')),
    sa.PrimaryKeyConstraint('schedule_id', 'position', name=op.f('pk_stop'))
    )
    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stop_spot_id'), ['spot_id'], unique=False)
    # Which records fall in a spot's due windows: read by spot and time.
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.create_index('ix_record_spot_time', ['spot_id', 'submitted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_index('ix_record_spot_time')
    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stop_spot_id'))

    op.drop_table('stop')
    op.drop_table('schedule_assignee')
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_site_id'))

    op.drop_table('schedule')
