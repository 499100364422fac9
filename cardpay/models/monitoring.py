"""The monitoring tables: metrics, stage timings, alerts and their deliveries, hourly business rollups, and
the per-minute and per-hour rollups of metrics and stage timings that the dashboard reads."""

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime

STAGES = ("webhook_processing", "payment_detection", "approval_processing", "ui_update", "end_to_end")
SEVERITIES = ("info", "warning", "critical")


class CardPaymentMetric(db.Model):
    """One counted event: name, value, labels."""

    __tablename__ = "card_payment_metrics"
    __table_args__ = (db.Index("ix_card_payment_metrics_name_time", "metric_name", "timestamp"),)
    id = db.Column(db.BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    metric_name = db.Column(db.String(100), nullable=False)
    value = db.Column(db.Float, nullable=False, default=1.0)
    labels = db.Column(db.JSON, nullable=False, default=dict)
    timestamp = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)


class CardPaymentMetricTotal(db.Model):
    """The running total of one series (a metric and its labels), kept as rows are written: what /metrics
    reports, never lowered by retention (monitoring/totals)."""

    __tablename__ = "card_payment_metric_totals"
    __table_args__ = (db.UniqueConstraint("metric_name", "labels_key", name="uq_card_payment_metric_totals_series"),)
    id = db.Column(db.Integer, primary_key=True)
    metric_name = db.Column(db.String(100), nullable=False)
    labels_key = db.Column(db.Text, nullable=False)  # the labels as sorted compact JSON: the series' identity
    labels = db.Column(db.JSON, nullable=False, default=dict)
    value_sum = db.Column(db.Float, nullable=False)
    count = db.Column(db.BigInteger, nullable=False)


class CardPaymentPerformance(db.Model):
    """One timed stage of one payment, against its threshold."""

    __tablename__ = "card_payment_performance"
    __table_args__ = (db.Index("ix_card_payment_performance_op_time", "operation", "timestamp"),)
    id = db.Column(db.BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    operation = db.Column(db.String(40), nullable=False)
    duration_ms = db.Column(db.Float, nullable=False)
    threshold_ms = db.Column(db.Float, nullable=False)
    exceeded = db.Column(db.Boolean, nullable=False, default=False)
    success = db.Column(db.Boolean, nullable=False, default=True)
    payment_id = db.Column(db.Integer)
    details = db.Column(db.JSON, nullable=False, default=dict)
    timestamp = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)


class CardPaymentAlert(db.Model):
    """An alert, identified by its fingerprint; at most one open alert per fingerprint."""

    __tablename__ = "card_payment_alerts"
    __table_args__ = (
        db.Index("uq_card_payment_alerts_open_fingerprint", "fingerprint", unique=True,
                 sqlite_where=db.text("resolved = 0"), postgresql_where=db.text("resolved = false")),
    )
    id = db.Column(db.Integer, primary_key=True)
    alert_type = db.Column(db.String(60), nullable=False)
    severity = db.Column(db.String(10), nullable=False)
    message = db.Column(db.Text, nullable=False)
    details = db.Column(db.JSON, nullable=False, default=dict)
    fingerprint = db.Column(db.String(128), nullable=False, index=True)
    occurrences = db.Column(db.Integer, nullable=False, default=1)
    resolved = db.Column(db.Boolean, nullable=False, default=False, index=True)
    resolved_at = db.Column(UTCDateTime)
    resolved_by = db.Column(db.String(254))
    timestamp = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    last_seen_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    last_notified_at = db.Column(UTCDateTime)


