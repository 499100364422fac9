"""monitoring rollups: stage timings and metrics per minute and per hour, for the dashboard summary

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 14:00:00

Two tables the rollup job fills from card_payment_performance and card_payment_metrics; the raw rows
stay. On PostgreSQL they get the same row level security and reporting grant as the other
card_payment_* tables. cleanup_old_card_payment_metrics() is left as it is: its result is the
per-table count operators and tests read, and the rollup job prunes its own rows past the same
retention windows every minute.
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

HISTOGRAM_BINS = 202  # models.monitoring.HISTOGRAM_BINS when this revision was written
TABLES = ('card_payment_stage_rollups', 'card_payment_metric_rollups')
REPORTING_ROLE = 'cardpay_reporting'
APP_POLICY = """
DO $$
BEGIN
    EXECUTE format('CREATE POLICY cardpay_app_all ON %I FOR ALL TO %I USING (true) WITH CHECK (true)',
                   '{table}', current_user);
END
$$;
"""


def _bucket_columns():
    return [
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('bucket_start', sa.DateTime(), nullable=False),
        sa.Column('bucket_seconds', sa.Integer(), nullable=False),
    ]


def upgrade():
    op.create_table(
        'card_payment_stage_rollups',
        *_bucket_columns(),
        sa.Column('operation', sa.String(length=40), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('sum_ms', sa.Float(), nullable=False),
        sa.Column('min_ms', sa.Float(), nullable=False),
        sa.Column('max_ms', sa.Float(), nullable=False),
        sa.Column('exceeded', sa.Integer(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        *[sa.Column(f'h{index:03d}', sa.Integer(), nullable=True) for index in range(HISTOGRAM_BINS)],
        sa.PrimaryKeyConstraint('id', name=op.f('pk_card_payment_stage_rollups')),
        sa.UniqueConstraint('bucket_seconds', 'bucket_start', 'operation',
                            name='uq_card_payment_stage_rollups_bucket'),
    )
    op.create_table(
        'card_payment_metric_rollups',
        *_bucket_columns(),
        sa.Column('metric_name', sa.String(length=100), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('value_sum', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_card_payment_metric_rollups')),
        sa.UniqueConstraint('bucket_seconds', 'bucket_start', 'metric_name',
                            name='uq_card_payment_metric_rollups_bucket'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(APP_POLICY.format(table=table))
            op.execute(f"CREATE POLICY cardpay_reporting_read ON {table} FOR SELECT TO {REPORTING_ROLE} USING (true)")
            op.execute(f"GRANT SELECT ON {table} TO {REPORTING_ROLE}")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"REVOKE ALL ON {table} FROM {REPORTING_ROLE}")
    op.drop_table('card_payment_metric_rollups')
    op.drop_table('card_payment_stage_rollups')
