"""Secret rotation: the reminder fires for overdue secrets and clears once `rotate-secret` records one."""

from datetime import timedelta

from sqlalchemy import select

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.jobs import guard, timetable
from cardpay.models import AuditLog, CardPaymentAlert, SecretRotation
from tests.conftest import TEST_API_SECRET, TEST_SECRET_KEY

REMINDER = timetable.JOBS_BY_NAME["secret_rotation_reminder"]


def _open_reminders(app):
    with app.app_context():
        alerts = db.session.execute(select(CardPaymentAlert).where(
            CardPaymentAlert.alert_type == "secret_rotation_due", CardPaymentAlert.resolved.is_(False))).scalars()
        return {alert.details["secret"]: alert.message for alert in alerts}


def test_rotate_secret_records_it_audits_it_and_prints_the_steps(app, runner):
    result = runner.invoke(args=["cardpay", "rotate-secret", "--by", "ops@example.com", "--note", "Q3 rotation"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        rotation = db.session.execute(select(SecretRotation)).scalar_one()
        audit = db.session.execute(select(AuditLog).where(AuditLog.action == "secret_rotated")).scalar_one()
    assert (rotation.secret_name, rotation.rotated_by, rotation.note) == (
        "IKHOKHA_WEBHOOK_SECRET", "ops@example.com", "Q3 rotation")
    assert (audit.actor, audit.target_type, audit.target_id) == ("ops@example.com", "secret", "IKHOKHA_WEBHOOK_SECRET")

    expires = clock.iso((clock.now() + timedelta(days=7)).replace(microsecond=0))[:13]  # to the hour
    assert "Recorded: IKHOKHA_WEBHOOK_SECRET rotated by ops@example.com" in result.output
    assert "into IKHOKHA_WEBHOOK_SECRET_PREVIOUS" in result.output
    assert f"IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES={expires}" in result.output
    assert "Put the new secret in IKHOKHA_WEBHOOK_SECRET" in result.output
    assert "Confirm callbacks verify with the new secret" in result.output
    assert "Rotation reminder: still due for IKHOKHA_API_SECRET, SECRET_KEY" in result.output
    for secret in (TEST_SECRET_KEY, TEST_API_SECRET):
        assert secret not in result.output


def test_reminder_fires_for_overdue_secrets_and_clears_after_rotation(app, runner):
    with app.app_context():
        db.session.add(SecretRotation(secret_name="IKHOKHA_API_SECRET", rotated_by="ops",
                                      rotated_at=clock.now() - timedelta(days=10)))
        db.session.add(SecretRotation(secret_name="SECRET_KEY", rotated_by="ops",
                                      rotated_at=clock.now() - timedelta(days=91)))
        db.session.commit()

    assert guard.run_once(app, REMINDER, "scheduler-a") == "succeeded"
    reminders = _open_reminders(app)
    assert set(reminders) == {"IKHOKHA_WEBHOOK_SECRET", "SECRET_KEY"}  # never rotated, and 91 days ago
    assert "no rotation recorded" in reminders["IKHOKHA_WEBHOOK_SECRET"]
    assert "interval 90 days" in reminders["SECRET_KEY"]

    result = runner.invoke(args=["cardpay", "rotate-secret", "--secret", "SECRET_KEY",
                                 "--secret", "IKHOKHA_WEBHOOK_SECRET", "--by", "ops@example.com"])
    assert result.exit_code == 0, result.output
    assert "Rotation reminder: clear" in result.output
    assert _open_reminders(app) == {}
    with app.app_context():
        resolved = db.session.execute(select(CardPaymentAlert).where(CardPaymentAlert.resolved.is_(True))).scalars()
        assert {alert.resolved_by for alert in resolved} == {"secret-rotation"}

    # A quarter later the reminder comes back for every secret.
    clock.advance(days=91)
    assert guard.run_once(app, REMINDER, "scheduler-a") == "succeeded"
    assert set(_open_reminders(app)) == {"IKHOKHA_WEBHOOK_SECRET", "IKHOKHA_API_SECRET", "SECRET_KEY"}


def test_interval_comes_from_settings(app_factory):
    app = app_factory(SECRET_ROTATION_INTERVAL_DAYS=30)
    with app.app_context():
        for name in ("IKHOKHA_WEBHOOK_SECRET", "IKHOKHA_API_SECRET", "SECRET_KEY"):
            db.session.add(SecretRotation(secret_name=name, rotated_by="ops",
                                          rotated_at=clock.now() - timedelta(days=31 if name == "SECRET_KEY" else 29)))
        db.session.commit()
    assert guard.run_once(app, REMINDER, "scheduler-a") == "succeeded"
    assert set(_open_reminders(app)) == {"SECRET_KEY"}
