"""Per-minute and per-hour rollups of stage timings and metrics, so the dashboard never scans a week of raw rows.

The rollup job (every minute) sums each completed minute of card_payment_performance and
card_payment_metrics into card_payment_stage_rollups / card_payment_metric_rollups
(bucket_seconds 60), then each hour whose minutes are final into one row per stage or metric
(bucket_seconds 3600, summed from its minutes). Rows are upserted by (bucket_seconds, bucket_start,
stage or metric name), so a repeated or overlapping run writes the same figures again. The last
REROLL_MINUTES are rolled again on every run: a row committed a little after its minute was first
rolled is still counted (a row committed later than that stays in the raw table only).

Readers (services/rollup_reads) take a level's rows up to the end of its newest bucket, the
watermark, and the raw rows after it, so the figures are fresh whether or not the job has caught up.
The raw rows stay; both keep their retention windows, and the job prunes rollups past them.
"""

import functools
from datetime import datetime, timedelta, timezone

from sqlalchemy import Integer, case, cast, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from cardpay import clock
from cardpay.extensions import db
from cardpay.models import CardPaymentMetric, CardPaymentPerformance
from cardpay.models.monitoring import HISTOGRAM_BINS, CardPaymentMetricRollup, CardPaymentStageRollup, histogram_column
from cardpay.services import histograms

MINUTE, HOUR = 60, 3600
REROLL_MINUTES = 5
# The first run rolls up this far back: the longest dashboard window (7d) with a day to spare.
HORIZON = timedelta(days=8)
CHUNK = timedelta(days=1)  # one transaction per day of raw rows while catching up
BINS = [histogram_column(index) for index in range(HISTOGRAM_BINS)]


def floor_to(when, seconds):
    """Return ``when`` rounded down to a multiple of ``seconds`` since the epoch (aware UTC)."""
    stamp = clock.as_utc(when).timestamp()
    return datetime.fromtimestamp(stamp - stamp % seconds, timezone.utc)


def bucket_sql(column, start, size):
    """SQL for the bucket index of a timestamp: floor((t - start) / size), on SQLite and PostgreSQL."""
    offset = int(start.timestamp())
    if db.engine.dialect.name == "postgresql":
        return cast(func.floor((func.extract("epoch", column) - literal(offset)) / literal(size)), Integer)
    # SQLite: whole epoch seconds, and integer division floors the non-negative offsets.
    return (cast(func.strftime("%s", column), Integer) - literal(offset)) // literal(size)


def watermark(model, seconds):
    """Return the end of the newest rollup bucket of one size (None when there is none)."""
    newest = db.session.execute(select(func.max(model.bucket_start)).where(model.bucket_seconds == seconds)).scalar()
    return None if newest is None else clock.as_utc(newest) + timedelta(seconds=seconds)


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def _stage_minutes(start, end):
    perf = CardPaymentPerformance
    minute, bin_index = bucket_sql(perf.timestamp, start, MINUTE), histograms.bin_sql(perf.duration_ms)
    rows = {}
    for index, op, bin_at, n, total, low, high, over, bad in db.session.execute(
            select(minute, perf.operation, bin_index, func.count(), func.sum(perf.duration_ms),
                   func.min(perf.duration_ms), func.max(perf.duration_ms), _count(perf.exceeded.is_(True)),
                   _count(perf.success.is_(False)))
            .where(perf.timestamp >= start, perf.timestamp < end).group_by(minute, perf.operation, bin_index)):
        row = rows.get((index, op))
        if row is None:  # every bin is written, so a minute rolled again loses bins it no longer has
            row = rows[(index, op)] = {"bucket_start": start + timedelta(seconds=MINUTE * int(index)),
                                       "bucket_seconds": MINUTE, "operation": op, "count": 0, "sum_ms": 0.0,
                                       "min_ms": low, "max_ms": high, "exceeded": 0, "failures": 0,
                                       **dict.fromkeys(BINS)}
        row["count"] += n
        row["sum_ms"] += total
        row["min_ms"], row["max_ms"] = min(row["min_ms"], low), max(row["max_ms"], high)
        row["exceeded"] += int(over)
        row["failures"] += int(bad)
        row[BINS[int(bin_at)]] = n
    return list(rows.values())


