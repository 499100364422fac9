"""Stage-time histograms: the bins of card_payment_stage_rollups, and percentiles read back from them.

Bins are log-spaced, ten per doubling from 1 ms to 2^20 ms (about 17.5 minutes): bin 0 holds
[0, 1) ms, bin k holds [2^((k-1)/10), 2^(k/10)) ms, the last bin everything longer. A percentile
is found by nearest rank, like an exact one, and reported as the geometric middle of its bin
(narrowed to the smallest and largest duration actually seen). So between 1 ms and 17.5 minutes
it is within RELATIVE_ERROR (3.53%) of the exact nearest-rank value; under 1 ms within 0.5 ms;
above 17.5 minutes it lies between 17.5 minutes and the maximum.
"""

import math

from sqlalchemy import Integer, case, cast, func

from cardpay.models.monitoring import HISTOGRAM_BINS, HISTOGRAM_DOUBLINGS, HISTOGRAM_STEPS_PER_DOUBLING

STEP = 2.0 ** (1.0 / HISTOGRAM_STEPS_PER_DOUBLING)  # the ratio of a bin's upper to its lower bound
TOP_MS = 2.0 ** HISTOGRAM_DOUBLINGS
LAST = HISTOGRAM_BINS - 1
RELATIVE_ERROR = math.sqrt(STEP) - 1  # 3.53%: the geometric middle is this close to anything in its bin
SUB_MS_ERROR = 0.5


def bounds(index):
    """Return the [lower, upper) bounds in ms of a bin (upper is None for the last one)."""
    if index == 0:
        return 0.0, 1.0
    if index == LAST:
        return TOP_MS, None
    return STEP ** (index - 1), STEP ** index


def bin_sql(column):
    """SQL for the bin of a duration column (ln and floor exist on PostgreSQL and on SQLite 3.35+)."""
    scale = HISTOGRAM_STEPS_PER_DOUBLING / math.log(2.0)
    return case((column < 1, 0), (column >= TOP_MS, LAST),
                else_=cast(func.floor(func.ln(column) * scale), Integer) + 1)


def percentile(counts, p, min_ms, max_ms):
    """Return the nearest-rank p-th percentile of the durations counted in ``counts`` (bin -> count)."""
    total = sum(counts.values())
    if not total:
        return None
    rank = (p * total + 99) // 100  # ceil(p * n / 100), as the exact computation ranked rows
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            low, high = bounds(index)
            low, high = max(low, min_ms), min(high if high is not None else max_ms, max_ms)
            # Below 1 ms the arithmetic middle (absolute error); elsewhere the geometric one (relative).
            return (low + high) / 2.0 if index == 0 else math.sqrt(low * high)
    return max_ms
