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

from datetime import timedelta

from sqlalchemy import Integer, case, cast, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import CardPaymentMetric, CardPaymentPerformance
from cardpay.models.monitoring import HISTOGRAM_BINS, CardPaymentMetricRollup, CardPaymentStageRollup, histogram_column
from cardpay.monitoring import histograms

MINUTE, HOUR = 60, 3600
REROLL_MINUTES = 5
# The first run rolls up this far back: the longest dashboard window (7d) with a day to spare.
HORIZON = timedelta(days=8)
CHUNK = timedelta(days=1)  # one transaction per day of raw rows while catching up
BINS = [histogram_column(index) for index in range(HISTOGRAM_BINS)]


def bucket_sql(column, start, size):
    """SQL for the bucket index of a timestamp: floor((t - start) / size), on SQLite and PostgreSQL."""
    offset = int(start.timestamp())
    if db.engine.dialect.name == "postgresql":
        # date_part is double precision: several times cheaper per row than EXTRACT's numeric.
        return cast(func.floor((func.date_part("epoch", column) - literal(offset)) / literal(size)), Integer)
    # SQLite: whole epoch seconds, and integer division floors the non-negative offsets.
    return (cast(func.strftime("%s", column), Integer) - literal(offset)) // literal(size)


def watermarks(model):
    """Return {bucket_seconds: end of the newest bucket} of a rollup table (None where it has none), hours first."""
    table = model.__table__
    newest = [select(func.max(table.c.bucket_start)).where(table.c.bucket_seconds == seconds).scalar_subquery()
              for seconds in (HOUR, MINUTE)]
    found = db.session.execute(select(*newest)).one()
    return {seconds: None if at is None else clock.as_utc(at) + timedelta(seconds=seconds)
            for seconds, at in zip((HOUR, MINUTE), found)}


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def truncate_sql(column, seconds):
    """SQL for a timestamp rounded down to its minute or hour, stored as the column type stores it."""
    if db.engine.dialect.name == "postgresql":
        return func.date_trunc("minute" if seconds == MINUTE else "hour", column)
    # SQLite keeps SQLAlchemy's text form, so bounds compare as strings: keep its six fraction digits.
    return func.strftime("%Y-%m-%d %H:%M:00.000000" if seconds == MINUTE else "%Y-%m-%d %H:00:00.000000", column)


def _stage_minutes(start, end):
    """Per minute and stage from raw rows: bins counted first (one expression a row), then spread into columns."""
    perf = CardPaymentPerformance
    per_bin = select(truncate_sql(perf.timestamp, MINUTE).label("at"), perf.operation.label("key"),
                     histograms.bin_sql(perf.duration_ms).label("bin"), func.count().label("n"),
                     func.sum(perf.duration_ms).label("total"), func.min(perf.duration_ms).label("low"),
                     func.max(perf.duration_ms).label("high"), _count(perf.exceeded.is_(True)).label("over"),
                     _count(perf.success.is_(False)).label("bad")
                     ).where(perf.timestamp >= start, perf.timestamp < end).group_by("at", "key", "bin").subquery()
    c = per_bin.c
    bins = [func.sum(c.n).filter(c.bin == index) for index in range(len(BINS))]
    return select(c.at, literal(MINUTE), c.key, func.sum(c.n), func.sum(c.total), func.min(c.low), func.max(c.high),
                  func.sum(c.over), func.sum(c.bad), *bins
                  ).where(c.n > 0).group_by(c.at, c.key)  # a WHERE: SQLite must not read ON CONFLICT as a join


def _stage_hours(start, end):
    """Per hour and stage, summed from its minutes."""
    r = CardPaymentStageRollup
    hour = truncate_sql(r.bucket_start, HOUR)
    return select(hour, literal(HOUR), r.operation, func.sum(r.count), func.sum(r.sum_ms), func.min(r.min_ms),
                  func.max(r.max_ms), func.sum(r.exceeded), func.sum(r.failures),
                  *[func.sum(getattr(r, name)) for name in BINS]
                  ).where(r.bucket_seconds == MINUTE, r.bucket_start >= start, r.bucket_start < end
                          ).group_by(hour, r.operation)


def _metric_minutes(start, end):
    """Per minute and metric name from raw rows."""
    m = CardPaymentMetric
    minute = truncate_sql(m.timestamp, MINUTE)
    return select(minute, literal(MINUTE), m.metric_name, func.count(), func.sum(m.value)
                  ).where(m.timestamp >= start, m.timestamp < end).group_by(minute, m.metric_name)


def _metric_hours(start, end):
    """Per hour and metric name, summed from its minutes."""
    r = CardPaymentMetricRollup
    hour = truncate_sql(r.bucket_start, HOUR)
    return select(hour, literal(HOUR), r.metric_name, func.sum(r.count), func.sum(r.value_sum)
                  ).where(r.bucket_seconds == MINUTE, r.bucket_start >= start, r.bucket_start < end
                          ).group_by(hour, r.metric_name)


# model, its key column, minute rows from raw rows, hour rows from minute rows, retention setting
KINDS = {
    "stage": (CardPaymentStageRollup, "operation", _stage_minutes, _stage_hours, "PERFORMANCE_RETENTION_DAYS"),
    "metric": (CardPaymentMetricRollup, "metric_name", _metric_minutes, _metric_hours, "METRICS_RETENTION_DAYS"),
}


def _upsert(model, key, rows):
    """INSERT ... SELECT the rows, overwriting the figures of rows already there for the same bucket and key."""
    names = [c.name for c in model.__table__.columns if c.name != "id"]  # the order the SELECTs list them in
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model.__table__).from_select(names, rows)
    statement = statement.on_conflict_do_update(
        index_elements=["bucket_seconds", "bucket_start", key],
        set_={name: statement.excluded[name] for name in names if name not in ("bucket_seconds", "bucket_start", key)})
    return db.session.execute(statement, execution_options={"preserve_rowcount": True}).rowcount


def _roll(kind, now):
    model, key, minutes_from_raw, hours_from_minutes, _ = KINDS[kind]
    end = clock.floor_to(now, MINUTE)  # completed minutes only
    horizon = clock.floor_to(now - HORIZON, HOUR)
    marks = watermarks(model)
    hour_mark, minute_mark = marks[HOUR], marks[MINUTE]
    # Roll again the last few minutes, but never the minutes of an hour already rolled up.
    start = max(horizon, hour_mark or horizon, min(minute_mark or horizon, end - timedelta(minutes=REROLL_MINUTES)))
    minutes = 0
    while start < end:
        stop = min(end, start + CHUNK)
        minutes += _upsert(model, key, minutes_from_raw(start, stop))
        db.session.commit()
        start = stop
    # An hour is final once none of its minutes can be rolled again.
    hour_start, hour_end = max(horizon, hour_mark or horizon), clock.floor_to(end - timedelta(minutes=REROLL_MINUTES), HOUR)
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

