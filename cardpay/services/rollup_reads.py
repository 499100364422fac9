"""Stage timings and metric sums over a window: from the rollups where they are complete, raw rows elsewhere.

A window is cut at its start, its end and (for charts) every bucket boundary. Between two cuts, the
whole hours below the hour watermark come from hour rollups, the whole minutes below the minute
watermark from minute rollups, and the rest (the partial minutes at the cuts, and everything after
the minute watermark) from the raw rows, so a rollup bucket never straddles a cut and each row is
counted once. Each level is one SQL statement whatever the number of ranges.
"""

from datetime import timedelta

from sqlalchemy import and_, bindparam, case, false, func, or_, select, text

from cardpay.extensions import db
from cardpay.models import CardPaymentMetric, CardPaymentPerformance
from cardpay.models.monitoring import CardPaymentMetricRollup, CardPaymentStageRollup
from cardpay.services import histograms
from cardpay.services.rollups import BINS, HOUR, MINUTE, bucket_sql, floor_to, watermarks

RAW = 0
# Built once: the summary sums every histogram column, and building 202 expressions a call shows up.
_BIN_SUMS = tuple(func.sum(CardPaymentStageRollup.__table__.c[name]) for name in BINS)


def _ceil_to(when, seconds):
    floored = floor_to(when, seconds)
    return floored if floored == when else floored + timedelta(seconds=seconds)


def _split(a, b, levels, out):
    """Cover [a, b) with the coarsest whole buckets each level has rolled up, raw rows for the rest."""
    if a >= b:
        return
    if not levels:
        out[RAW].append((a, b))
        return
    (seconds, mark), finer = levels[0], levels[1:]
    low, high = _ceil_to(a, seconds), min(floor_to(b, seconds), mark) if mark else None
    if high is None or low >= high:
        _split(a, b, finer, out)
        return
    _split(a, low, finer, out)
    out[seconds].append((low, high))
    _split(high, b, finer, out)


def plan(cuts, marks):
    """Return {bucket_seconds or RAW: [(from, to), ...]} covering [cuts[0], cuts[-1]) without straddling a cut."""
    levels = sorted(marks.items(), reverse=True)
    out = {seconds: [] for seconds in (*marks, RAW)}
    for a, b in zip(cuts, cuts[1:]):
        _split(a, b, levels, out)
    if not out[RAW] or out[RAW][-1][1] != cuts[-1]:
        out[RAW].append((cuts[-1], cuts[-1]))  # so the rows stamped after the end are still read
    for seconds, ranges in out.items():  # join neighbours: fewer, longer index ranges
        joined = []
        for a, b in ranges:
            if joined and joined[-1][1] == a:
                joined[-1] = (joined[-1][0], b)
            else:
                joined.append((a, b))
        out[seconds] = joined
    return out


def _within(column, ranges, prefix, open_end=False):
    """SQL for ``column`` in any of the [from, to) ranges; with open_end the last one has no upper bound.

    Written as text with typed bound parameters: a week's chart needs about a hundred ranges, and
    building them as SQLAlchemy expressions took longer than the statements took to run."""
    name = db.engine.dialect.identifier_preparer.format_column(column, use_table=True)
    parts, params = [], []
    for i, (low, high) in enumerate(ranges):
        params.append(bindparam(f"{prefix}{i}a", low, type_=column.type))
        if open_end and i == len(ranges) - 1:
            parts.append(f"{name} >= :{prefix}{i}a")
        else:
            params.append(bindparam(f"{prefix}{i}b", high, type_=column.type))
            parts.append(f"({name} >= :{prefix}{i}a AND {name} < :{prefix}{i}b)")
    return text("(" + " OR ".join(parts) + ")").bindparams(*params) if parts else false()


def _rolled(table, ranges):
    levels = [and_(table.c.bucket_seconds == seconds, _within(table.c.bucket_start, ranges[seconds], f"s{seconds}_"))
              for seconds in (HOUR, MINUTE) if ranges.get(seconds)]
    return or_(*levels) if levels else false()


