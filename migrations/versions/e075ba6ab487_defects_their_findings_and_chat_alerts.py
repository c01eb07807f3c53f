"""Defects, their findings and chat alerts

Revision ID: e075ba6ab487
Revises: 61e30194ea6a
Create Date: 2026-11-26 23:17:33.662093

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e075ba6ab487'
down_revision = '61e30194ea6a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('defect',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('spot_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('step_key', sa.String(length=250), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('submission_key', sa.String(length=40), nullable=True),
    sa.Column('reported_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('respond_by', sa.DateTime(), nullable=False),
    sa.Column('fix_by', sa.DateTime(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('fixed_by_id', sa.Integer(), nullable=True),
    sa.Column('fixed_at', sa.DateTime(), nullable=True),
    sa.Column('fix_note', sa.Text(), nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['user.id'], name=op.f('fk_defect_assignee_id_user')),
    sa.ForeignKeyConstraint(['fixed_by_id'], ['user.id'], name=op.f('fk_defect_fixed_by_id_user')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['user.id'], name=op.f('fk_defect_reported_by_id_user')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_defect_site_id_site')),
    sa.ForeignKeyConstraint(['spot_id'], ['spot.id'], name=op.f('fk_defect_spot_id_spot')),
    sa.ForeignKeyConstraint(['step_id'], ['step.id'], name=op.f('fk_defect_step_id_step'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['user.id'], name=op.f('fk_defect_verified_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_defect')),
    sa.UniqueConstraint('submission_key', name=op.f('uq_defect_submission_key'))
    )
    with op.batch_alter_table('defect', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_defect_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_defect_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_defect_spot_id'), ['spot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_defect_status'), ['status'], unique=False)

    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('defect_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['defect_id'], ['defect.id'], name=op.f('fk_delivery_defect_id_defect'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_defect_id'), ['defect_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_next_try_at'), ['next_try_at'], unique=False)

    op.create_table('finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('defect_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['defect_id'], ['defect.id'], name=op.f('fk_finding_defect_id_defect'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_finding_record_id_record')),
    sa.ForeignKeyConstraint(['step_id'], ['step.id'], name=op.f('fk_finding_step_id_step')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding'))
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_defect_id'), ['defect_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_record_id'), ['record_id'], unique=False)

    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_target'), ['target'], unique=False)

    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('defect_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=10), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_photo_defect_id'), ['defect_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_photo_defect_id_defect'), 'defect', ['defect_id'], ['id'])

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_url', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('deadline_hours', sa.JSON(), server_default='{}', nullable=False))


def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('deadline_hours')
        batch_op.drop_column('webhook_url')

    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_photo_defect_id_defect'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_photo_defect_id'))
        batch_op.drop_column('stage')
        batch_op.drop_column('defect_id')

    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_target'))

    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_record_id'))
        batch_op.drop_index(batch_op.f('ix_finding_defect_id'))

    op.drop_table('finding')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_next_try_at'))
        batch_op.drop_index(batch_op.f('ix_delivery_defect_id'))

    op.drop_table('delivery')
    with op.batch_alter_table('defect', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_defect_status'))
        batch_op.drop_index(batch_op.f('ix_defect_spot_id'))
        batch_op.drop_index(batch_op.f('ix_defect_site_id'))
        batch_op.drop_index(batch_op.f('ix_defect_assignee_id'))

    op.drop_table('defect')
