"""The approval rules: exactly one approval, failures never grant access, odd cases go to review."""

import pytest

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import FastTrackApproval, ManualIntervention, Payment
from cardpay.payments import approvals
from tests import factory_helpers


@pytest.fixture
def payment(app):
    with app.app_context():
        return factory_helpers.make_payment("pending").id


def _load(payment_id):
    return db.session.get(Payment, payment_id)


def test_success_grants_access_once_and_second_success_changes_nothing(app, payment):
    with app.app_context():
        first = approvals.apply_success(_load(payment), "fast_track")
        db.session.commit()
        second = approvals.apply_success(_load(payment), "fast_track")
        db.session.commit()
        assert (first.outcome, second.outcome) == ("approved", "already_approved")
        assert db.session.query(FastTrackApproval).count() == 1
        assert _load(payment).enrollment.status == "active"
        assert {signal.name for signal, _ in first.events} >= {"payment-succeeded", "approval-granted"}
        assert second.events == []


def test_failure_keeps_enrollment_pending_and_writes_no_approval(app, payment):
    with app.app_context():
        decision = approvals.apply_failure(_load(payment), "fast_track", "declined")
        db.session.commit()
        assert decision.outcome == "failed"
        assert _load(payment).enrollment.status == "pending_payment"
        assert db.session.query(FastTrackApproval).count() == 0


def test_success_after_failure_is_a_retry_that_grants_access(app, payment):
    with app.app_context():
        approvals.apply_failure(_load(payment), "fast_track")
        db.session.commit()
        assert approvals.apply_success(_load(payment), "fast_track").outcome == "approved"


def test_failure_after_success_goes_to_review_and_keeps_access(app, payment):
    with app.app_context():
        approvals.apply_success(_load(payment), "fast_track")
        db.session.commit()
        decision = approvals.apply_failure(_load(payment), "fast_track")
        db.session.commit()
        assert decision.outcome == "manual_review"
        assert _load(payment).status == "succeeded"
        assert _load(payment).enrollment.status == "active"
        assert db.session.query(ManualIntervention).one().reason == "failure_after_success"


def test_fast_track_off_sends_paid_enrollment_to_review_and_manual_approval_grants(app_factory, payment):
    app = app_factory(ENABLE_CARD_PAYMENT_FAST_TRACK=False)
    with app.app_context():
        decision = approvals.apply_success(_load(payment), "fast_track")
        db.session.commit()
        assert decision.outcome == "manual_review"
        assert _load(payment).enrollment.status == "pending_payment"
        clock.advance(seconds=1)
        manual = approvals.approve_manual_review(decision.intervention, "ops@example.com", "checked the bank")
        db.session.commit()
        assert manual.outcome == "approved"
        assert _load(payment).enrollment.status == "active"
        assert db.session.query(FastTrackApproval).one().method == "manual"
        assert db.session.get(ManualIntervention, decision.intervention.id).status == "approved"


def test_review_item_without_a_payment_cannot_be_approved_and_stays_open(app):
    with app.app_context():
        decision = approvals.send_to_manual_review("unknown_paylink", paylink_id="PL-NOBODY")
        db.session.commit()
        result = approvals.approve_manual_review(decision.intervention, "ops@example.com", "looks fine")
        db.session.commit()
        assert result.outcome == "not_approvable"
        assert db.session.get(ManualIntervention, decision.intervention.id).status == "open"
