"""The operator console (SPEC §16): manual review with its facts and the override, the callbacks list and
its filters, the payments CSV, restore after revoke, and one time and money format on the pages."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from cardpay import signals
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import AuditLog, Enrollment, ManualIntervention, WebhookEvent
from cardpay.payments import status_checks
from tests.admin.admin_helpers import ADMIN_EMAIL


@pytest.fixture
def ikhokha(monkeypatch):
    """Stand in for getStatus: set ``.says`` to the verdict; ``.asked`` lists the (paylink, reference) asked."""
    class Gateway:
        says = "PENDING"
        asked = []

    def ask(client, paylink_id, reference):
        Gateway.asked.append((paylink_id, reference))
        return status_checks.Verdict(Gateway.says)

    monkeypatch.setattr(status_checks, "ask", ask)
    Gateway.asked = []
    return Gateway


def admin_actions(app):
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(AuditLog.action == "admin_action")
                                  .order_by(AuditLog.id)).scalars().all()
        return [(r.details["action"], r.target_id, r.reason, r.details) for r in rows]


def mismatch_item(seed, received="CP-SOMEONE-ELSE"):
    payment = seed.payment(status="pending", email="never@example.com")
    item = seed.review(payment, reason="reference_mismatch")
    item.details = {"status": "SUCCESS", "externalTransactionID": received}
    db.session.commit()
    return payment, item


def test_review_shows_expected_and_received_reference_and_what_ikhokha_says(app, admin_client, seed, ikhokha):
    with app.app_context():
        payment, item = mismatch_item(seed)
        item_id, reference, paylink = item.id, payment.external_transaction_id, payment.paylink_id
    page = admin_client.get("/admin/manual-review").get_data(as_text=True)
    card = page.split(f'id="item-{item_id}"')[1]
    assert f'class="ref-expected"><code>{reference}</code>' in card
    assert 'class="ref-received"><code>CP-SOMEONE-ELSE</code>' in card and "differs" in card
    assert "Not paid (no payment yet)" in card and 'name="confirm"' in card
    assert card.count('name="reason"') == 1  # one reason field for approve and reject
    assert ikhokha.asked == [(paylink, reference)]

    admin_client.get("/admin/manual-review")  # within 30 s: the answer is reused
    assert len(ikhokha.asked) == 1
    ikhokha.says = "SUCCESS"
    response = admin_client.post(f"/admin/manual-review/{item_id}/check", follow_redirects=True)
    assert "iKhokha says Paid" in response.get_data(as_text=True) and len(ikhokha.asked) == 2
    card = response.get_data(as_text=True).split(f'id="item-{item_id}"')[1]
    assert 'name="confirm"' not in card.split("</article>")[0]


def test_review_answers_are_asked_again_after_the_cache_time(app, admin_client, seed, ikhokha, monkeypatch):
    from cardpay.admin import review_facts
    with app.app_context():
        mismatch_item(seed)
    admin_client.get("/admin/manual-review")
    monkeypatch.setattr(review_facts, "CACHE_SECONDS", -1)
    admin_client.get("/admin/manual-review")
    assert len(ikhokha.asked) == 2


def test_approving_what_ikhokha_does_not_report_paid_needs_the_tick_and_is_an_override(app, admin_client, seed,
                                                                                       ikhokha):
    with app.app_context():
        payment, item = mismatch_item(seed)
        item_id, enrollment_id = item.id, payment.enrollment_id
    refused = admin_client.post(f"/admin/manual-review/{item_id}/approve", data={"reason": "proof sent by email"},
                                follow_redirects=True)
    assert "does not report this payment as paid" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ManualIntervention, item_id).status == "open"
        assert db.session.get(Enrollment, enrollment_id).status == "pending_payment"
    assert admin_actions(app) == []

    done = admin_client.post(f"/admin/manual-review/{item_id}/approve",
                             data={"reason": "proof sent by email", "confirm": "y"}, follow_redirects=True)
    assert "without iKhokha&#39;s confirmation" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Enrollment, enrollment_id).status == "active"
    [(action, target, reason, details)] = admin_actions(app)
    assert (action, target, reason) == ("manual_review_approved_override", str(item_id), "proof sent by email")
    assert details["ikhokha_status"] == "PENDING" and details["override"] is True


def test_approving_what_ikhokha_reports_paid_is_no_override(app, admin_client, seed, ikhokha):
    ikhokha.says = "SUCCESS"
    with app.app_context():
        _, item = mismatch_item(seed)
        item_id = item.id
    admin_client.post(f"/admin/manual-review/{item_id}/approve", data={"reason": "iKhokha says paid"})
    [(action, _, _, details)] = admin_actions(app)
    assert action == "manual_review_approved" and details["override"] is False


def test_one_reason_rejects_too(app, admin_client, seed, ikhokha):
    with app.app_context():
        _, item = mismatch_item(seed)
        item_id = item.id
    admin_client.post(f"/admin/manual-review/{item_id}/reject", data={"reason": "not our reference", "confirm": "y"})
    with app.app_context():
        assert db.session.get(ManualIntervention, item_id).status == "rejected"


def test_restore_gives_access_back_and_announces_it(app, admin_client, seed):
    heard = []
    receiver = lambda sender, **payload: heard.append(payload)  # noqa: E731
    signals.enrollment_activated.connect(receiver)
    try:
        with app.app_context():
            payment = seed.payment(status="succeeded", email="refund@example.com")
            db.session.commit()
            payment_id, enrollment_id = payment.id, payment.enrollment_id
        nothing = admin_client.post(f"/admin/payments/{payment_id}/restore", data={"reason": "too early"},
                                    follow_redirects=True)
        assert "nothing to restore" in nothing.get_data(as_text=True)
        confirm = admin_client.get(f"/admin/payments/{payment_id}/revoke").get_data(as_text=True)
        assert "Revoke access?" in confirm and 'name="confirm"' in confirm
        admin_client.post(f"/admin/payments/{payment_id}/revoke", data={"reason": "refunded", "confirm": "y"})
        page = admin_client.post(f"/admin/payments/{payment_id}/restore", data={"reason": "refund reversed"},
                                 follow_redirects=True).get_data(as_text=True)
    finally:
        signals.enrollment_activated.disconnect(receiver)
    assert "Access restored for refund@example.com" in page and 'id="enrollment-status">Active' in page
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.status == "active" and enrollment.revoked_at is None
    assert heard == [{"enrollment_id": enrollment_id, "payment_id": payment_id, "method": "manual",
                      "actor": ADMIN_EMAIL}]
    assert [a[0] for a in admin_actions(app)] == ["access_revoked", "access_restored"]
    timeline = page.split('id="timeline"')[1].split("</table>")[0]
    assert timeline.index("Access revoked") < timeline.index("Access restored")


def test_payments_csv_is_the_filtered_list(app, admin_client, seed):
    with app.app_context():
        paid = seed.payment(status="succeeded", email="paid@example.com", amount=123450)
        seed.payment(status="failed", email="declined@example.com")
        seed.payment(status="pending", email="gone@example.com", age=timedelta(hours=2))
        db.session.commit()
        reference, paylink = paid.external_transaction_id, paid.paylink_id
    response = admin_client.get("/admin/payments.csv", query_string={"status": "succeeded"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert (row["reference"], row["paylink_id"], row["learner_email"], row["course"]) == (
        reference, paylink, "paid@example.com", "intro-to-python")
    assert (row["amount"], row["amount_cents"], row["currency"], row["status"]) == ("1234.50", "123450", "ZAR",
                                                                                      "succeeded")
    assert row["created"].endswith(" SAST") and row["created_utc"].endswith("Z") and row["failed"] == ""
    everything = list(csv.DictReader(io.StringIO(admin_client.get("/admin/payments.csv").get_data(as_text=True))))
    assert {r["learner_email"]: r["status"] for r in everything} == {
        "paid@example.com": "succeeded", "declined@example.com": "failed", "gone@example.com": "abandoned"}
    abandoned = admin_client.get("/admin/payments", query_string={"status": "abandoned"}).get_data(as_text=True)
    assert "gone@example.com" in abandoned and "paid@example.com" not in abandoned


@pytest.mark.parametrize("path, query", [
    ("/admin/payments", {"status": "bogus"}), ("/admin/payments.csv", {"from": "2026-02-30"}),
    ("/admin/payments", {"from": "2026-05-02", "to": "2026-05-01"}), ("/admin/payments", {"to": "99999-01-01"}),
    ("/admin/callbacks", {"verdict": "<script>"}), ("/admin/callbacks", {"status": "done"}),
    ("/admin/callbacks", {"paylink": "a b"}), ("/admin/callbacks", {"from": "yesterday"}),
    ("/admin/api/payments", {"status": "bogus"}),
])
def test_bad_filters_are_a_400_never_a_500(admin_client, path, query):
    response = admin_client.get(path, query_string=query)
    assert response.status_code == 400
    if "/api/" not in path:
        assert 'class="bar"' in response.get_data(as_text=True)  # inside the admin frame


def test_callbacks_list_filters_and_replay_refuses_a_finished_delivery(app, admin_client, seed):
    with app.app_context():
        payment = seed.payment(status="succeeded")
        at = clock.now()
        for verdict, status in (("accepted", "processed"), ("bad_signature", "rejected")):
            db.session.add(WebhookEvent(path="/webhooks/ikhokha", remote_ip="203.0.113.9", headers={"x": "1"},
                                        body="{}", verdict=verdict, processing_status=status, received_at=at,
                                        paylink_id=payment.paylink_id, delivery_key=f"k-{verdict}",
                                        http_status=200 if verdict == "accepted" else 401))
        db.session.commit()
        done_id = db.session.execute(select(WebhookEvent.id).where(WebhookEvent.verdict == "accepted")).scalar()
    page = admin_client.get("/admin/callbacks").get_data(as_text=True)
    assert "Bad signature" in page and "Processed" in page and "203.0.113.9" in page
    refused = admin_client.get("/admin/callbacks", query_string={"verdict": "bad_signature"}).get_data(as_text=True)
    assert "Bad signature" in refused and "class=\"processing\">Processed<" not in refused
    today = clock.now().date().isoformat()
    assert admin_client.get("/admin/callbacks", query_string={"from": today, "to": today}).status_code == 200
    assert "Replay</button>" not in page  # nothing unfinished
    again = admin_client.post(f"/admin/callbacks/{done_id}/replay", data={"reason": "try"}, follow_redirects=True)
    assert "was not replayed: skipped: already processed" in again.get_data(as_text=True)
    assert admin_client.get("/admin/callbacks/999999").status_code == 404


def test_pages_show_one_time_and_money_format_and_no_float_noise(app, admin_client, seed):
    with app.app_context():
        payment = seed.payment(status="failed", amount=65000)
        seed.alert()
        from cardpay import audit
        audit.record("test_action", "ops", "payment", payment.id, details={"ratio": 1.0399999999999998})
        db.session.commit()
        payment_id = payment.id
    listing = admin_client.get("/admin/payments").get_data(as_text=True)
    assert '<span class="money">R650.00</span>' in listing and "ZAR 650" not in listing
    assert " SAST</time>" in listing and " UTC<" not in listing
    assert ">No access<" in listing and ">Declined<" in listing  # not "pending_payment"
    detail = admin_client.get(f"/admin/payments/{payment_id}").get_data(as_text=True)
    assert "pending_payment" not in detail
    audit_page = admin_client.get("/admin/audit-log").get_data(as_text=True)
    assert "1.04" in audit_page and "1.0399999999999998" not in audit_page
    dashboard = admin_client.get("/admin/card-payment-monitoring").get_data(as_text=True)
    assert "webhook_processing</td>" not in dashboard and "Callback processing" in dashboard
    missing = admin_client.get("/admin/nowhere")
    assert missing.status_code == 404 and 'class="bar"' in missing.get_data(as_text=True)
    assert admin_client.get("/nowhere").status_code == 404  # the rest of the site keeps its own page
