"""Access events (SPEC §14) reach a real loopback receiver, and the reference `standardwebhooks` library verifies
them: grants and revokes, in order per enrollment, once each after a receiver outage, with a stable webhook-id."""

import base64
import re
import secrets
import time
from pathlib import Path

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cardpay.admin import auth
from cardpay.alerting import outbox
from cardpay.core import clock, events
from cardpay.core.extensions import db
from cardpay.ikhokha.sandbox import state_of
from cardpay.integrations import access_events
from cardpay.models import AlertDelivery, Course, Enrollment, Payment
from cardpay.payments import approvals
from tests.admin.admin_helpers import Seed, sign_in
from tests.config_helpers import production_settings
from tests.receiver_helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def events_app(app_factory, webhook_receiver):
    return app_factory(ACCESS_WEBHOOK_URL=webhook_receiver.url, ACCESS_WEBHOOK_SECRET=SECRET)


def verified(request):
    """The body as the reference library reads it after checking the signature (raises when it does not verify)."""
    return Webhook(SECRET).verify(request["raw"], request["headers"])


def header(request, name):
    return {key.lower(): value for key, value in request["headers"].items()}[name]


def grant(app, payment_id, method="fast_track"):
    """Approve a paid payment the way the callback path does: commit, then publish its events."""
    with app.app_context():
        decision = approvals.apply_success(db.session.get(Payment, payment_id), method)
        assert decision.outcome == "approved"
        db.session.commit()
        events.publish_all(decision.events)


def pending_payment(app, email="thandi@example.com"):
    with app.app_context():
        payment = Seed().payment(status="pending", email=email)
        payment.enrollment.course.access_url = "https://learn.example.com/intro-to-python"
        db.session.commit()
        return payment.id, payment.enrollment_id, payment.external_transaction_id


def admin_client(app):
    with app.app_context():
        auth.create_admin("ops@example.com", "correct horse battery staple")
    client = app.test_client()
    assert sign_in(client).status_code == 302
    return client


def deliver(app, times=1):
    with app.app_context():
        for _ in range(times):
            outbox.deliver_due()


def rows(app):
    with app.app_context():
        found = db.session.query(AlertDelivery).filter_by(channel="access_webhook").order_by(AlertDelivery.id).all()
        db.session.expunge_all()
        db.session.commit()
        return found


def test_a_grant_and_an_admin_revoke_arrive_signed_and_in_order(events_app, webhook_receiver):
    payment_id, enrollment_id, reference = pending_payment(events_app)
    grant(events_app, payment_id)
    revoked = admin_client(events_app).post(f"/admin/payments/{payment_id}/revoke",
                                            data={"reason": "refunded at the learner's request", "confirm": "y"})
    assert revoked.status_code == 302
    deliver(events_app, 2)

    assert wait_for(lambda: len(webhook_receiver.requests) == 2)
    activated, revoked = (verified(request) for request in webhook_receiver.requests)
    assert [activated["type"], revoked["type"]] == ["enrollment.activated", "enrollment.revoked"]
    assert activated["data"] == {
        "enrollment_id": enrollment_id,
        "learner": {"email": "thandi@example.com", "name": "Learner 1"},
        "course": {"slug": "intro-to-python", "title": "Intro To Python",
                   "access_url": "https://learn.example.com/intro-to-python"},
        "payment": {"reference": reference, "amount_cents": 49900, "currency": "ZAR", "method": "fast_track"},
        "access_granted_at": activated["data"]["access_granted_at"], "revoked_at": None}
    assert activated["data"]["access_granted_at"].endswith("Z")
    # The revoke reports the state it made: access ended, with when, and the payment that had bought it.
    assert revoked["data"]["revoked_at"].endswith("Z")
    assert revoked["data"]["payment"]["reference"] == reference
    assert revoked["data"]["payment"]["method"] == "fast_track"
    for request in webhook_receiver.requests:
        assert header(request, "content-type") == "application/json"
        assert re.fullmatch(r"\d{10}", header(request, "webhook-timestamp"))
        assert abs(int(header(request, "webhook-timestamp")) - time.time()) < 60
    assert [header(r, "webhook-id") for r in webhook_receiver.requests] == [
        access_events.message_id(row.id) for row in rows(events_app)]


