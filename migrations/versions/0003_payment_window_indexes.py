"""payment window indexes: succeeded_at, failed_at and access_granted_at, for the dashboard summary

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:00:00

The summary counts payments that succeeded, failed or were granted access inside its window (1h /
24h / 7d); without these indexes each of those statements scans the whole payments table. On
PostgreSQL the indexes are built CONCURRENTLY so callbacks keep writing payments meanwhile.
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = ('succeeded_at', 'failed_at', 'access_granted_at')


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            for column in COLUMNS:
                op.create_index(f'ix_payments_{column}', 'payments', [column], postgresql_concurrently=True)
        return
    for column in COLUMNS:
        op.create_index(f'ix_payments_{column}', 'payments', [column])


def downgrade():
    for column in COLUMNS:
        op.drop_index(f'ix_payments_{column}', table_name='payments')
