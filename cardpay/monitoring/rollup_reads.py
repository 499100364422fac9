"""Stage timings and metric sums over a window: from the rollups where they are complete, raw rows elsewhere.

A window is cut at its start, its end and (for charts) every bucket boundary. Between two cuts, the
whole hours below the hour watermark come from hour rollups, the whole minutes below the minute
watermark from minute rollups, and the rest (the partial minutes at the cuts, and everything after
the minute watermark) from the raw rows, so a rollup bucket never straddles a cut and each row is
counted once. The rollup ranges are a small VALUES table of (chart bucket, level, from, to), each
range read by one index range scan that brings its chart bucket along; the raw rows of all ranges
are read by one statement. A chart's series of one table (rollups and raw rows) is one statement.
"""

from datetime import timedelta

from sqlalchemy import Integer, and_, bindparam, case, column, false, func, select, text, true, union_all

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import CardPaymentMetric, CardPaymentPerformance
from cardpay.models.monitoring import CardPaymentMetricRollup, CardPaymentStageRollup
from cardpay.monitoring import histograms
from cardpay.monitoring.rollups import BINS, HOUR, MINUTE, bucket_sql, watermarks

RAW = 0
_STAGE_ROLLUPS, _PERFORMANCE = CardPaymentStageRollup.__table__, CardPaymentPerformance.__table__
_METRIC_ROLLUPS, _METRICS = CardPaymentMetricRollup.__table__, CardPaymentMetric.__table__
# Built once: the summary sums every histogram column, and building 202 expressions a call shows up.
_BIN_SUMS = tuple(func.sum(_STAGE_ROLLUPS.c[name]) for name in BINS)


def _ceil_to(when, seconds):
    floored = clock.floor_to(when, seconds)
    return floored if floored == when else floored + timedelta(seconds=seconds)


def _split(a, b, levels, out):
    """Cover [a, b) with the coarsest whole buckets each level has rolled up, raw rows for the rest."""
    if a >= b:
        return
    if not levels:
        out[RAW].append((a, b))
        return
    (seconds, mark), finer = levels[0], levels[1:]
    low, high = _ceil_to(a, seconds), min(clock.floor_to(b, seconds), mark) if mark else None
    if high is None or low >= high:
        _split(a, b, finer, out)
        return
    _split(a, low, finer, out)
    out[seconds].append((low, high))
    _split(high, b, finer, out)


def plan(cuts, marks):
    """Return {bucket_seconds or RAW: [(from, to, index), ...]} covering [cuts[0], cuts[-1]) without straddling a cut.

    ``index`` is the interval between two cuts (the chart bucket) the range lies in."""
    levels = sorted(marks.items(), reverse=True)
    out = {seconds: [] for seconds in (*marks, RAW)}
    for index, (a, b) in enumerate(zip(cuts, cuts[1:])):
        found = {seconds: [] for seconds in out}
        _split(a, b, levels, found)
        for seconds, ranges in found.items():
            out[seconds].extend((low, high, index) for low, high in ranges)
    if not out[RAW] or out[RAW][-1][1] != cuts[-1]:
        out[RAW].append((cuts[-1], cuts[-1], len(cuts) - 2))  # so the rows stamped after the end are still read
    for seconds, ranges in out.items():  # join neighbours in one bucket: fewer, longer index ranges
        joined = []
        for a, b, index in ranges:
            if joined and joined[-1][1] == a and joined[-1][2] == index:
                joined[-1] = (joined[-1][0], b, index)
            else:
                joined.append((a, b, index))
        out[seconds] = joined
    return out


