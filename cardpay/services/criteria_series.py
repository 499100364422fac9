"""Time series for the dashboard charts: payments and stage times per bucket, grouped in SQL.

Buckets are counted from the window's start (5 minutes over 1h, an hour over 24h, 6 hours over 7d),
so a chart always has the same number of points and empty buckets read as zero.
"""

from datetime import timedelta

from sqlalchemy import Integer, cast, func, literal, select

from cardpay import clock
from cardpay.extensions import db
from cardpay.models import CardPaymentMetric, CardPaymentPerformance, Payment
from cardpay.models.monitoring import STAGES
from cardpay.services import error_rate as error_rates

BUCKET_SECONDS = {"1h": 300, "24h": 3600, "7d": 6 * 3600}


def _bucket(column, start, size):
    """SQL for the bucket index of a timestamp: floor((t - start) / size), on SQLite and PostgreSQL."""
    offset = int(start.timestamp())
    if db.engine.dialect.name == "postgresql":
        return cast(func.floor((func.extract("epoch", column) - literal(offset)) / literal(size)), Integer)
    # SQLite: whole epoch seconds, and integer division floors the non-negative offsets.
    return (cast(func.strftime("%s", column), Integer) - literal(offset)) // literal(size)


def _per_bucket(column, start, size, *conditions):
    """Count rows per bucket of ``column`` inside the window."""
    bucket = _bucket(column, start, size).label("b")
    rows = db.session.execute(select(bucket, func.count()).where(column >= start, *conditions).group_by(bucket))
    return dict(rows.all())


def _clamped(values, count):
    """Fold a row stamped exactly "now" (index == count) into the last bucket."""
    folded = {}
    for index, value in values.items():
        key = min(int(index), count - 1)
        folded[key] = folded.get(key, 0) + value
    return folded


def series(window, start, now):
    """Return bucket start times and, per bucket, payments by outcome and the average time of each stage."""
    size = BUCKET_SECONDS[window]
    count = -(-int((now - start).total_seconds()) // size)
    times = [clock.iso(start + timedelta(seconds=i * size)) for i in range(count)]

    def filled(values, digits=None):
        return [round(values[i], digits) if digits is not None and values.get(i) is not None
                else values.get(i, 0 if digits is None else None) for i in range(count)]

    attempted = _clamped(_per_bucket(Payment.created_at, start, size), count)
    succeeded = _clamped(_per_bucket(Payment.succeeded_at, start, size, Payment.status == "succeeded"), count)
    failed = _clamped(_per_bucket(Payment.failed_at, start, size, Payment.status == "failed"), count)
    perf = CardPaymentPerformance
    bucket = _bucket(perf.timestamp, start, size).label("b")
    averages = {op: {} for op in STAGES}
    for op, index, avg in db.session.execute(
            select(perf.operation, bucket, func.avg(perf.duration_ms))
            .where(perf.timestamp >= start).group_by(perf.operation, bucket)).all():
        averages.setdefault(op, {})[min(int(index), count - 1)] = avg
    metric = CardPaymentMetric
    bucket = _bucket(metric.timestamp, start, size).label("b")
    requests = {error_rates.TOTAL: {}, error_rates.ERRORS: {}}
    for name, index, total in db.session.execute(
            select(metric.metric_name, bucket, func.sum(metric.value))
            .where(metric.metric_name.in_(tuple(requests)), metric.timestamp >= start)
            .group_by(metric.metric_name, bucket)).all():
        requests[name][min(int(index), count - 1)] = total
    error_pct = {i: 100.0 * requests[error_rates.ERRORS].get(i, 0) / n
                 for i, n in requests[error_rates.TOTAL].items() if n}
    return {
        "bucket_seconds": size, "times": times, "error_rate_pct": filled(error_pct, 2),
        "payments": {"attempted": filled(attempted), "succeeded": filled(succeeded), "failed": filled(failed)},
        "stage_avg_ms": {op: filled(averages[op], 1) for op in STAGES},
    }
