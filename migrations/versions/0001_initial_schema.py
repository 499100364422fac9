"""initial schema: every table of SPEC section 3; on PostgreSQL also RLS and the cleanup function

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 12:55:11.429711

"""
from alembic import op
import sqlalchemy as sa

# Tables that hold payment monitoring and security data: row level security on PostgreSQL.
RLS_TABLES = (
    'card_payment_metrics', 'card_payment_performance', 'card_payment_alerts',
    'card_payment_business_metrics', 'fast_track_approvals', 'audit_logs', 'webhook_events',
)
REPORTING_ROLE = 'cardpay_reporting'


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_users')),
    sa.UniqueConstraint('email', name=op.f('uq_admin_users_email'))
    )
    op.create_table('audit_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=True),
    sa.Column('target_id', sa.String(length=128), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_logs'))
    )
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.create_index('ix_audit_logs_action_time', ['action', 'timestamp'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_logs_timestamp'), ['timestamp'], unique=False)

    op.create_table('card_payment_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_type', sa.String(length=60), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sa.String(length=128), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=254), nullable=True),
    sa.Column('timestamp', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_notified_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_payment_alerts'))
    )
    with op.batch_alter_table('card_payment_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_payment_alerts_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_payment_alerts_resolved'), ['resolved'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_payment_alerts_timestamp'), ['timestamp'], unique=False)
        batch_op.create_index('uq_card_payment_alerts_open_fingerprint', ['fingerprint'], unique=True, sqlite_where=sa.text('resolved = 0'), postgresql_where=sa.text('resolved = false'))

    op.create_table('card_payment_business_metrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hour_start', sa.DateTime(), nullable=False),
    sa.Column('payments_attempted', sa.Integer(), nullable=False),
    sa.Column('payments_succeeded', sa.Integer(), nullable=False),
    sa.Column('payments_failed', sa.Integer(), nullable=False),
    sa.Column('payments_abandoned', sa.Integer(), nullable=False),
    sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
    sa.Column('success_rate', sa.Float(), nullable=True),
    sa.Column('avg_processing_ms', sa.Float(), nullable=True),
    sa.Column('p95_processing_ms', sa.Float(), nullable=True),
    sa.Column('timestamp', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_payment_business_metrics')),
    sa.UniqueConstraint('hour_start', name=op.f('uq_card_payment_business_metrics_hour_start'))
    )
    op.create_table('card_payment_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('metric_name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('timestamp', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_payment_metrics'))
    )
    with op.batch_alter_table('card_payment_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_card_payment_metrics_name_time', ['metric_name', 'timestamp'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_payment_metrics_timestamp'), ['timestamp'], unique=False)

    op.create_table('card_payment_performance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operation', sa.String(length=40), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.Column('threshold_ms', sa.Float(), nullable=False),
    sa.Column('exceeded', sa.Boolean(), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('timestamp', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_payment_performance'))
    )
    with op.batch_alter_table('card_payment_performance', schema=None) as batch_op:
        batch_op.create_index('ix_card_payment_performance_op_time', ['operation', 'timestamp'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_payment_performance_timestamp'), ['timestamp'], unique=False)

    op.create_table('courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
    sa.UniqueConstraint('slug', name=op.f('uq_courses_slug'))
    )
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_name', sa.String(length=80), nullable=False),
    sa.Column('tick', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job_name', 'tick', name=op.f('uq_job_runs_job_name_tick'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_started_at'), ['started_at'], unique=False)

    op.create_table('learners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learners')),
    sa.UniqueConstraint('email', name=op.f('uq_learners_email'))
    )
    op.create_table('secret_rotations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('secret_name', sa.String(length=80), nullable=False),
    sa.Column('rotated_at', sa.DateTime(), nullable=False),
    sa.Column('rotated_by', sa.String(length=254), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secret_rotations'))
    )
    with op.batch_alter_table('secret_rotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secret_rotations_secret_name'), ['secret_name'], unique=False)

    op.create_table('alert_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=30), nullable=False),
    sa.Column('target', sa.String(length=1000), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['card_payment_alerts.id'], name=op.f('fk_alert_deliveries_alert_id_card_payment_alerts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_deliveries'))
    )
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_deliveries_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index('ix_alert_deliveries_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('enrollments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('access_granted_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_enrollments_course_id_courses')),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_enrollments_learner_id_learners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollments')),
    sa.UniqueConstraint('learner_id', 'course_id', name=op.f('uq_enrollments_learner_id_course_id'))
    )
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('external_transaction_id', sa.String(length=64), nullable=False),
    sa.Column('paylink_id', sa.String(length=128), nullable=True),
    sa.Column('paylink_url', sa.String(length=1000), nullable=True),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('failure_reason', sa.String(length=200), nullable=True),
    sa.Column('detection_method', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('paylink_created_at', sa.DateTime(), nullable=True),
    sa.Column('return_page_at', sa.DateTime(), nullable=True),
    sa.Column('outcome_known_at', sa.DateTime(), nullable=True),
    sa.Column('succeeded_at', sa.DateTime(), nullable=True),
    sa.Column('failed_at', sa.DateTime(), nullable=True),
    sa.Column('access_granted_at', sa.DateTime(), nullable=True),
    sa.Column('ui_acked_at', sa.DateTime(), nullable=True),
    sa.Column('last_status_check_at', sa.DateTime(), nullable=True),
    sa.Column('status_check_attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_payments_enrollment_id_enrollments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('external_transaction_id', name=op.f('uq_payments_external_transaction_id')),
    sa.UniqueConstraint('paylink_id', name=op.f('uq_payments_paylink_id')),
    sa.UniqueConstraint('token', name=op.f('uq_payments_token'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_status'), ['status'], unique=False)

    op.create_table('fast_track_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('processing_time_ms', sa.Float(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('approved_by', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_fast_track_approvals_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fast_track_approvals'))
    )
    with op.batch_alter_table('fast_track_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fast_track_approvals_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_fast_track_approvals_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('uq_fast_track_approvals_approved_payment', ['payment_id'], unique=True, sqlite_where=sa.text("outcome = 'approved'"), postgresql_where=sa.text("outcome = 'approved'"))

    op.create_table('webhook_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('remote_ip', sa.String(length=64), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('body_size', sa.Integer(), nullable=False),
    sa.Column('delivery_key', sa.String(length=300), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('paylink_id', sa.String(length=128), nullable=True),
    sa.Column('callback_status', sa.String(length=20), nullable=True),
    sa.Column('signature_valid', sa.Boolean(), nullable=True),
    sa.Column('verdict', sa.String(length=40), nullable=False),
    sa.Column('processing_status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['webhook_events.id'], name=op.f('fk_webhook_events_duplicate_of_id_webhook_events')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_webhook_events_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events')),
    sa.UniqueConstraint('delivery_key', name=op.f('uq_webhook_events_delivery_key'))
    )
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_events_paylink_id'), ['paylink_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_events_processing_status'), ['processing_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_events_received_at'), ['received_at'], unique=False)

    op.create_table('manual_interventions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('webhook_event_id', sa.Integer(), nullable=True),
    sa.Column('paylink_id', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolved_by', sa.String(length=254), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_manual_interventions_payment_id_payments')),
    sa.ForeignKeyConstraint(['webhook_event_id'], ['webhook_events.id'], name=op.f('fk_manual_interventions_webhook_event_id_webhook_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_interventions'))
    )
    with op.batch_alter_table('manual_interventions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_interventions_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manual_interventions_status'), ['status'], unique=False)


    if op.get_bind().dialect.name == 'postgresql':
        _postgresql_upgrade()

def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _postgresql_downgrade()
    with op.batch_alter_table('manual_interventions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_interventions_status'))
        batch_op.drop_index(batch_op.f('ix_manual_interventions_payment_id'))

    op.drop_table('manual_interventions')
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_events_received_at'))
        batch_op.drop_index(batch_op.f('ix_webhook_events_processing_status'))
        batch_op.drop_index(batch_op.f('ix_webhook_events_paylink_id'))

    op.drop_table('webhook_events')
    with op.batch_alter_table('fast_track_approvals', schema=None) as batch_op:
        batch_op.drop_index('uq_fast_track_approvals_approved_payment', sqlite_where=sa.text("outcome = 'approved'"), postgresql_where=sa.text("outcome = 'approved'"))
        batch_op.drop_index(batch_op.f('ix_fast_track_approvals_payment_id'))
        batch_op.drop_index(batch_op.f('ix_fast_track_approvals_created_at'))

    op.drop_table('fast_track_approvals')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_status'))
        batch_op.drop_index(batch_op.f('ix_payments_enrollment_id'))
        batch_op.drop_index(batch_op.f('ix_payments_created_at'))

    op.drop_table('payments')
    op.drop_table('enrollments')
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_deliveries_due')
        batch_op.drop_index(batch_op.f('ix_alert_deliveries_alert_id'))

    op.drop_table('alert_deliveries')
    with op.batch_alter_table('secret_rotations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_secret_rotations_secret_name'))

    op.drop_table('secret_rotations')
    op.drop_table('learners')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_started_at'))

    op.drop_table('job_runs')
    op.drop_table('job_leases')
    op.drop_table('courses')
    with op.batch_alter_table('card_payment_performance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_payment_performance_timestamp'))
        batch_op.drop_index('ix_card_payment_performance_op_time')

    op.drop_table('card_payment_performance')
    with op.batch_alter_table('card_payment_metrics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_payment_metrics_timestamp'))
        batch_op.drop_index('ix_card_payment_metrics_name_time')

    op.drop_table('card_payment_metrics')
    op.drop_table('card_payment_business_metrics')
    with op.batch_alter_table('card_payment_alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_card_payment_alerts_open_fingerprint', sqlite_where=sa.text('resolved = 0'), postgresql_where=sa.text('resolved = false'))
        batch_op.drop_index(batch_op.f('ix_card_payment_alerts_timestamp'))
        batch_op.drop_index(batch_op.f('ix_card_payment_alerts_resolved'))
        batch_op.drop_index(batch_op.f('ix_card_payment_alerts_fingerprint'))

    op.drop_table('card_payment_alerts')
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_logs_timestamp'))
        batch_op.drop_index('ix_audit_logs_action_time')

    op.drop_table('audit_logs')
    op.drop_table('admin_users')


CREATE_REPORTING_ROLE = f"""
DO $$
BEGIN
    CREATE ROLE {REPORTING_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- shared by every cardpay database on the server
END
$$;
"""

APP_POLICY = """
DO $$
BEGIN
    EXECUTE format('CREATE POLICY cardpay_app_all ON %I FOR ALL TO %I USING (true) WITH CHECK (true)',
                   '{table}', current_user);
END
$$;
"""

# Retention windows default to SPEC section 10; the Python cleanup passes the configured ones.
CLEANUP_FUNCTION = """
CREATE OR REPLACE FUNCTION cleanup_old_card_payment_metrics(
    metrics_days integer DEFAULT 90,
    performance_days integer DEFAULT 90,
    resolved_alert_days integer DEFAULT 365,
    audit_days integer DEFAULT 365
) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
    now_utc timestamp := (now() AT TIME ZONE 'utc');
    n_metrics bigint; n_performance bigint; n_alerts bigint; n_audit bigint;
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
    RETURN jsonb_build_object('card_payment_metrics', n_metrics, 'card_payment_performance', n_performance,
                              'card_payment_alerts', n_alerts, 'audit_logs', n_audit);
END
$fn$;
"""


def _postgresql_upgrade():
    op.execute(CREATE_REPORTING_ROLE)
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(APP_POLICY.format(table=table))
        op.execute(f"CREATE POLICY cardpay_reporting_read ON {table} FOR SELECT TO {REPORTING_ROLE} USING (true)")
        op.execute(f"GRANT SELECT ON {table} TO {REPORTING_ROLE}")
    op.execute(CLEANUP_FUNCTION)


def _postgresql_downgrade():
    op.execute("DROP FUNCTION IF EXISTS cleanup_old_card_payment_metrics(integer, integer, integer, integer)")
    for table in RLS_TABLES:
        op.execute(f"DROP POLICY IF EXISTS cardpay_reporting_read ON {table}")
        op.execute(f"DROP POLICY IF EXISTS cardpay_app_all ON {table}")
        op.execute(f"REVOKE ALL ON {table} FROM {REPORTING_ROLE}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