def test_a_tampered_body_or_another_secret_fails_verification(events_app, webhook_receiver):
    payment_id, _, _ = pending_payment(events_app)
    grant(events_app, payment_id)
    deliver(events_app)
    assert wait_for(lambda: webhook_receiver.requests)
    [request] = webhook_receiver.requests
    assert verified(request)["type"] == "enrollment.activated"
    tampered = request["raw"].replace(b'"amount_cents":49900', b'"amount_cents":100')
    assert tampered != request["raw"]
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, request["headers"])
    other = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(request["raw"], request["headers"])


def test_a_receiver_that_was_down_gets_each_event_once_afterwards_with_the_same_id(events_app, webhook_receiver):
    payment_id, enrollment_id, _ = pending_payment(events_app)
    webhook_receiver.stop()
    grant(events_app, payment_id)
    admin_client(events_app).post(f"/admin/payments/{payment_id}/revoke", data={"reason": "chargeback", "confirm": "y"})
    deliver(events_app, 2)
    first, second = rows(events_app)
    assert (first.status, first.attempts, first.kind) == ("pending", 1, "enrollment.activated")
    assert "could not reach" in first.last_error
    # One enrollment's events go in order: the revoke waits while the grant is undelivered.
    assert (second.attempts, second.kind, second.ordering_key) == (0, "enrollment.revoked", f"enrollment:{enrollment_id}")

    page = admin_client_page(events_app, "/admin/outbox?channel=access_webhook&status=pending")
    assert page.count('data-status="pending"') == 2 and "could not reach" in page

    # Back, but failing for a while: the retry carries the webhook-id the delivery will keep.
    webhook_receiver.status = 503
    webhook_receiver.start()
    clock.advance(hours=1)
    deliver(events_app)
    assert wait_for(lambda: len(webhook_receiver.requests) == 1)
    refused_id = header(webhook_receiver.requests[0], "webhook-id")

    webhook_receiver.status = 200
    clock.advance(hours=1)
    deliver(events_app, 2)
    clock.advance(hours=1)
    deliver(events_app, 2)
    assert wait_for(lambda: len(webhook_receiver.requests) == 3)
    time.sleep(0.2)
    accepted = webhook_receiver.requests[1:]
    assert len(accepted) == 2, "each event is delivered once"
    assert [verified(r)["type"] for r in accepted] == ["enrollment.activated", "enrollment.revoked"]
    assert header(accepted[0], "webhook-id") == refused_id == access_events.message_id(first.id)
    assert [(row.status, row.attempts) for row in rows(events_app)] == [("delivered", 3), ("delivered", 1)]


def admin_client_page(app, url):
    client = admin_client(app)
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_sandbox_purchase_announces_enrollment_activated(live_app, webhook_receiver):
    app, server = live_app(ACCESS_WEBHOOK_URL=webhook_receiver.url, ACCESS_WEBHOOK_SECRET=SECRET)
    with app.app_context():
        db.session.add(Course(slug="python-foundations", title="Python Foundations", description="Learn Python.",
                              price_cents=49900, currency="ZAR", active=True))
        db.session.commit()
    browser = requests.Session()
    try:
        page = browser.get(f"{server.url}/courses/python-foundations", timeout=10)
        token = CSRF.search(page.text)
        enrolled = browser.post(f"{server.url}/courses/python-foundations/enroll", timeout=10, allow_redirects=False,
                                data={"email": "sipho@example.com", "name": "Sipho Dlamini",
                                      "csrf_token": token.group(1) if token else ""})
        paid = browser.post(enrolled.headers["Location"], allow_redirects=False, timeout=10,
                            data={"card_number": "4242424242424242", "expiry": "12/39", "cvv": "123"})
        assert paid.status_code == 303

        def announced():
            deliver(app)
            return webhook_receiver.requests

        assert wait_for(announced, timeout=10)
    finally:
        state_of(app).stopping.set()
    [request] = webhook_receiver.requests
    body = verified(request)
    assert body["type"] == "enrollment.activated"
    assert body["data"]["learner"] == {"email": "sipho@example.com", "name": "Sipho Dlamini"}
    assert body["data"]["course"]["slug"] == "python-foundations"
    assert body["data"]["payment"]["method"] == "fast_track" and body["data"]["payment"]["amount_cents"] == 49900


