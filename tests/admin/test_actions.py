"""What an operator does from the admin pages, and the trace each action leaves (who and why)."""

from sqlalchemy import select

from cardpay.core.extensions import db
from cardpay.models import (
    AuditLog,
    CardPaymentAlert,
    Enrollment,
    FastTrackApproval,
    ManualIntervention,
    Payment,
)
from cardpay.payments import status_checks
from tests.admin.admin_helpers import ADMIN_EMAIL


def admin_actions(app):
    """The audit rows of operator actions, as (action, actor, target, reason)."""
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(AuditLog.action == "admin_action")
                                  .order_by(AuditLog.id)).scalars().all()
        return [(r.details["action"], r.actor, f"{r.target_type}:{r.target_id}", r.reason) for r in rows]


def test_approving_a_review_item_grants_access_with_method_manual(app, admin_client, seed, monkeypatch):
    monkeypatch.setattr(status_checks, "ask", lambda client, paylink_id, reference: status_checks.Verdict("SUCCESS"))
    with app.app_context():
        payment = seed.payment(status="pending", email="thandi@example.com")
        item = seed.review(payment, reason="fast_track_disabled")
        db.session.commit()
        item_id, payment_id, enrollment_id = item.id, payment.id, payment.enrollment_id
    page = admin_client.get("/admin/manual-review").get_data(as_text=True)
    assert "thandi@example.com" in page and "Fast track disabled" in page

    response = admin_client.post(f"/admin/manual-review/{item_id}/approve",
                                 data={"reason": "paid per iKhokha portal"}, follow_redirects=True)
    assert f"Review item {item_id} approved" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Enrollment, enrollment_id).status == "active"
        assert db.session.get(Payment, payment_id).status == "succeeded"
        approval = db.session.execute(select(FastTrackApproval)).scalar_one()
        assert (approval.method, approval.outcome, approval.approved_by) == ("manual", "approved", ADMIN_EMAIL)
        decided = db.session.get(ManualIntervention, item_id)
        assert (decided.status, decided.resolved_by, decided.resolution_note) == (
            "approved", ADMIN_EMAIL, "paid per iKhokha portal")
    assert ("manual_review_approved", ADMIN_EMAIL, f"manual_intervention:{item_id}",
            "paid per iKhokha portal") in admin_actions(app)

    again = admin_client.post(f"/admin/manual-review/{item_id}/approve", data={"reason": "twice"},
                              follow_redirects=True)
    assert "already been decided" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(db.func.count()).select_from(FastTrackApproval)).scalar() == 1


def test_rejecting_a_review_item_needs_a_reason_and_grants_nothing(app, admin_client, seed):
    with app.app_context():
        payment = seed.payment(status="pending")
        item = seed.review(payment, reason="amount_mismatch")
        db.session.commit()
        item_id, payment_id, enrollment_id = item.id, payment.id, payment.enrollment_id
    blank = admin_client.post(f"/admin/manual-review/{item_id}/reject", data={"reason": " "},
                              follow_redirects=True)
    assert "Say why" in blank.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ManualIntervention, item_id).status == "open"

    admin_client.post(f"/admin/manual-review/{item_id}/reject", data={"reason": "amount does not match"})
    with app.app_context():
        assert db.session.get(ManualIntervention, item_id).status == "rejected"
        assert db.session.get(Payment, payment_id).status == "failed"
        assert db.session.get(Enrollment, enrollment_id).status == "pending_payment"
    assert admin_actions(app) == [("manual_review_rejected", ADMIN_EMAIL, f"manual_intervention:{item_id}",
                                   "amount does not match")]


def test_an_item_without_a_payment_can_only_be_rejected(app, admin_client, seed):
    with app.app_context():
        item = seed.review(None, reason="unknown_paylink", paylink_id="PL-NOBODY")
        db.session.commit()
        item_id = item.id
    page = admin_client.get("/admin/manual-review").get_data(as_text=True)
    assert f"/admin/manual-review/{item_id}/reject" in page
    assert f"/admin/manual-review/{item_id}/approve" not in page
    refused = admin_client.post(f"/admin/manual-review/{item_id}/approve", data={"reason": "try it"},
                                follow_redirects=True)
    assert "no payment to approve" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ManualIntervention, item_id).status == "open"


