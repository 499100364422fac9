"""Retention (SPEC §10): delete monitoring rows past their windows, in short bounded batches.

Each batch is ``DELETE ... WHERE id IN (SELECT id ... LIMIT n)`` in its own transaction, so
payments and callbacks writing at the same time never wait behind a long cleanup; on PostgreSQL a
pause after each batch keeps the cleanup to about a third of a core (bench/scale.py measures what
callbacks feel meanwhile). The windows
are those of the PostgreSQL function cleanup_old_card_payment_metrics(), which deletes the same
rows of the monitoring tables, refused deliveries and expired sign-in links; job_runs (scheduler
bookkeeping) is pruned here only.
Open alerts are never deleted, whatever their age.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import (
    AuditLog,
    CardPaymentAlert,
    CardPaymentMetric,
    CardPaymentPerformance,
    JobRun,
    SignInLink,
    WebhookEvent,
)

BATCH_SIZE = 1000  # rows per delete transaction, for the job and the CLI alike
SQLITE_PAUSE_SECONDS = 0.1
PAUSE_RATIO = 2.0  # PostgreSQL: pause after a batch for this many times as long as it took


@dataclass(frozen=True)
class Rule:
    """One table's retention: which rows are past the window of which setting."""

    table: str
    model: object
    setting: str
    condition: object  # cutoff -> SQL condition selecting the rows to delete


RULES = (
    Rule("card_payment_metrics", CardPaymentMetric, "METRICS_RETENTION_DAYS",
         lambda cutoff: CardPaymentMetric.timestamp < cutoff),
    Rule("card_payment_performance", CardPaymentPerformance, "PERFORMANCE_RETENTION_DAYS",
         lambda cutoff: CardPaymentPerformance.timestamp < cutoff),
    Rule("card_payment_alerts", CardPaymentAlert, "RESOLVED_ALERT_RETENTION_DAYS",
         lambda cutoff: CardPaymentAlert.resolved.is_(True) & (CardPaymentAlert.resolved_at < cutoff)),
    Rule("audit_logs", AuditLog, "AUDIT_LOG_RETENTION_DAYS", lambda cutoff: AuditLog.timestamp < cutoff),
    Rule("job_runs", JobRun, "JOB_RUN_RETENTION_DAYS", lambda cutoff: JobRun.started_at < cutoff),
    Rule("webhook_events", WebhookEvent, "REJECTED_CALLBACK_RETENTION_DAYS",
         lambda cutoff: (WebhookEvent.processing_status == "rejected") & (WebhookEvent.received_at < cutoff)),
    # Only the sha256 of each token is kept; a link this long past its expiry opens nothing and answers nothing.
    Rule("learner_sign_in_links", SignInLink, "LEARNER_LINK_RETENTION_DAYS",
         lambda cutoff: SignInLink.expires_at < cutoff),
)


@dataclass
class Plan:
    """A rule with its cutoff worked out, and how many rows it matched when counted."""

    rule: Rule
    days: float
    cutoff: object
    matched: int = 0
    deleted: int = 0

    @property
    def where(self):
        """The SQL condition selecting this plan's rows."""
        return self.rule.condition(self.cutoff)


def plan(config, now=None):
    """Work out each table's cutoff from the settings and count the rows past it."""
    now = now or clock.now()
    plans = []
    for rule in RULES:
        days = config[rule.setting]
        item = Plan(rule, days, now - timedelta(days=days))
        item.matched = db.session.execute(select(func.count()).select_from(rule.model).where(item.where)).scalar()
        db.session.commit()
        plans.append(item)
    return plans


def delete_batch(item, batch_size):
    """Delete up to ``batch_size`` rows of one plan in one short transaction; return how many went."""
    model = item.rule.model
    ids = select(model.id).where(item.where).limit(batch_size)
    deleted = db.session.execute(delete(model).where(model.id.in_(ids)).execution_options(
        synchronize_session=False)).rowcount
    db.session.commit()
    item.deleted += deleted
    return deleted


def purge(item, batch_size, on_batch=None):
    """Delete every row of one plan, batch after batch; ``on_batch(n)`` is told each batch's count."""
    sqlite = db.engine.dialect.name == "sqlite"
    while True:
        started = time.monotonic()
        deleted = delete_batch(item, batch_size)
        if deleted and on_batch:
            on_batch(deleted)
        if deleted < batch_size:
            return item.deleted
        # SQLite has one write lock and a waiting writer retries only every 100 ms: without a pause
        # the next batch would take the lock first, and a payment could wait through the whole
        # cleanup. On PostgreSQL the pause is as long as the batch took: the cleanup takes at most
        # about half of a core and of the WAL's flushes, so callbacks keep their latency meanwhile.
        time.sleep(SQLITE_PAUSE_SECONDS if sqlite else (time.monotonic() - started) * PAUSE_RATIO)


def run_cleanup(config, batch_size=BATCH_SIZE, on_batch=None):
    """Apply every retention window; return {table: rows deleted}."""
    plans = plan(config)
    for item in plans:
        if item.matched:
            purge(item, batch_size, on_batch=(lambda n, table=item.rule.table: on_batch(table, n))
                  if on_batch else None)
    return {item.rule.table: item.deleted for item in plans}