def test_resend_queues_the_current_state_again(events_app, webhook_receiver):
    payment_id, enrollment_id, _ = pending_payment(events_app)
    grant(events_app, payment_id)
    deliver(events_app)
    runner = events_app.test_cli_runner()
    result = runner.invoke(args=["cardpay", "access-events", "resend", "--enrollment", str(enrollment_id)])
    assert result.exit_code == 0, result.output
    assert f"queued enrollment.activated for enrollment {enrollment_id}" in result.output
    deliver(events_app)
    assert wait_for(lambda: len(webhook_receiver.requests) == 2)
    first, again = (verified(r) for r in webhook_receiver.requests)
    assert again["type"] == "enrollment.activated" and again["data"]["payment"] == first["data"]["payment"]
    assert header(webhook_receiver.requests[0], "webhook-id") != header(webhook_receiver.requests[1], "webhook-id")

    with events_app.app_context():
        db.session.get(Enrollment, enrollment_id).status = "revoked"
        db.session.commit()
    result = runner.invoke(args=["cardpay", "access-events", "resend", "--enrollment", str(enrollment_id)])
    assert "queued enrollment.revoked" in result.output
    missing = runner.invoke(args=["cardpay", "access-events", "resend", "--enrollment", "999999"])
    assert missing.exit_code == 1 and "No enrollment has id 999999" in missing.output


def test_no_url_means_no_events_and_resend_says_why(app):
    payment_id, enrollment_id, _ = pending_payment(app)
    grant(app, payment_id)
    assert rows(app) == []
    result = app.test_cli_runner().invoke(args=["cardpay", "access-events", "resend", "--enrollment",
                                                str(enrollment_id)])
    assert result.exit_code == 1 and "ACCESS_WEBHOOK_URL is not set" in result.output


def test_a_pending_enrollment_has_nothing_to_resend(events_app):
    _, enrollment_id, _ = pending_payment(events_app)
    result = events_app.test_cli_runner().invoke(args=["cardpay", "access-events", "resend", "--enrollment",
                                                       str(enrollment_id)])
    assert result.exit_code == 1 and "pending_payment" in result.output
    assert rows(events_app) == []


@pytest.mark.parametrize("secret, reason", [
    (None, "ACCESS_WEBHOOK_SECRET: required while ACCESS_WEBHOOK_URL is set"),
    ("not-a-whsec-secret", "ACCESS_WEBHOOK_SECRET: webhook secret must be a string starting with 'whsec_'"),
    ("whsec_" + base64.b64encode(b"short").decode(), "ACCESS_WEBHOOK_SECRET: webhook secret is too short"),
])
def test_validate_config_wants_a_whsec_secret_with_the_url(flask_cli, migrated_database, secret, reason):
    settings = {"CARDPAY_ENV": "development", "DATABASE_URL": migrated_database, "SECRET_KEY": "s" * 40,
                "ACCESS_WEBHOOK_URL": "https://lms.example.com/hooks/cardpay"}
    if secret:
        settings["ACCESS_WEBHOOK_SECRET"] = secret
    result = flask_cli(["cardpay", "validate-config"], settings)
    assert result.exit_code == 1
    assert any(line.startswith("problem: " + reason) for line in result.stdout.splitlines()), result.stdout
    if secret:
        assert secret not in result.output