class AlertDelivery(db.Model):
    """The outbox: one message (an alert's notification, a learner's email, an access event) to one channel,
    retried until delivered."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (db.Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
                      db.Index("ix_alert_deliveries_ordering_key", "ordering_key", "id"))
    id = db.Column(db.Integer, primary_key=True)
    alert_id = db.Column(db.Integer, db.ForeignKey("card_payment_alerts.id", ondelete="CASCADE"), index=True)
    # slack, webhook, email, manual_webhook, manual_email, and the channels other packages register
    channel = db.Column(db.String(30), nullable=False)
    ordering_key = db.Column(db.String(120))  # rows sharing a key go out in id order (one enrollment's events)
    target = db.Column(db.String(1000), nullable=False)
    kind = db.Column(db.String(20), nullable=False, default="firing")  # firing, repeat, resolved, test
    payload = db.Column(db.JSON, nullable=False, default=dict)
    status = db.Column(db.String(20), nullable=False, default="pending")  # pending, sending, delivered, failed
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    claimed_until = db.Column(UTCDateTime)
    claimed_by = db.Column(db.String(100))
    last_error = db.Column(db.Text)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    delivered_at = db.Column(UTCDateTime)


class CardPaymentBusinessMetric(db.Model):
    """An hourly rollup of payments, revenue and processing time."""

    __tablename__ = "card_payment_business_metrics"
    id = db.Column(db.Integer, primary_key=True)
    hour_start = db.Column(UTCDateTime, nullable=False, unique=True)
    payments_attempted = db.Column(db.Integer, nullable=False, default=0)
    payments_succeeded = db.Column(db.Integer, nullable=False, default=0)
    payments_failed = db.Column(db.Integer, nullable=False, default=0)
    payments_abandoned = db.Column(db.Integer, nullable=False, default=0)
    revenue_cents = db.Column(db.BigInteger, nullable=False, default=0)
    success_rate = db.Column(db.Float)
    avg_processing_ms = db.Column(db.Float)
    p95_processing_ms = db.Column(db.Float)
    timestamp = db.Column(UTCDateTime, nullable=False, default=clock.now)


# Stage-time histogram of card_payment_stage_rollups: bin 0 holds [0, 1) ms, bin k (1..200) holds
# [2^((k-1)/10), 2^(k/10)) ms, the last bin everything from 2^20 ms (17.5 minutes) up. The bins are
# columns h000..h201 (NULL when empty); changing the layout needs a migration that empties the table.
HISTOGRAM_STEPS_PER_DOUBLING = 10
HISTOGRAM_DOUBLINGS = 20
HISTOGRAM_BINS = HISTOGRAM_STEPS_PER_DOUBLING * HISTOGRAM_DOUBLINGS + 2


def histogram_column(index):
    """Return the column name of one histogram bin."""
    return f"h{index:03d}"


class CardPaymentStageRollup(db.Model):
    """Stage timings of one minute (or hour) per stage: count, sum, extremes, flags and a duration histogram."""

    __tablename__ = "card_payment_stage_rollups"
    __table_args__ = (db.UniqueConstraint("bucket_seconds", "bucket_start", "operation",
                                          name="uq_card_payment_stage_rollups_bucket"),)
    id = db.Column(db.BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    bucket_start = db.Column(UTCDateTime, nullable=False)
    bucket_seconds = db.Column(db.Integer, nullable=False)
    operation = db.Column(db.String(40), nullable=False)
    count = db.Column(db.Integer, nullable=False)
    sum_ms = db.Column(db.Float, nullable=False)
    min_ms = db.Column(db.Float, nullable=False)
    max_ms = db.Column(db.Float, nullable=False)
    exceeded = db.Column(db.Integer, nullable=False)
    failures = db.Column(db.Integer, nullable=False)


for _bin in range(HISTOGRAM_BINS):
    setattr(CardPaymentStageRollup, histogram_column(_bin), db.Column(db.Integer))


class CardPaymentMetricRollup(db.Model):
    """Metric rows of one minute (or hour) per metric name: how many, and the sum of their values."""

    __tablename__ = "card_payment_metric_rollups"
    __table_args__ = (db.UniqueConstraint("bucket_seconds", "bucket_start", "metric_name",
                                          name="uq_card_payment_metric_rollups_bucket"),)
    id = db.Column(db.BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    bucket_start = db.Column(UTCDateTime, nullable=False)
    bucket_seconds = db.Column(db.Integer, nullable=False)
    metric_name = db.Column(db.String(100), nullable=False)
    count = db.Column(db.Integer, nullable=False)
    value_sum = db.Column(db.Float, nullable=False)