def _stage_hours(start, end):
    r = CardPaymentStageRollup
    hour = bucket_sql(r.bucket_start, start, HOUR)
    names = ["count", "sum_ms", "min_ms", "max_ms", "exceeded", "failures", *BINS]
    sums = [func.sum(r.count), func.sum(r.sum_ms), func.min(r.min_ms), func.max(r.max_ms), func.sum(r.exceeded),
            func.sum(r.failures), *[func.sum(getattr(r, name)) for name in BINS]]
    return [{"bucket_start": start + timedelta(seconds=HOUR * int(index)), "bucket_seconds": HOUR,
             "operation": op, **dict(zip(names, values))}
            for index, op, *values in db.session.execute(
                select(hour, r.operation, *sums)
                .where(r.bucket_seconds == MINUTE, r.bucket_start >= start, r.bucket_start < end)
                .group_by(hour, r.operation))]


def _metric_minutes(start, end):
    m = CardPaymentMetric
    minute = bucket_sql(m.timestamp, start, MINUTE)
    return [{"bucket_start": start + timedelta(seconds=MINUTE * int(index)), "bucket_seconds": MINUTE,
             "metric_name": name, "count": n, "value_sum": total}
            for index, name, n, total in db.session.execute(
                select(minute, m.metric_name, func.count(), func.sum(m.value))
                .where(m.timestamp >= start, m.timestamp < end).group_by(minute, m.metric_name))]


def _metric_hours(start, end):
    r = CardPaymentMetricRollup
    hour = bucket_sql(r.bucket_start, start, HOUR)
    return [{"bucket_start": start + timedelta(seconds=HOUR * int(index)), "bucket_seconds": HOUR,
             "metric_name": name, "count": n, "value_sum": total}
            for index, name, n, total in db.session.execute(
                select(hour, r.metric_name, func.sum(r.count), func.sum(r.value_sum))
                .where(r.bucket_seconds == MINUTE, r.bucket_start >= start, r.bucket_start < end)
                .group_by(hour, r.metric_name))]


# model, its key column, minute rows from raw rows, hour rows from minute rows, retention setting
KINDS = {
    "stage": (CardPaymentStageRollup, "operation", _stage_minutes, _stage_hours, "PERFORMANCE_RETENTION_DAYS"),
    "metric": (CardPaymentMetricRollup, "metric_name", _metric_minutes, _metric_hours, "METRICS_RETENTION_DAYS"),
}


@functools.lru_cache(maxsize=None)
def _upsert_statement(model, key, dialect_name):
    """Build the upsert of one rollup table once: SQLAlchemy does not cache ON CONFLICT statements."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(model.__table__)  # Core executemany: one statement for all the rows
    figures = [c.name for c in model.__table__.columns if c.name not in ("id", "bucket_seconds", "bucket_start", key)]
    return statement.on_conflict_do_update(index_elements=["bucket_seconds", "bucket_start", key],
                                           set_={name: statement.excluded[name] for name in figures})


def _upsert(model, key, rows):
    """Insert rows, or overwrite the figures of the rows already there for the same bucket and key."""
    if rows:
        db.session.execute(_upsert_statement(model, key, db.engine.dialect.name), rows)
    return len(rows)


def _roll(kind, now):
    model, key, minutes_from_raw, hours_from_minutes, _ = KINDS[kind]
    end = floor_to(now, MINUTE)  # completed minutes only
    horizon = floor_to(now - HORIZON, HOUR)
    hour_mark, minute_mark = watermark(model, HOUR), watermark(model, MINUTE)
    # Roll again the last few minutes, but never the minutes of an hour already rolled up.
    start = max(horizon, hour_mark or horizon, min(minute_mark or horizon, end - timedelta(minutes=REROLL_MINUTES)))
    minutes = 0
    while start < end:
        stop = min(end, start + CHUNK)
        minutes += _upsert(model, key, minutes_from_raw(start, stop))
        db.session.commit()
        start = stop
    # An hour is final once none of its minutes can be rolled again.
    hour_start, hour_end = max(horizon, hour_mark or horizon), floor_to(end - timedelta(minutes=REROLL_MINUTES), HOUR)
    hours = _upsert(model, key, hours_from_minutes(hour_start, hour_end)) if hour_start < hour_end else 0
    db.session.commit()
    return {f"{kind}_minutes": minutes, f"{kind}_hours": hours}


def prune(config, now=None):
    """Delete rollup rows past the retention window of their raw table; return how many went."""
    now = now or clock.now()
    pruned = 0
    for model, _key, _minutes, _hours, setting in KINDS.values():
        cutoff = now - timedelta(days=config[setting])
        pruned += db.session.execute(delete(model).where(model.bucket_start < cutoff)
                                     .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    return pruned


def roll_up(config, now=None):
    """Roll up every completed minute and final hour not yet rolled up, then prune; return the row counts."""
    now = now or clock.now()
    result = {}
    for kind in KINDS:
        result.update(_roll(kind, now))
    result["pruned"] = prune(config, now)
    return result