def _within(column, ranges, open_end=False):
    """SQL for ``column`` in any of the [from, to) ranges; with open_end the last one has no upper bound.

    Written as text with typed bound parameters: a week's chart needs about a hundred ranges, and
    building them as SQLAlchemy expressions took longer than the statements took to run."""
    merged = []  # neighbours in two buckets are one range here: the bucket is computed per row
    for low, high, _index in ranges:
        if merged and merged[-1][1] == low:
            merged[-1][1] = high
        else:
            merged.append([low, high])
    name = db.engine.dialect.identifier_preparer.format_column(column, use_table=True)
    parts, params = [], []
    for i, (low, high) in enumerate(merged):
        params.append(bindparam(f"raw{i}a", low, type_=column.type))
        if open_end and i == len(merged) - 1:
            parts.append(f"{name} >= :raw{i}a")
        else:
            params.append(bindparam(f"raw{i}b", high, type_=column.type))
            parts.append(f"({name} >= :raw{i}a AND {name} < :raw{i}b)")
    return text("(" + " OR ".join(parts) + ")").bindparams(*params) if parts else false()


def _raw(table, stamp, start, size, ranges, group, aggregates, where=()):
    """SELECT bucket index, *group, *aggregates of the raw rows of the ranges, grouped by both.

    The last range, reaching the window's end, also takes the rows stamped after it (their bucket
    index is past the last one; the series folds them into it)."""
    index = bucket_sql(stamp, start, size)
    return (select(index, *group, *aggregates).select_from(table)
            .where(_within(stamp, ranges[RAW], open_end=True), *where).group_by(index, *group))


def _ranges(rows, stamp_type):
    """The (bucket index, level, from, to) rows as a derived table: VALUES with typed bound parameters."""
    parts, params = [], []
    for i, (index, level, low, high) in enumerate(rows):
        parts.append(f"({int(index)}, {int(level)}, :range{i}a, :range{i}b)")
        params += [bindparam(f"range{i}a", low, type_=stamp_type), bindparam(f"range{i}b", high, type_=stamp_type)]
    # A VALUES table names its columns column1, column2, ... on PostgreSQL and SQLite alike.
    return text("VALUES " + ", ".join(parts)).bindparams(*params).columns(
        column("column1", Integer), column("column2", Integer), column("column3", stamp_type),
        column("column4", stamp_type)).subquery("ranges")


def _rolled(table, ranges, group, aggregates, where=()):
    """SELECT bucket index, *group, *aggregates of the hour and minute rollups of the ranges, grouped per range.

    None when no level has a range. Each range is one index range scan of (bucket_seconds, bucket_start)."""
    rows = [(index, seconds, low, high) for seconds in (HOUR, MINUTE) for low, high, index in ranges[seconds]]
    if not rows:
        return None
    v = _ranges(rows, table.c.bucket_start.type)
    index, level, low, high = v.c
    inside = (table.c.bucket_seconds == level, table.c.bucket_start >= low, table.c.bucket_start < high)
    if db.engine.dialect.name == "postgresql":
        # Grouped inside a LATERAL subquery, PostgreSQL can only loop over the ranges. As a plain join
        # over rollups just filled in (no statistics yet) it hashed on bucket_seconds alone and tested
        # every minute row of the week against every range: 0.2-0.3 s.
        per_range = select(*group, *aggregates).where(*inside, *where).group_by(*group).lateral("per_range")
        return select(index, *per_range.c).select_from(v.join(per_range, true()))
    return select(index, *group, *aggregates).select_from(table.join(v, and_(*inside))).where(*where).group_by(
        index, *group)


def _both(rolled, raw):
    """Run the rollups' part (if any) and the raw rows' part as one statement; return its rows."""
    return db.session.execute(raw if rolled is None else union_all(rolled, raw))


def _count(column):
    return func.sum(case((column, 1), else_=0))


