"""Monitoring rows written in batches off the request path: one insert per table per flush, not per request.

card_payment_metrics and card_payment_performance rows are append-only counts and timings that
nobody reads back one by one. With MONITORING_FLUSH_MS above 0, cardpay.core.events hands them to this
process's buffer instead of the request's own commit, and a background thread writes whatever has
gathered every MONITORING_FLUSH_MS in one transaction — so a callback pays for one commit (its
payment's), not two, and a busy worker writes hundreds of monitoring rows per commit.

What this trades, on purpose: a row reaches the database up to MONITORING_FLUSH_MS late (the
dashboard and /metrics lag by that much), and the rows buffered in a worker that is killed with
SIGKILL are lost (a normal exit flushes them). Payments, approvals, webhook records and audit rows
never pass through here: they commit with the request. A flush that fails (the database is away)
keeps its rows for the next one, up to MAX_ROWS; beyond that the oldest are dropped and counted.

On PostgreSQL the rows go in by COPY: an executemany of a busy second's few thousand rows held the
worker's GIL for ~45 ms (a stall every request in flight waited out), COPY for a fraction of that.
"""

import atexit
import json
import logging
import threading
from collections import deque

from sqlalchemy import JSON, insert

from cardpay.core import clock, events, logs
from cardpay.core.extensions import db
from cardpay.core.worker_thread import WorkerThread
from cardpay.models.types import UTCDateTime
from cardpay.monitoring import totals

log = logging.getLogger(__name__)
MAX_ROWS = 50_000  # about a minute of full load; a longer database outage drops the oldest rows
stats = {"flushed": 0, "dropped": 0, "failed_flushes": 0}  # per process, exported on /metrics
_EXTENSION = "cardpay_monitoring_buffer"


class MonitoringBuffer:
    """The rows waiting in this process for one app, and the thread that writes them."""

    def __init__(self, app, interval_ms):
        self.app, self.interval = app, interval_ms / 1000.0
        self.rows = deque()  # (table, values) in arrival order
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = False
        self._worker = WorkerThread(self._run, "cardpay-monitoring-flush")

    def add(self, table, rows):
        """Queue rows of one table; never blocks on the database."""
        with self.lock:
            self.rows.extend((table, row) for row in rows)
            overflow = len(self.rows) - MAX_ROWS
            for _ in range(max(0, overflow)):
                self.rows.popleft()
        if overflow > 0:
            stats["dropped"] += overflow
        self._worker.ensure_running()

    def waiting(self, table):
        """Return the values of the rows of ``table`` still waiting to be written."""
        with self.lock:
            return [row for kind, row in self.rows if kind is table]

    def _run(self):
        while not self.stopping:
            self.wake.wait(self.interval)
            self.wake.clear()
            self.flush()

    def flush(self):
        """Write every buffered row now, one batch per table in one transaction; return how many."""
        with self.lock:
            taken = list(self.rows)
            self.rows.clear()
        if not taken:
            return 0
        by_table = {}
        for table, row in taken:
            by_table.setdefault(table, []).append(row)
        try:
            with self.app.app_context(), db.engine.begin() as connection:
                for table, rows in by_table.items():
                    _write(connection, table, rows)
                    totals.add(connection, table, rows)  # what /metrics reports, in the same transaction
                totals.add_process_figures(connection, process_figures())
        except Exception as exc:  # noqa: BLE001 - the rows wait for the next flush; the thread must live on
            stats["failed_flushes"] += 1
            # One line, no trace: while the database is away this repeats every interval.
            log.warning("could not write %d monitoring rows (%s); kept for the next flush", len(taken),
                        type(exc).__name__)
            with self.lock:
                self.rows.extendleft(reversed(taken))
                while len(self.rows) > MAX_ROWS:
                    self.rows.popleft()
                    stats["dropped"] += 1
            return 0
        stats["flushed"] += len(taken)
        return len(taken)

    def stop(self):
        """Stop the thread and write what is left (at exit, and when a test is done with its app)."""
        self.stopping = True
        self.wake.set()
        self._worker.join(timeout=5)
        self.flush()


def _as_copied(column):
    """Return what a value of ``column`` must become for COPY: JSON as text, timestamps naive UTC."""
    if isinstance(column.type, JSON):
        return json.dumps
    if isinstance(column.type, UTCDateTime):
        return clock.naive_utc
    return None


def _write(connection, table, rows):
    """Write rows of one table in the flush's transaction: COPY on PostgreSQL, an executemany elsewhere."""
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    by_columns = {}
    for row in rows:  # rows of one table normally all name the same columns; group them in case not
        by_columns.setdefault(tuple(row), []).append(row)
    with connection.connection.driver_connection.cursor() as cursor:
        for keys, batch in by_columns.items():
            columns = [table.c[key] for key in keys]
            converters = [_as_copied(column) for column in columns]
            names = ", ".join(f'"{column.name}"' for column in columns)
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in batch:
                    copy.write_row([value if convert is None or value is None else convert(value)
                                    for convert, value in zip(converters, (row[key] for key in keys))])


def process_figures():
    """Return this process's own running figures (receiver failures, dropped rows), for the totals."""
    return {"process_receiver_failures": events.failures["receivers"],
            "process_monitoring_commit_failures": events.failures["commits"],
            "process_monitoring_rows_dropped": stats["dropped"],
            "process_monitoring_flush_failures": stats["failed_flushes"],
            "process_log_records_dropped": logs.shipper_stats["dropped"]}


def buffer_of(app):
    """Return the app's buffer, or None when MONITORING_FLUSH_MS is 0 (rows go with the request's commit)."""
    return app.extensions.get(_EXTENSION)


def flush(app):
    """Write the app's buffered rows now (the CLI and tests call this before reading them)."""
    buffer = buffer_of(app)
    return buffer.flush() if buffer is not None else 0


def init_app(app):
    """Give the app a buffer when MONITORING_FLUSH_MS is above 0, flushed at exit too."""
    if app.config["MONITORING_FLUSH_MS"] > 0:
        buffer = app.extensions[_EXTENSION] = MonitoringBuffer(app, app.config["MONITORING_FLUSH_MS"])
        atexit.register(buffer.stop)
