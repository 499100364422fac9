"""An alert reaches every channel once per incident, repeats are counted not re-sent, a resolve notice goes
out once, and a channel that was down gets every alert when it is back, none twice."""

import threading
from collections import Counter

from sqlalchemy import select

from cardpay import signals
from cardpay.alerting import alerts, outbox
from cardpay.core import clock, events
from cardpay.core.extensions import db
from cardpay.models import AlertDelivery, CardPaymentAlert

FINGERPRINT = "threshold_exceeded:webhook_processing"


def breach(duration_ms=6200.0):
    events.publish(signals.stage_timed, operation="webhook_processing", duration_ms=duration_ms, payment_id=None,
                   success=True, details={})


def counts(webhook_receiver, slack_receiver, smtp_server):
    return len(webhook_receiver.requests), len(slack_receiver.requests), len(smtp_server.messages)


def test_threshold_breach_notifies_each_channel_once_and_repeats_stay_quiet(
        alert_app, webhook_receiver, slack_receiver, smtp_server):
    with alert_app.app_context():
        breach()
        assert outbox.deliver_due() == {"claimed": 3, "delivered": 3, "failed": 0}
        assert counts(webhook_receiver, slack_receiver, smtp_server) == (1, 1, 1)

        generic = webhook_receiver.bodies[0]
        assert generic["fingerprint"] == FINGERPRINT and generic["type"] == "threshold_exceeded"
        assert generic["severity"] == "warning" and generic["status"] == "firing"
        assert generic["details"]["duration_ms"] == 6200.0 and generic["details"]["threshold_ms"] == 5000
        assert "webhook_processing took 6200 ms (threshold 5000 ms)" == generic["message"]
        assert generic["timestamp"].endswith("Z")
        slack = slack_receiver.bodies[0]
        assert slack["text"].startswith("[FIRING] WARNING threshold_exceeded: webhook_processing took 6200 ms")
        assert slack["blocks"][0]["type"] == "section"
        mail = smtp_server.messages[0]
        assert mail["to"] == ["ops@example.com"] and mail["fingerprint"] == FINGERPRINT
        assert "webhook_processing took 6200 ms" in mail["subject"]

        for _ in range(20):
            breach(6100.0)
        assert outbox.deliver_due()["claimed"] == 0
        assert counts(webhook_receiver, slack_receiver, smtp_server) == (1, 1, 1)
        alert = alerts.open_alert(FINGERPRINT)
        assert alert.occurrences == 21

        alerts.resolve_alert(FINGERPRINT, "ops@example.com")
        db.session.commit()
        alerts.resolve_alert(FINGERPRINT, "ops@example.com")  # already resolved: no second notice
        db.session.commit()
        outbox.deliver_due()
        outbox.deliver_due()
        assert counts(webhook_receiver, slack_receiver, smtp_server) == (2, 2, 2)
        resolved = webhook_receiver.bodies[1]
        assert resolved["status"] == "resolved" and resolved["resolved_by"] == "ops@example.com"
        assert slack_receiver.bodies[1]["text"].startswith("[RESOLVED]")
        assert smtp_server.messages[1]["subject"].startswith("[cardpay] [RESOLVED]")


def test_open_alert_is_notified_again_only_after_the_repeat_interval(alert_app, webhook_receiver):
    with alert_app.app_context():
        breach()
        outbox.deliver_due()
        clock.advance(minutes=alert_app.config["ALERT_REPEAT_INTERVAL_MINUTES"] - 1)
        breach()
        outbox.deliver_due()
        assert [b["status"] for b in webhook_receiver.bodies] == ["firing"]
        clock.advance(minutes=2)
        breach()
        breach()
        outbox.deliver_due()
        assert [b["status"] for b in webhook_receiver.bodies] == ["firing", "repeat"]
        assert webhook_receiver.bodies[1]["occurrences"] == 3  # as of the repeat that was notified


def test_a_new_incident_after_resolution_alerts_again(alert_app, webhook_receiver):
    with alert_app.app_context():
        breach()
        alerts.resolve_alert(FINGERPRINT, "ops")
        db.session.commit()
        breach()
        outbox.deliver_due()
        assert [b["status"] for b in webhook_receiver.bodies] == ["firing", "resolved", "firing"]
        ids = {b["alert_id"] for b in webhook_receiver.bodies}
        assert len(ids) == 2
        assert db.session.execute(select(CardPaymentAlert).where(CardPaymentAlert.fingerprint == FINGERPRINT)
                                  ).scalars().all()[-1].resolved is False


def test_severity_rising_on_an_open_alert_is_notified(alert_app, webhook_receiver):
    with alert_app.app_context():
        breach(6000.0)
        breach(12000.0)  # twice the threshold: critical
        outbox.deliver_due()
        assert [(b["status"], b["severity"]) for b in webhook_receiver.bodies] == [
            ("firing", "warning"), ("repeat", "critical")]