def test_validate_config_in_production_wants_https_and_accepts_a_good_secret(flask_cli):
    # A literal public address: validate-config resolves names in production, and tests stay offline.
    good = flask_cli(["cardpay", "validate-config"], production_settings(
        ACCESS_WEBHOOK_URL="https://93.184.216.34/hooks/cardpay", ACCESS_WEBHOOK_SECRET=SECRET))
    assert good.exit_code == 0, good.output
    assert SECRET not in good.output
    plain = flask_cli(["cardpay", "validate-config"], production_settings(
        ACCESS_WEBHOOK_URL="http://lms.example.com/hooks/cardpay", ACCESS_WEBHOOK_SECRET=SECRET))
    assert "problem: ACCESS_WEBHOOK_URL: production URLs must use https" in plain.stdout.splitlines()


def test_the_admin_outbox_lists_rows_in_the_display_zone_and_refuses_unknown_filters(app):
    with app.app_context():
        at = clock.now().replace(year=2026, month=12, day=5, hour=12, minute=3, second=0, microsecond=0)
        db.session.add_all([
            AlertDelivery(channel="access_webhook", target="https://lms.example.com/…", kind="enrollment.activated",
                          payload={}, status="failed", attempts=8, last_error="HTTP 500", next_attempt_at=at,
                          created_at=at),
            AlertDelivery(channel="webhook", target="https://ops.example.com/…", kind="firing", payload={},
                          status="delivered", attempts=1, next_attempt_at=at, created_at=at, delivered_at=at)])
        db.session.commit()
    client = admin_client(app)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert 'href="/admin/outbox"' in page  # linked in the navigation
    assert page.count("data-delivery-id=") == 2
    assert "5 Dec 2026, 14:03 SAST" in page and "HTTP 500" in page
    failed = client.get("/admin/outbox?status=failed&channel=access_webhook").get_data(as_text=True)
    assert failed.count("data-delivery-id=") == 1 and 'class="attempts">8<' in failed
    assert client.get("/admin/outbox?channel=webhook&status=failed").get_data(as_text=True).count(
        "data-delivery-id=") == 0
    for query in ("status=lost", "channel=carrier-pigeon", "status=%F0%9F%92%A5", "page=0"):
        response = client.get(f"/admin/outbox?{query}")
        assert response.status_code == 400, query
    assert app.test_client().get("/admin/outbox").status_code == 302  # sign-in first


def test_the_receiver_in_the_docs_verifies_a_real_event_and_refuses_a_forged_one(events_app, webhook_receiver,
                                                                                 monkeypatch, capsys):
    """docs/integrations.md's receiver example, run as written against what cardpay really sent."""
    text = (ROOT / "docs" / "integrations.md").read_text()
    source = re.search(r"## Access events.*?```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.setenv("ACCESS_WEBHOOK_SECRET", SECRET)
    example = {"__name__": "docs_receiver"}
    exec(compile(source, "docs/integrations.md", "exec"), example)  # noqa: S102 - our own documentation
    payment_id, _, _ = pending_payment(events_app)
    grant(events_app, payment_id)
    deliver(events_app)
    assert wait_for(lambda: webhook_receiver.requests)
    [sent] = webhook_receiver.requests
    receiver = example["app"].test_client()
    assert receiver.post("/hooks/cardpay", data=sent["raw"], headers=sent["headers"]).status_code == 204
    assert capsys.readouterr().out == "open intro-to-python for thandi@example.com\n"
    assert receiver.post("/hooks/cardpay", data=sent["raw"], headers=sent["headers"]).status_code == 204
    assert capsys.readouterr().out == ""  # the repeat was dropped by its webhook-id
    forged = sent["raw"].replace(b"enrollment.activated", b"enrollment.revoked")
    assert receiver.post("/hooks/cardpay", data=forged, headers=sent["headers"]).status_code == 400
