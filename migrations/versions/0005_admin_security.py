"""admin security: revocable sessions, TOTP two-factor sign-in, recovery codes

Revision ID: 0005
Revises: 0006
Create Date: 2026-12-10 12:00:00

session_version is copied into an admin's session at sign-in and bumped on logout, password change,
deactivation and 2FA reset, so every copy of an older session cookie stops working. totp_last_step is
the last 30-second step whose code was accepted (a code is never accepted twice); recovery_codes holds
only hashes. Adding nullable columns and one with a server default needs no table rewrite on PostgreSQL.
Only down_revision names another migration, so re-chaining this one is a one-line change.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0006'
branch_labels = None
depends_on = None

COLUMNS = (
    ('session_version', lambda: sa.Column('session_version', sa.Integer(), nullable=False, server_default='0')),
    ('totp_secret', lambda: sa.Column('totp_secret', sa.String(length=64), nullable=True)),
    ('totp_last_step', lambda: sa.Column('totp_last_step', sa.BigInteger(), nullable=True)),
    ('recovery_codes', lambda: sa.Column('recovery_codes', sa.JSON(), nullable=True)),
    ('password_changed_at', lambda: sa.Column('password_changed_at', sa.DateTime(), nullable=True)),
)


def upgrade():
    # batch_alter_table: SQLite cannot add columns with every constraint in place; PostgreSQL runs plain ALTERs.
    with op.batch_alter_table('admin_users') as batch:
        for _, column in COLUMNS:
            batch.add_column(column())


def downgrade():
    with op.batch_alter_table('admin_users') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