def test_quiet_threshold_alert_resolves_itself(alert_app, webhook_receiver):
    with alert_app.app_context():
        breach()
        outbox.deliver_due()
        clock.advance(minutes=alert_app.config["ALERT_AUTO_RESOLVE_MINUTES"] + 1)
        outbox.deliver_due()
        assert [b["status"] for b in webhook_receiver.bodies] == ["firing", "resolved"]
        assert webhook_receiver.bodies[1]["resolved_by"] == "auto-resolve"


def test_channel_down_for_a_while_gets_every_alert_once_when_back(
        alert_app, webhook_receiver, slack_receiver, smtp_server):
    webhook_receiver.stop()
    with alert_app.app_context():
        for n in range(3):
            alerts.raise_alert("approval_failed", "critical", f"approval {n} failed", {"n": n},
                               fingerprint=f"approval_failed:test-{n}")
        db.session.commit()
        for _ in range(alert_app.config["ALERT_CHANNEL_FAILURE_ATTEMPTS"]):
            outbox.deliver_due()
            clock.advance(seconds=alert_app.config["ALERT_RETRY_MAX_SECONDS"])
        failing = alerts.open_alert("channel_delivery_failed:webhook")
        assert failing is not None and failing.details["channel"] == "webhook"
        outbox.deliver_due()
        # The channel alert went to the two working channels, never to the failing one.
        assert sum(1 for b in slack_receiver.bodies if "channel_delivery_failed" in b["text"]) == 1
        assert sum(1 for m in smtp_server.messages if m["fingerprint"] == "channel_delivery_failed:webhook") == 1

        webhook_receiver.start()  # the same port
        clock.advance(seconds=alert_app.config["ALERT_RETRY_MAX_SECONDS"])
        for _ in range(3):
            outbox.deliver_due()
            clock.advance(seconds=alert_app.config["ALERT_RETRY_MAX_SECONDS"])

        got = Counter(b["fingerprint"] for b in webhook_receiver.bodies)
        assert got == {f"approval_failed:test-{n}": 1 for n in range(3)}
        assert alerts.open_alert("channel_delivery_failed:webhook") is None
        assert sum(1 for b in slack_receiver.bodies
                   if b["text"].startswith("[RESOLVED]") and "channel_delivery_failed" in b["text"]) == 1
        statuses = Counter(db.session.execute(select(AlertDelivery.status)).scalars())
        assert statuses == {"delivered": len(db.session.execute(select(AlertDelivery.id)).all())}


def test_two_workers_delivering_at_once_never_send_a_row_twice(app_factory, channel_settings, webhook_receiver):
    app = app_factory(**{**channel_settings, "ALERT_SLACK_WEBHOOK": None, "ALERT_EMAIL": None})
    with app.app_context():
        for n in range(30):
            alerts.raise_alert("approval_failed", "critical", f"approval {n} failed", fingerprint=f"race-{n}")
        db.session.commit()
    start = threading.Barrier(3)

    def worker():
        with app.app_context():
            start.wait()
            for _ in range(4):
                outbox.deliver_due(limit=10)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    got = Counter(b["fingerprint"] for b in webhook_receiver.bodies)
    assert got == {f"race-{n}": 1 for n in range(30)}


def test_manual_intervention_goes_to_the_manual_channels_too(app_factory, channel_settings, webhook_receiver,
                                                            smtp_server):
    from tests.receiver_helpers import HttpReceiver

    manual = HttpReceiver().start()
    try:
        app = app_factory(**channel_settings, MANUAL_INTERVENTION_WEBHOOK=manual.url,
                          MANUAL_INTERVENTION_EMAIL="review@example.com")
        with app.app_context():
            events.publish(signals.manual_intervention_required, intervention_id=7, payment_id=42,
                           reason="unknown_paylink", details={"paylink_id": "PL-1"})
            outbox.deliver_due()
            assert [b["type"] for b in manual.bodies] == ["manual_intervention"]
            assert manual.bodies[0]["details"]["intervention_id"] == 7
            assert [b["fingerprint"] for b in webhook_receiver.bodies] == ["manual_intervention:7"]
            assert sorted(m["to"][0] for m in smtp_server.messages) == ["ops@example.com", "review@example.com"]
            events.publish(signals.manual_intervention_resolved, intervention_id=7, payment_id=42,
                           decision="approved", actor="admin@example.com", note="paid, verified")
            outbox.deliver_due()
            assert [b["status"] for b in manual.bodies] == ["firing", "resolved"]
    finally:
        manual.stop()


def test_raising_an_alert_sends_nothing_by_itself(alert_app, webhook_receiver):
    with alert_app.app_context():
        breach()
        assert webhook_receiver.requests == []
        pending = db.session.execute(select(AlertDelivery.channel, AlertDelivery.status)).all()
        assert sorted(pending) == [("email", "pending"), ("slack", "pending"), ("webhook", "pending")]
