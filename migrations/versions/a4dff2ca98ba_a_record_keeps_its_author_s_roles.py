"""A record keeps its author's roles

A round is filled only by a record of someone holding the round's role. Records made
before this keep the roles their authors hold now.

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

# app.models.people.ROLES, as it was when this was written.
ROLES = ("guard", "cleaner", "technician", "supervisor", "admin")


def upgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roles', sa.String(length=100), nullable=True))
    connection = op.get_bind()
    held = {}
    for user_id, role in connection.execute(sa.text("SELECT user_id, role FROM user_role")):
        held.setdefault(user_id, set()).add(role)
    for user_id in connection.execute(sa.text("SELECT id FROM \"user\"")).scalars():
        roles = " ".join(role for role in ROLES if role in held.get(user_id, ()))
        connection.execute(sa.text("UPDATE record SET roles = :roles WHERE user_id = :user"),
                           {"roles": roles, "user": user_id})
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.alter_column('roles', existing_type=sa.String(length=100), nullable=False)


def downgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_column('roles')
