"""The scheduled jobs of cardpay and their timetable.

Every job commits its own short transactions and holds none while it waits on the network.
"""

from cardpay.alerting import outbox
from cardpay.core.extensions import db
from cardpay.jobs import retention, rotation
from cardpay.jobs.guard import Job
from cardpay.models import CardPaymentMetric
from cardpay.monitoring import business, rollups
from cardpay.payments import reconciliation

DELIVERY_BATCH = 50
RECONCILE_BATCH = 50


def retention_cleanup(ctx):
    """Delete monitoring rows past their retention windows (SPEC §10), in short batches."""
    return retention.run_cleanup(ctx.app.config)


def business_rollup(ctx):
    """Roll up the recent hours into card_payment_business_metrics."""
    return business.rollup_recent()


def monitoring_rollup(ctx):
    """Roll up completed minutes and hours of stage timings and metrics for the dashboard summary."""
    return rollups.roll_up(ctx.app.config)


def alert_delivery(ctx):
    """Send what is due in the alert outbox (alert_deliveries)."""
    return outbox.deliver_due(limit=DELIVERY_BATCH)


def stale_payment_reconciliation(ctx):
    """Ask getStatus about payments left pending past STALE_PAYMENT_MINUTES and settle them."""
    return reconciliation.reconcile_stale(limit=RECONCILE_BATCH)


def secret_rotation_reminder(ctx):
    """Raise (or resolve) the secret_rotation_due alert of each secret."""
    return rotation.check_reminders(ctx.app.config)


def heartbeat(ctx):
    """Record that this tick ran, and where (a test job that shows the run-once guard at work)."""
    db.session.add(CardPaymentMetric(metric_name="scheduler_heartbeat", value=1.0,
                                     labels={"tick": ctx.tick, "holder": ctx.holder}))
    db.session.commit()
    return {"tick": ctx.tick}


MINUTE, HOUR, DAY = 60, 3600, 86400
JOBS = (
    Job("alert_delivery", 5, alert_delivery, help="alert outbox, every 5 seconds"),
    Job("stale_payment_reconciliation", MINUTE, stale_payment_reconciliation, help="getStatus, every minute"),
    Job("monitoring_rollup", MINUTE, monitoring_rollup, offset=10, help="dashboard rollups, every minute at :10"),
    Job("business_rollup", HOUR, business_rollup, offset=5 * MINUTE, help="hourly, at :05"),
    Job("retention_cleanup", DAY, retention_cleanup, offset=3 * HOUR + 15 * MINUTE, help="daily, 03:15 UTC"),
    Job("secret_rotation_reminder", DAY, secret_rotation_reminder, offset=9 * HOUR, help="daily, 09:00 UTC"),
)
JOBS_BY_NAME = {job.name: job for job in JOBS}


def heartbeat_job(seconds):
    """Return the test heartbeat job, ticking every ``seconds``."""
    return Job("heartbeat", seconds, heartbeat, help=f"test heartbeat, every {seconds} s")