class Window:
    """One summary's window [start, now], cut into chart buckets of ``size`` seconds counted from ``start``.

    Each rollup table's watermarks are read once per window, and the metric sums once per bucket: the
    window's totals are their sum. A chart series is one statement per table (its rollups' part and
    its raw rows' part in a UNION ALL). Conditions are built on the tables' columns (cheaper than the ORM's).
    """

    def __init__(self, start, now, size):
        self.start, self.now, self.size = start, now, size
        self.count = -(-int((now - start).total_seconds()) // size)
        self.cuts = [start + timedelta(seconds=i * size) for i in range(self.count)] + [now]
        self._marks, self._metrics = {}, {}

    def _plan(self, model, cuts):
        if model not in self._marks:
            self._marks[model] = watermarks(model)
        return plan(cuts, self._marks[model])

    def stage_totals(self):
        """Per stage: count, sum_ms, min_ms, max_ms, exceeded, failures and bins {index: count}."""
        ranges = self._plan(CardPaymentStageRollup, [self.start, self.now])
        r, p = _STAGE_ROLLUPS.c, _PERFORMANCE.c
        totals = {}

        def add(op, n, total, low, high, over, bad, bins):
            entry = totals.setdefault(op, {"count": 0, "sum_ms": 0.0, "min_ms": low, "max_ms": high, "exceeded": 0,
                                           "failures": 0, "bins": {}})
            entry["count"] += int(n)
            entry["sum_ms"] += total
            entry["min_ms"], entry["max_ms"] = min(entry["min_ms"], low), max(entry["max_ms"], high)
            entry["exceeded"] += int(over)
            entry["failures"] += int(bad)
            for index, count in bins:
                entry["bins"][index] = entry["bins"].get(index, 0) + int(count)

        rolled = _rolled(_STAGE_ROLLUPS, ranges, (r.operation,), (
            func.sum(r.count), func.sum(r.sum_ms), func.min(r.min_ms), func.max(r.max_ms), func.sum(r.exceeded),
            func.sum(r.failures), *_BIN_SUMS))
        if rolled is not None:
            for _, op, n, total, low, high, over, bad, *bins in db.session.execute(rolled):
                add(op, n, total, low, high, over, bad, [(i, c) for i, c in enumerate(bins) if c])
        bin_index = histograms.bin_sql(p.duration_ms)
        raw = _raw(_PERFORMANCE, p.timestamp, self.start, self.size, ranges, (p.operation, bin_index), (
            func.count(), func.sum(p.duration_ms), func.min(p.duration_ms), func.max(p.duration_ms),
            _count(p.exceeded.is_(True)), _count(p.success.is_(False))))
        for _, op, index, n, total, low, high, over, bad in db.session.execute(raw):
            add(op, n, total, low, high, over, bad, [(int(index), n)])
        return totals

    def stage_series(self):
        """Per stage and chart bucket index: [count, sum_ms]."""
        ranges = self._plan(CardPaymentStageRollup, self.cuts)
        r, p = _STAGE_ROLLUPS.c, _PERFORMANCE.c
        rolled = _rolled(_STAGE_ROLLUPS, ranges, (r.operation,), (func.sum(r.count), func.sum(r.sum_ms)))
        raw = _raw(_PERFORMANCE, p.timestamp, self.start, self.size, ranges, (p.operation,),
                   (func.count(), func.sum(p.duration_ms)))
        out = {}
        for index, op, n, total in _both(rolled, raw):
            cell = out.setdefault(op, {}).setdefault(int(index), [0, 0.0])
            cell[0] += int(n)
            cell[1] += total
        return out

    def metric_series(self, names):
        """Sum of the values of each metric name per chart bucket index."""
        names = tuple(names)
        if names not in self._metrics:
            ranges = self._plan(CardPaymentMetricRollup, self.cuts)
            r, m = _METRIC_ROLLUPS.c, _METRICS.c
            rolled = _rolled(_METRIC_ROLLUPS, ranges, (r.metric_name,), (func.sum(r.value_sum),),
                             (r.metric_name.in_(names),))
            raw = _raw(_METRICS, m.timestamp, self.start, self.size, ranges, (m.metric_name,), (func.sum(m.value),),
                       (m.metric_name.in_(names),))
            out = {name: {} for name in names}
            for index, name, value in _both(rolled, raw):
                out[name][int(index)] = out[name].get(int(index), 0) + (value or 0)
            self._metrics[names] = out
        return self._metrics[names]

    def metric_totals(self, names):
        """Sum of the values of each metric name over the whole window."""
        return {name: sum(sums.values()) for name, sums in self.metric_series(names).items()}