def test_resolving_an_alert_records_who_and_why(app, admin_client, seed):
    with app.app_context():
        alert = seed.alert(severity="critical", message="approval_processing took 9000 ms")
        db.session.commit()
        alert_id = alert.id
    assert "approval_processing took 9000 ms" in admin_client.get("/admin/alerts").get_data(as_text=True)
    response = admin_client.post(f"/admin/alerts/{alert_id}/resolve", data={"reason": "database failover done"},
                                 follow_redirects=True)
    assert f"Alert {alert_id} resolved." in response.get_data(as_text=True)
    with app.app_context():
        resolved = db.session.get(CardPaymentAlert, alert_id)
        assert resolved.resolved is True and resolved.resolved_by == ADMIN_EMAIL
    assert admin_actions(app) == [("alert_resolved", ADMIN_EMAIL, f"alert:{alert_id}", "database failover done")]
    again = admin_client.post(f"/admin/alerts/{alert_id}/resolve", data={"reason": "again"}, follow_redirects=True)
    assert "not open any more" in again.get_data(as_text=True)


def test_revoking_access_turns_the_enrollment_off(app, admin_client, seed):
    with app.app_context():
        payment = seed.payment(status="succeeded", email="refund@example.com")
        db.session.commit()
        payment_id, enrollment_id = payment.id, payment.enrollment_id
    detail = admin_client.get(f"/admin/payments/{payment_id}").get_data(as_text=True)
    assert "Revoke access" in detail and "refund@example.com" in detail
    response = admin_client.post(f"/admin/payments/{payment_id}/revoke", data={"reason": "refunded on request"},
                                 follow_redirects=True)
    assert "Tick the box to confirm" in response.get_data(as_text=True)  # the confirmation page again
    with app.app_context():
        assert db.session.get(Enrollment, enrollment_id).status == "active"
    response = admin_client.post(f"/admin/payments/{payment_id}/revoke",
                                 data={"reason": "refunded on request", "confirm": "y"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Access revoked for refund@example.com" in page and 'id="enrollment-status">Revoked' in page
    with app.app_context():
        assert db.session.get(Enrollment, enrollment_id).status == "revoked"
        assert db.session.get(Payment, payment_id).status == "succeeded"
    assert admin_actions(app) == [("access_revoked", ADMIN_EMAIL, f"payment:{payment_id}", "refunded on request")]


def test_payments_search_by_email_paylink_and_reference(app, admin_client, seed):
    with app.app_context():
        first = seed.payment(email="sipho@example.com", paylink_id="PLSIPHO1")
        seed.payment(email="lerato@example.com", paylink_id="PLLERATO")
        db.session.commit()
        reference = first.external_transaction_id
    for query in ("SIPHO@example", "plsipho1", reference):
        page = admin_client.get("/admin/payments", query_string={"q": query}).get_data(as_text=True)
        assert "sipho@example.com" in page and "lerato@example.com" not in page, query
    api = admin_client.get("/admin/api/payments", query_string={"q": "lerato"}).get_json()
    assert [p["learner_email"] for p in api["payments"]] == ["lerato@example.com"]
    assert api["payments"][0]["enrollment_status"] == "active"


def test_audit_log_filters_by_actor_action_and_target(app, admin_client, seed):
    with app.app_context():
        alert = seed.alert()
        db.session.commit()
        alert_id = alert.id
    admin_client.post(f"/admin/alerts/{alert_id}/resolve", data={"reason": "noise from a test"})
    page = admin_client.get("/admin/audit-log", query_string={"action": "admin_action"}).get_data(as_text=True)
    rows = page.split("<tbody>")[1]
    assert "noise from a test" in rows and "Alert resolved" in rows and "Admin login" not in rows
    by_target = admin_client.get("/admin/api/audit-logs", query_string={"target": f"alert:{alert_id}"}).get_json()
    assert [e["reason"] for e in by_target["entries"]] == ["noise from a test"]
    logins = admin_client.get("/admin/api/audit-logs", query_string={"actor": "ops@"}).get_json()
    assert "admin_login" in {e["action"] for e in logins["entries"]}
    nobody = admin_client.get("/admin/api/audit-logs", query_string={"actor": "mallory"}).get_json()
    assert nobody["entries"] == []
