"""status poll cap: count the getStatus asks the return page's polls made for each payment

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-12 12:00:00

payments.status_poll_checks counts the getStatus calls a learner's polling caused (the claim that
takes the right to ask increments it, and refuses once STATUS_POLL_MAX_CHECKS is reached), so an open
return page cannot drive getStatus for ever; reconciliation's own count (status_check_attempts) is
separate. A column with a server default needs no table rewrite on PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('status_poll_checks', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('payments') as batch:
        batch.drop_column('status_poll_checks')
