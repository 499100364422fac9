"""retention of expired sign-in links: cleanup_old_card_payment_metrics() deletes them too

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-05 08:20:00

A learner sign-in link (only the sha256 of its token is stored) opens nothing once it has expired;
LEARNER_LINK_RETENTION_DAYS (default 30) after that it is deleted, by the retention job and, on
PostgreSQL, by the SQL function, which gains a sixth argument for it (the first five are unchanged,
so every existing call keeps its meaning).
"""
from alembic import op

revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None

# The function as it stood before this migration (0006), restored by downgrade().
_FIVE_ARGUMENTS = "integer, integer, integer, integer, integer"
_SIX_ARGUMENTS = "integer, integer, integer, integer, integer, integer"


def _function(with_links):
    links_argument = ",\n    sign_in_link_days integer DEFAULT 30" if with_links else ""
    links_delete = """
    DELETE FROM learner_sign_in_links WHERE expires_at < now_utc - make_interval(days => sign_in_link_days);
    GET DIAGNOSTICS n_links = ROW_COUNT;""" if with_links else ""
    links_count = ",\n                              'learner_sign_in_links', n_links" if with_links else ""
    return f"""
CREATE OR REPLACE FUNCTION cleanup_old_card_payment_metrics(
    metrics_days integer DEFAULT 90,
    performance_days integer DEFAULT 90,
    resolved_alert_days integer DEFAULT 365,
    audit_days integer DEFAULT 365,
    rejected_callback_days integer DEFAULT 30{links_argument}
) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
    now_utc timestamp := (now() AT TIME ZONE 'utc');
    n_metrics bigint; n_performance bigint; n_alerts bigint; n_audit bigint; n_refused bigint; n_links bigint;
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
    GET DIAGNOSTICS n_refused = ROW_COUNT;{links_delete}
    RETURN jsonb_build_object('card_payment_metrics', n_metrics, 'card_payment_performance', n_performance,
                              'card_payment_alerts', n_alerts, 'audit_logs', n_audit,
                              'webhook_events', n_refused{links_count});
END
$fn$;
"""


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP FUNCTION IF EXISTS cleanup_old_card_payment_metrics({_FIVE_ARGUMENTS})")
        op.execute(_function(with_links=True))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP FUNCTION IF EXISTS cleanup_old_card_payment_metrics({_SIX_ARGUMENTS})")
        op.execute(_function(with_links=False))