def _raw(column, ranges):
    """Raw rows of the ranges; the last one, reaching the window's end, also takes rows stamped after it."""
    return _within(column, ranges[RAW], "raw_", open_end=True)


def _count(column):
    return func.sum(case((column, 1), else_=0))


class Window:
    """One summary's window [start, now], cut into chart buckets of ``size`` seconds counted from ``start``.

    Each rollup table's watermarks are read once per window, and the metric sums once per bucket: the
    window's totals are their sum. Conditions are built on the tables' columns (cheaper than the ORM's).
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
        r, perf = CardPaymentStageRollup.__table__.c, CardPaymentPerformance.__table__.c
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

        if ranges[HOUR] or ranges[MINUTE]:
            for op, n, total, low, high, over, bad, *bins in db.session.execute(
                    select(r.operation, func.sum(r.count), func.sum(r.sum_ms), func.min(r.min_ms), func.max(r.max_ms),
                           func.sum(r.exceeded), func.sum(r.failures), *_BIN_SUMS)
                    .where(_rolled(CardPaymentStageRollup.__table__, ranges)).group_by(r.operation)):
                add(op, n, total, low, high, over, bad, [(i, c) for i, c in enumerate(bins) if c])
        bin_index = histograms.bin_sql(perf.duration_ms)
        for op, index, n, total, low, high, over, bad in db.session.execute(
                select(perf.operation, bin_index, func.count(), func.sum(perf.duration_ms), func.min(perf.duration_ms),
                       func.max(perf.duration_ms), _count(perf.exceeded.is_(True)), _count(perf.success.is_(False)))
                .where(_raw(perf.timestamp, ranges)).group_by(perf.operation, bin_index)):
            add(op, n, total, low, high, over, bad, [(int(index), n)])
        return totals

    def stage_series(self):
        """Per stage and chart bucket index: [count, sum_ms]."""
        ranges = self._plan(CardPaymentStageRollup, self.cuts)
        r, perf = CardPaymentStageRollup.__table__.c, CardPaymentPerformance.__table__.c
        rolled = bucket_sql(r.bucket_start, self.start, self.size)
        raw = bucket_sql(perf.timestamp, self.start, self.size)
        out = {}
        for statement in (
                select(r.operation, rolled, func.sum(r.count), func.sum(r.sum_ms))
                .where(_rolled(CardPaymentStageRollup.__table__, ranges)).group_by(r.operation, rolled),
                select(perf.operation, raw, func.count(), func.sum(perf.duration_ms))
                .where(_raw(perf.timestamp, ranges)).group_by(perf.operation, raw)):
            for op, index, n, total in db.session.execute(statement):
                cell = out.setdefault(op, {}).setdefault(int(index), [0, 0.0])
                cell[0] += int(n)
                cell[1] += total
        return out

    def metric_series(self, names):
        """Sum of the values of each metric name per chart bucket index."""
        names = tuple(names)
        if names not in self._metrics:
            ranges = self._plan(CardPaymentMetricRollup, self.cuts)
            r, m = CardPaymentMetricRollup.__table__.c, CardPaymentMetric.__table__.c
            out = {name: {} for name in names}
            for name, stamp, total, condition in (
                    (r.metric_name, r.bucket_start, func.sum(r.value_sum),
                     _rolled(CardPaymentMetricRollup.__table__, ranges)),
                    (m.metric_name, m.timestamp, func.sum(m.value), _raw(m.timestamp, ranges))):
                index = bucket_sql(stamp, self.start, self.size)
                for metric, at, value in db.session.execute(
                        select(name, index, total).where(name.in_(names), condition).group_by(name, index)):
                    out[metric][int(at)] = out[metric].get(int(at), 0) + (value or 0)
            self._metrics[names] = out
        return self._metrics[names]

    def metric_totals(self, names):
        """Sum of the values of each metric name over the whole window."""
        return {name: sum(sums.values()) for name, sums in self.metric_series(names).items()}
