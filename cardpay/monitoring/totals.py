"""Running totals per series: what /metrics reports, kept as rows are written, never lowered by retention.

Every metric row (card_payment_metrics) and stage timing (card_payment_performance) that is written
also adds to card_payment_metric_totals, in the same transaction: one upserted row per series (a
metric name and its label set), so a scrape reads a few dozen rows instead of summing millions, and
a Prometheus counter never goes down when retention deletes old rows. Stage timings become the
series of the stage histogram: stage_count, stage_sum_ms, stage_exceeded and cumulative stage_bucket
counts per ``le``. The per-process figures (receiver failures, dropped rows) are added as deltas at
each flush and scrape, so they sum over workers and do not multiply with worker restarts.
"""

import functools
import json
import os

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from cardpay.core.extensions import db
from cardpay.models import CardPaymentMetric, CardPaymentMetricTotal, CardPaymentPerformance

STAGE_BUCKETS_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60)
_reported = {"pid": None, "values": {}}  # per-process figures already added, so each adds only its change


def _key(name, labels):
    return name, json.dumps(labels or {}, sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def _cached_key(name, items):
    return _key(name, dict(items))


def _series(name, labels):
    """Return the series key of a metric name and label set; label sets repeat, so their JSON is cached."""
    try:
        return _cached_key(name, tuple(sorted((labels or {}).items())))
    except TypeError:  # a label value that cannot be hashed: build the key afresh
        return _key(name, labels)


@functools.lru_cache(maxsize=256)
def _stage_series(operation):
    """Return the series keys of one stage: count, sum, exceeded, and (bound in ms, key) per bucket."""
    from prometheus_client.utils import floatToGoString  # loaded at the first flush, not at every worker start

    labels = {"operation": operation}
    return (_key("stage_count", labels), _key("stage_sum_ms", labels), _key("stage_exceeded", labels),
            tuple((bound * 1000, _key("stage_bucket", {**labels, "le": floatToGoString(bound)}))
                  for bound in STAGE_BUCKETS_SECONDS))


def increments(table, rows):
    """Return {(metric name, labels key): [sum, count]} that ``rows`` of ``table`` add to the totals."""
    found = {}

    def add(key, value):
        cell = found.setdefault(key, [0.0, 0])
        cell[0] += value
        cell[1] += 1

    if table is CardPaymentMetric.__table__:
        for row in rows:
            add(_series(row["metric_name"], row.get("labels")), float(row.get("value", 1.0)))
    elif table is CardPaymentPerformance.__table__:
        for row in rows:
            count, total, exceeded, buckets = _stage_series(row["operation"])
            duration = float(row["duration_ms"])
            add(count, 1.0)
            add(total, duration)
            add(exceeded, 1.0 if row.get("exceeded") else 0.0)
            for bound_ms, bucket in buckets:
                if duration <= bound_ms:
                    add(bucket, 1.0)
    return found


@functools.cache
def _upsert(dialect_name):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = CardPaymentMetricTotal.__table__
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=["metric_name", "labels_key"],
        set_={"value_sum": table.c.value_sum + statement.excluded.value_sum,
              "count": table.c.count + statement.excluded.count})


def add(executor, table, rows):
    """Add what ``rows`` of ``table`` count to the totals, through ``executor`` (a session or a connection)."""
    found = increments(table, rows)
    if found:
        _apply(executor, found)


def _apply(executor, found):
    # Sorted, so that two workers upserting the same series lock them in one order (no deadlock).
    executor.execute(_upsert(executor.get_bind().dialect.name if hasattr(executor, "get_bind")
                             else executor.dialect.name),
                     [{"metric_name": name, "labels_key": key, "labels": json.loads(key), "value_sum": total,
                       "count": count} for (name, key), (total, count) in sorted(found.items())])


def add_process_figures(executor, figures):
    """Add the change of this process's own figures ({name: running value}) since they were last added."""
    if _reported["pid"] != os.getpid():  # a forked worker starts its own account
        _reported["pid"], _reported["values"] = os.getpid(), {}
    found = {}
    for name, value in figures.items():
        delta = value - _reported["values"].get(name, 0)
        if delta > 0:
            found[_key(name, {})] = [float(delta), int(delta)]
    if found:
        _apply(executor, found)
        _reported["values"].update(figures)


def read():
    """Return {metric name: [(labels, total)]} of every series."""
    sums = {}
    for name, labels, total in db.session.execute(select(
            CardPaymentMetricTotal.metric_name, CardPaymentMetricTotal.labels, CardPaymentMetricTotal.value_sum)):
        sums.setdefault(name, []).append((labels or {}, float(total or 0)))
    return sums
