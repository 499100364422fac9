"""Time series for the dashboard charts: payments, stage times and error rate per bucket, grouped in SQL.

Buckets are counted from the window's start (5 minutes over 1h, an hour over 24h, 6 hours over 7d),
so a chart always has the same number of points and empty buckets read as zero. Stage times and
request counts come from the rollups plus the raw rows not yet rolled up (services/rollup_reads);
payments per bucket from the summary's one statement over the window's payments (criteria.payments).
"""

from datetime import timedelta

from cardpay.core import clock
from cardpay.models.monitoring import STAGES
from cardpay.monitoring import error_rate as error_rates

BUCKET_SECONDS = {"1h": 300, "24h": 3600, "7d": 6 * 3600}


def _clamped(values, count):
    """Fold a row stamped exactly "now" (index == count) into the last bucket."""
    folded = {}
    for index, value in values.items():
        key = min(int(index), count - 1)
        folded[key] = folded.get(key, 0) + value
    return folded


def _clamped_cells(cells, count):
    """Fold [count, sum] cells of a row stamped at or after "now" into the last bucket."""
    folded = {}
    for index, (n, total) in cells.items():
        cell = folded.setdefault(min(int(index), count - 1), [0, 0.0])
        cell[0] += n
        cell[1] += total
    return folded


def series(reads, payments):
    """Return bucket start times and, per bucket, payments by outcome, error rate and average stage times.

    ``payments`` is {attempted, succeeded, failed: {bucket index: count}}, counted with the summary's figures."""
    start, size, count = reads.start, reads.size, reads.count
    times = [clock.iso(start + timedelta(seconds=i * size)) for i in range(count)]

    def filled(values, digits=None):
        return [round(values[i], digits) if digits is not None and values.get(i) is not None
                else values.get(i, 0 if digits is None else None) for i in range(count)]

    attempted, succeeded, failed = (_clamped(payments[name], count) for name in ("attempted", "succeeded", "failed"))
    averages = {op: {} for op in STAGES}
    for op, cells in reads.stage_series().items():
        for index, (n, total) in _clamped_cells(cells, count).items():
            averages.setdefault(op, {})[index] = total / n
    requests = {name: _clamped(sums, count)
                for name, sums in reads.metric_series((error_rates.TOTAL, error_rates.ERRORS)).items()}
    error_pct = {i: 100.0 * requests[error_rates.ERRORS].get(i, 0) / n
                 for i, n in requests[error_rates.TOTAL].items() if n}
    return {
        "bucket_seconds": size, "times": times, "error_rate_pct": filled(error_pct, 2),
        "payments": {"attempted": filled(attempted), "succeeded": filled(succeeded), "failed": filled(failed)},
        "stage_avg_ms": {op: filled(averages[op], 1) for op in STAGES},
    }
