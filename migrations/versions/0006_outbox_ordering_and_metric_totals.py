"""outbox ordering keys, never-pruned metric totals, refused callbacks in the cleanup function

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-05 05:00:00

- alert_deliveries.ordering_key: the outbox carries learner emails and access events too, and one
  enrollment's access events must arrive in order.
- card_payment_metric_totals: running totals per series (metric name and label set), kept as metric
  rows and stage timings are written; /metrics reads them, so its counters never go down when
  retention deletes old rows, and a scrape reads a few dozen rows.
- cleanup_old_card_payment_metrics() also deletes refused callback deliveries after
  REJECTED_CALLBACK_RETENTION_DAYS (default 30).
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None

REPORTING_ROLE = 'cardpay_reporting'
TOTALS = 'card_payment_metric_totals'
APP_POLICY = """
DO $$
BEGIN
    EXECUTE format('CREATE POLICY cardpay_app_all ON %I FOR ALL TO %I USING (true) WITH CHECK (true)',
                   '{table}', current_user);
END
$$;
"""

CLEANUP_FUNCTION = """
CREATE OR REPLACE FUNCTION cleanup_old_card_payment_metrics(
    metrics_days integer DEFAULT 90,
    performance_days integer DEFAULT 90,
    resolved_alert_days integer DEFAULT 365,
    audit_days integer DEFAULT 365,
    rejected_callback_days integer DEFAULT 30
) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
    now_utc timestamp := (now() AT TIME ZONE 'utc');
    n_metrics bigint; n_performance bigint; n_alerts bigint; n_audit bigint; n_refused bigint;
BEGIN
    DELETE FROM card_payment_metrics WHERE timestamp < now_utc - make_interval(days => metrics_days);
    GET DIAGNOSTICS n_metrics = ROW_COUNT;
    DELETE FROM card_payment_performance WHERE timestamp < now_utc - make_interval(days => performance_days);
    GET DIAGNOSTICS n_performance = ROW_COUNT;
    DELETE FROM card_payment_alerts
        WHERE resolved AND resolved_at < now_utc - make_interval(days => resolved_alert_days);
    GET DIAGNOSTICS n_alerts = ROW_COUNT;
    DELETE FROM audit_logs WHERE timestamp < now_utc - make_interval(days => audit_days);
    GET DIAGNOSTICS n_audit = ROW_COUNT;
    DELETE FROM webhook_events WHERE processing_status = 'rejected'
        AND received_at < now_utc - make_interval(days => rejected_callback_days);
    GET DIAGNOSTICS n_refused = ROW_COUNT;
    RETURN jsonb_build_object('card_payment_metrics', n_metrics, 'card_payment_performance', n_performance,
                              'card_payment_alerts', n_alerts, 'audit_logs', n_audit,
                              'webhook_events', n_refused);
END
$fn$;
"""


def upgrade():
    with op.batch_alter_table('alert_deliveries') as batch:
        batch.add_column(sa.Column('ordering_key', sa.String(length=120), nullable=True))
        batch.create_index('ix_alert_deliveries_ordering_key', ['ordering_key', 'id'])
    op.create_table(
        'card_payment_metric_totals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('metric_name', sa.String(length=100), nullable=False),
        sa.Column('labels_key', sa.Text(), nullable=False),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('value_sum', sa.Float(), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_card_payment_metric_totals')),
        sa.UniqueConstraint('metric_name', 'labels_key', name='uq_card_payment_metric_totals_series'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS cleanup_old_card_payment_metrics(integer, integer, integer, integer)")
        op.execute(CLEANUP_FUNCTION)
        op.execute(f"ALTER TABLE {TOTALS} ENABLE ROW LEVEL SECURITY")
        op.execute(APP_POLICY.format(table=TOTALS))
        op.execute(f"CREATE POLICY cardpay_reporting_read ON {TOTALS} FOR SELECT TO {REPORTING_ROLE} USING (true)")
        op.execute(f"GRANT SELECT ON {TOTALS} TO {REPORTING_ROLE}")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS cleanup_old_card_payment_metrics(integer, integer, integer, integer, "
                   "integer)")
        op.execute(f"REVOKE ALL ON {TOTALS} FROM {REPORTING_ROLE}")
    op.drop_table('card_payment_metric_totals')
    with op.batch_alter_table('alert_deliveries') as batch:
        batch.drop_index('ix_alert_deliveries_ordering_key')
        batch.drop_column('ordering_key')
