"""Cleaning 200,000 rows holds no transaction longer than a batch: payments keep writing meanwhile."""

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, text

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import CardPaymentMetric

ROWS = 200_000
BATCH = 5_000


def _bulk_insert_old_metrics(count, when):
    """Insert ``count`` metrics rows stamped ``when`` in one statement (the database makes the rows)."""
    stamp = when.replace(tzinfo=None)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(
            "INSERT INTO card_payment_metrics (metric_name, value, labels, timestamp) "
            "SELECT 'old', 1, '{}'::json, :ts FROM generate_series(1, :n)"), {"ts": stamp, "n": count})
    else:
        db.session.execute(text(
            "INSERT INTO card_payment_metrics (metric_name, value, labels, timestamp) "
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n) "
            "SELECT 'old', 1, '{}', :ts FROM s"), {"ts": stamp.strftime("%Y-%m-%d %H:%M:%S.%f"), "n": count})
    db.session.commit()


class Writer(threading.Thread):
    """Another connection doing what payments do during the cleanup: short inserts, one after another."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app = app
        self.stop = threading.Event()
        self.inserted, self.errors, self.old_counts, self.waits, self.xact_ages = 0, [], [], [], []

    def run(self):
        with self.app.app_context():
            postgres = db.engine.dialect.name == "postgresql"
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    db.session.add(CardPaymentMetric(metric_name="live", value=1, labels={}))
                    db.session.commit()
                    self.inserted += 1
                    self.waits.append(time.perf_counter() - started)
                    self.old_counts.append(db.session.execute(select(func.count()).where(
                        CardPaymentMetric.metric_name == "old")).scalar())
                    if postgres:  # the oldest open transaction of any other connection
                        self.xact_ages.append(db.session.execute(text(
                            "SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), 0) "
                            "FROM pg_stat_activity WHERE datname = current_database() "
                            "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                            "AND xact_start IS NOT NULL")).scalar())
                    db.session.commit()
                except Exception as exc:  # noqa: BLE001 - the test reports every failed insert
                    db.session.rollback()
                    self.errors.append(repr(exc))
                time.sleep(0.02)
            db.session.remove()


def test_cleanup_of_200k_rows_commits_batch_by_batch_while_inserts_go_on(app, runner, artifacts_dir):
    with app.app_context():
        _bulk_insert_old_metrics(ROWS, clock.now() - timedelta(days=200))
    writer = Writer(app)
    writer.start()
    started = time.perf_counter()
    result = runner.invoke(args=["cardpay", "cleanup", "--batch-size", str(BATCH)])
    duration = time.perf_counter() - started
    writer.stop.set()
    writer.join(timeout=30)

    assert result.exit_code == 0, result.output
    assert "card_payment_metrics: deleted 200,000 of 200,000" in result.output
    assert result.output.count("card_payment_metrics: deleted") == ROWS // BATCH  # a line per batch
    assert not writer.errors
    with app.app_context():
        assert db.session.execute(select(func.count()).where(CardPaymentMetric.metric_name == "old")).scalar() == 0
        live = db.session.execute(select(func.count()).where(CardPaymentMetric.metric_name == "live")).scalar()
    assert live == writer.inserted and writer.inserted >= 10
    # The other connection saw the deletions land a batch at a time, not all at the end.
    partial = {count for count in writer.old_counts if 0 < count < ROWS}
    assert len(partial) >= 3, sorted(set(writer.old_counts))
    assert all(count % BATCH == 0 for count in partial)
    if writer.xact_ages:
        assert max(writer.xact_ages) < duration / 3, (max(writer.xact_ages), duration)

    database = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
    report = (f"cleanup of {ROWS:,} rows in batches of {BATCH:,} on {database}: {duration:.2f} s; "
              f"{writer.inserted} concurrent inserts, longest wait {max(writer.waits) * 1000:.0f} ms; "
              f"{len(partial)} partial counts seen"
              + (f"; oldest other transaction {max(writer.xact_ages) * 1000:.0f} ms" if writer.xact_ages else ""))
    print(report)
    with open(artifacts_dir / "retention-batches.txt", "a") as handle:
        handle.write(report + "\n")
