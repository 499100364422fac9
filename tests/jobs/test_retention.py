"""Retention (SPEC §10): rows past each window go, rows inside stay, open alerts always stay."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.jobs import guard, timetable
from cardpay.models import (
    AuditLog,
    CardPaymentAlert,
    CardPaymentMetric,
    CardPaymentPerformance,
    JobRun,
    Learner,
    SignInLink,
)
from tests.jobs.conftest import on_postgres

# label -> age in days; with the default windows (90/90/365/365, job runs 14) the "old" ones go.
METRICS = {"m-1d": 1, "m-89d": 89, "m-91d-old": 91, "m-400d-old": 400}
PERFORMANCE = {"p-2d": 2, "p-88d": 88, "p-92d-old": 92}
AUDIT = {"a-1d": 1, "a-364d": 364, "a-366d-old": 366, "a-1000d-old": 1000}
JOB_RUNS = {"j-1d": 1, "j-13d": 13, "j-15d-old": 15}
# label -> days since the sign-in link expired (used or not); kept 30 days after expiry by default
LINKS = {"l-not-yet": -1, "l-1d": 1, "l-29d": 29, "l-31d-old": 31, "l-400d-old": 400}
# label -> (resolved, age of the alert, age of its resolution)
ALERTS = {"open-1d": (False, 1, None), "open-400d": (False, 400, None), "open-2000d": (False, 2000, None),
          "resolved-10d": (True, 500, 10), "resolved-364d": (True, 400, 364),
          "resolved-366d-old": (True, 366, 366), "resolved-800d-old": (True, 900, 800),
          "resolved-no-time": (True, 900, None)}
TABLE_LABELS = {
    "card_payment_metrics": (CardPaymentMetric, CardPaymentMetric.metric_name),
    "card_payment_performance": (CardPaymentPerformance, CardPaymentPerformance.operation),
    "card_payment_alerts": (CardPaymentAlert, CardPaymentAlert.message),
    "audit_logs": (AuditLog, AuditLog.action),
    "job_runs": (JobRun, JobRun.job_name),
    "learner_sign_in_links": (SignInLink, SignInLink.token_hash),  # the label stands in for the hash
}


def seed(now=None):
    """Write the data set: one row per label, its age relative to now."""
    now = now or clock.now()
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    for label, days in METRICS.items():
        db.session.add(CardPaymentMetric(metric_name=label, value=1, labels={}, timestamp=ago(days)))
    for label, days in PERFORMANCE.items():
        db.session.add(CardPaymentPerformance(operation=label, duration_ms=10, threshold_ms=5000, exceeded=False,
                                              success=True, details={}, timestamp=ago(days)))
    for label, (resolved, age, resolved_age) in ALERTS.items():
        db.session.add(CardPaymentAlert(
            alert_type="test", severity="critical" if not resolved else "info", message=label, details={},
            fingerprint=label, resolved=resolved, timestamp=ago(age), last_seen_at=ago(age),
            resolved_at=ago(resolved_age) if resolved_age is not None else None))
    for label, days in AUDIT.items():
        db.session.add(AuditLog(action=label, actor="system", details={}, timestamp=ago(days)))
    for label, days in JOB_RUNS.items():
        db.session.add(JobRun(job_name=label, tick=label, holder="h", status="succeeded", result={},
                              started_at=ago(days)))
    learner = db.session.execute(select(Learner).filter_by(email="links@example.com")).scalar_one_or_none()
    if learner is None:
        learner = Learner(email="links@example.com", name="Links")
        db.session.add(learner)
        db.session.flush()
    for label, days in LINKS.items():
        db.session.add(SignInLink(learner_id=learner.id, token_hash=label, purpose="sign_in",
                                  created_at=ago(days + 1), expires_at=ago(days), used_at=ago(days) if days > 1 else None))
    db.session.commit()


def survivors(tables=TABLE_LABELS):
    """Return {table: set of labels still present}."""
    found = {table: set(db.session.execute(select(column)).scalars()) for table, (_, column) in tables.items()}
    db.session.commit()
    return found


def expected_survivors():
    keep = lambda labels: {label for label in labels if "old" not in label}  # noqa: E731
    return {"card_payment_metrics": keep(METRICS), "card_payment_performance": keep(PERFORMANCE),
            "card_payment_alerts": keep(ALERTS), "audit_logs": keep(AUDIT), "job_runs": keep(JOB_RUNS),
            "learner_sign_in_links": keep(LINKS)}


def test_cleanup_deletes_rows_past_each_window_and_keeps_the_rest(app, runner):
    with app.app_context():
        seed()
    result = runner.invoke(args=["cardpay", "cleanup", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert survivors() == expected_survivors()
    summary = {line.split()[0]: line.split()[-1] for line in result.output.splitlines() if line.split()}
    assert summary["card_payment_metrics"] == "2"
    assert summary["card_payment_performance"] == "1"
    assert summary["card_payment_alerts"] == "2"
    assert summary["audit_logs"] == "2"
    assert summary["job_runs"] == "1"
    assert summary["learner_sign_in_links"] == "2"
    assert summary["total"] == "10"
    assert "card_payment_metrics: deleted 2 of 2" in result.output  # one progress line per batch


def test_open_alerts_are_kept_whatever_the_windows(app_factory):
    app = app_factory(RESOLVED_ALERT_RETENTION_DAYS=1, METRICS_RETENTION_DAYS=1, PERFORMANCE_RETENTION_DAYS=1,
                      AUDIT_LOG_RETENTION_DAYS=1, JOB_RUN_RETENTION_DAYS=1)
    with app.app_context():
        seed(clock.now() - timedelta(days=3))
    result = app.test_cli_runner().invoke(args=["cardpay", "cleanup"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        left = survivors()
    assert left["card_payment_alerts"] == {"open-1d", "open-400d", "open-2000d", "resolved-no-time"}
    assert not left["card_payment_metrics"] and not left["audit_logs"] and not left["job_runs"]


def test_dry_run_counts_and_deletes_nothing(app, runner):
    with app.app_context():
        seed()
        before = survivors()
    result = runner.invoke(args=["cardpay", "cleanup", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing will be deleted." in result.output
    assert "would delete" in result.output
    assert [line.split()[-1] for line in result.output.splitlines() if line.startswith("total")] == ["10"]
    with app.app_context():
        assert survivors() == before


def test_the_daily_job_applies_the_same_windows(app):
    with app.app_context():
        seed()
    assert guard.run_once(app, timetable.JOBS_BY_NAME["retention_cleanup"], "scheduler-a") == "succeeded"
    with app.app_context():
        left = survivors()
        run = db.session.execute(select(JobRun).where(JobRun.job_name == "retention_cleanup")).scalar_one()
    assert {table: labels for table, labels in left.items()} == {
        **expected_survivors(), "job_runs": expected_survivors()["job_runs"] | {"retention_cleanup"}}
    assert run.result == {"card_payment_metrics": 2, "card_payment_performance": 1, "card_payment_alerts": 2,
                          "audit_logs": 2, "job_runs": 1, "webhook_events": 0, "learner_sign_in_links": 2}


SQL_TABLES = {name: spec for name, spec in TABLE_LABELS.items() if name != "job_runs"}


@pytest.mark.postgres_only
@on_postgres
@pytest.mark.parametrize("windows", [(90, 90, 365, 365), (30, 60, 100, 500)])
def test_sql_function_and_python_cleanup_delete_the_same_rows(app_factory, windows):
    metrics, performance, alerts, audit = windows
    app = app_factory(METRICS_RETENTION_DAYS=metrics, PERFORMANCE_RETENTION_DAYS=performance,
                      RESOLVED_ALERT_RETENTION_DAYS=alerts, AUDIT_LOG_RETENTION_DAYS=audit)
    with app.app_context():
        seed()
        result = app.test_cli_runner().invoke(args=["cardpay", "cleanup", "--batch-size", "2"])
        assert result.exit_code == 0, result.output
        python_left = survivors(SQL_TABLES)
        db.session.execute(text("TRUNCATE " + ", ".join(TABLE_LABELS) + " RESTART IDENTITY CASCADE"))  # not learners
        db.session.commit()

        seed()
        if windows == (90, 90, 365, 365):  # what an operator types: the function's defaults are SPEC's
            counts = db.session.execute(text("SELECT cleanup_old_card_payment_metrics()")).scalar()
        else:
            counts = db.session.execute(text("SELECT cleanup_old_card_payment_metrics(:m, :p, :a, :u)"),
                                        {"m": metrics, "p": performance, "a": alerts, "u": audit}).scalar()
        db.session.commit()
        sql_left = survivors(SQL_TABLES)

    assert sql_left == python_left
    python_counts = {line.split()[0]: int(line.split()[-1]) for line in result.output.splitlines()
                     if line.split() and line.split()[0] in SQL_TABLES}
    # Refused callbacks are cleaned by both too (tests/callbacks/test_hostile_input.py seeds them).
    assert counts.pop("webhook_events") == python_counts.pop("webhook_events", 0) == 0
    assert counts == python_counts
    if windows == (90, 90, 365, 365):
        assert {table: labels for table, labels in expected_survivors().items() if table in SQL_TABLES} == sql_left


def test_a_large_cleanup_paces_itself_between_batches(app, monkeypatch):
    """Full batches are followed by a pause (SQLite: its lock's retry interval; PostgreSQL: twice the batch's time)."""
    from cardpay.jobs import retention

    with app.app_context():
        seed()
        pauses = []
        monkeypatch.setattr(retention.time, "sleep", pauses.append)
        [item] = [p for p in retention.plan(app.config) if p.rule.table == "audit_logs"]
        assert retention.purge(item, batch_size=1) == 2  # two old audit rows: two full batches, then an empty one
        assert len(pauses) == 2
        if db.engine.dialect.name == "sqlite":
            assert pauses == [retention.SQLITE_PAUSE_SECONDS] * 2
        else:
            assert all(0 < pause < 1 for pause in pauses)
