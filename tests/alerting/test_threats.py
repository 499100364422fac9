"""Bursts of forged, replayed, disallowed or unknown-paylink callbacks from one IP raise one security alert,
through the real webhook endpoint."""

import json
import time

from sqlalchemy import select

from cardpay.alerting import outbox, threats
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.ikhokha import signing
from cardpay.models import CardPaymentAlert

ATTACKER = "203.0.113.9"
PATH = "/webhooks/ikhokha"


def callback(client, app, ip=ATTACKER, forged=True, paylink="PL-NOPE", timestamp=None):
    payload = {"paylinkID": paylink, "status": "SUCCESS", "externalTransactionID": "cp_x", "responseCode": "00"}
    if timestamp is not None:
        payload["timestamp"] = timestamp
    body = json.dumps(payload).encode()
    secret = "not-the-secret" if forged else app.config["IKHOKHA_WEBHOOK_SECRET"]
    headers = {"Content-Type": "application/json", "IK-APPID": app.config["IKHOKHA_API_KEY"],
               "IK-SIGN": signing.sign(secret, PATH, body)}
    return client.post(PATH, data=body, headers=headers, environ_base={"REMOTE_ADDR": ip})


def security_alerts():
    return db.session.execute(select(CardPaymentAlert).where(
        CardPaymentAlert.alert_type == "security_threat")).scalars().all()


def test_twenty_forged_callbacks_from_one_ip_raise_one_security_alert(alert_app, webhook_receiver):
    client = alert_app.test_client()
    for _ in range(20):
        assert callback(client, alert_app).status_code == 401
    for _ in range(5):  # someone else's few mistakes stay below the threshold
        callback(client, alert_app, ip="198.51.100.7")
    with alert_app.app_context():
        # The alert went up on the request path when the burst reached the threshold; its count then
        # catches up at the next confirmation, which a worker makes at most every few seconds.
        assert [a.details["count"] for a in security_alerts()] == [alert_app.config["THREAT_BURST_THRESHOLD"]]
        threats.confirm_pending()
        (alert,) = security_alerts()
        assert alert.fingerprint == f"threat:bad_signature:{ATTACKER}" and alert.severity == "critical"
        assert alert.details["count"] == 20 and alert.details["verdicts"] == {"invalid_signature": 20}
        assert alert.details["paylink_ids"] == ["PL-NOPE"] and alert.details["paths"] == [PATH]
        # Counted in the database by group, for the whole burst: statuses and the burst's first and last time.
        assert alert.details["http_statuses"] == {"401": 20} and len(alert.details["recent_event_ids"]) == 10
        assert alert.details["first_seen"] <= alert.details["last_seen"] and alert.details["last_seen"].endswith("Z")
        assert alert.message == f"20 callbacks with a bad or missing signature from {ATTACKER} in the last 300 s"
        outbox.deliver_due()
    notices = [b for b in webhook_receiver.bodies if b["type"] == "security_threat"]
    assert len(notices) == 1 and notices[0]["details"]["ip"] == ATTACKER


def test_a_burst_spread_over_two_workers_raises_one_alert_and_one_notice(app_factory, channel_settings,
                                                                          webhook_receiver):
    # Two apps on one database are two workers: each counts only the callbacks it handled itself.
    workers = [app_factory(**channel_settings) for _ in range(2)]
    clients = [worker.test_client() for worker in workers]
    for n in range(20):
        assert callback(clients[n % 2], workers[n % 2]).status_code == 401
    with workers[0].app_context():
        (alert,) = security_alerts()
        assert alert.fingerprint == f"threat:bad_signature:{ATTACKER}"
        assert alert.details["count"] >= workers[0].config["THREAT_BURST_THRESHOLD"]
    for worker in workers:
        with worker.app_context():
            threats.confirm_pending()
    with workers[1].app_context():
        (alert,) = security_alerts()
        assert alert.details["count"] == 20 and alert.occurrences > 1
        outbox.deliver_due()
    notices = [b for b in webhook_receiver.bodies if b["type"] == "security_threat"]
    assert len(notices) == 1 and notices[0]["status"] == "firing"


def test_bursts_spread_beyond_the_window_do_not_alert(alert_app):
    client = alert_app.test_client()
    for _ in range(9):
        callback(client, alert_app)
    clock.advance(seconds=alert_app.config["THREAT_WINDOW_SECONDS"] + 1)
    for _ in range(9):
        callback(client, alert_app)
    with alert_app.app_context():
        assert security_alerts() == []


def test_allowlist_rejections_replays_and_unknown_paylinks_are_each_recognised(app_factory, channel_settings):
    app = app_factory(**channel_settings, ENABLE_WEBHOOK_IP_VERIFICATION=True, WEBHOOK_ALLOWED_IPS="198.51.100.0/24",
                      THREAT_BURST_THRESHOLD=3)
    client = app.test_client()
    for _ in range(3):
        assert callback(client, app, forged=False).status_code == 403
    stale = int(time.time()) - 3600
    for n in range(3):
        assert callback(client, app, ip="198.51.100.5", forged=False, timestamp=stale).status_code == 401
        assert callback(client, app, ip="198.51.100.6", forged=False, paylink=f"PL-UNKNOWN-{n}").status_code == 200
    with app.app_context():
        fingerprints = sorted(a.fingerprint for a in security_alerts())
    assert fingerprints == [f"threat:allowlist:{ATTACKER}", "threat:replay:198.51.100.5",
                            "threat:unknown_paylink:198.51.100.6"]


def test_threat_detection_switched_off_raises_nothing(app_factory):
    app = app_factory(ENABLE_CARD_PAYMENT_THREAT_DETECTION=False)
    client = app.test_client()
    for _ in range(12):
        callback(client, app)
    with app.app_context():
        assert security_alerts() == []
