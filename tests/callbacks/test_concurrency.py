"""Racing deliveries: the same callback many times at once over real HTTP (one approval, every delivery
a 200), and a second payment of an enrollment reported while its first is being granted (one grant)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import select

from cardpay.core import ids
from cardpay.core.extensions import db
from cardpay.models import AlertDelivery, Payment
from cardpay.payments import approvals
from tests.callbacks.callback_helpers import MAIN_PATH, Seen, post

COPIES = 16


def _post_all_at_once(url, body, headers, copies=COPIES):
    barrier = threading.Barrier(copies)

    def send(_):
        with requests.Session() as session:
            barrier.wait(timeout=10)
            return session.post(url, data=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=copies) as pool:
        return list(pool.map(send, range(copies)))


def test_sixteen_simultaneous_deliveries_give_one_approval_and_all_200(live_app, make_payment, success_for):
    app, server = live_app()
    payment = make_payment()
    body, headers = success_for(payment)
    responses = _post_all_at_once(server.url + MAIN_PATH, body, headers)
    assert [r.status_code for r in responses] == [200] * COPIES
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["duplicate"] * (COPIES - 1) + ["processed"]
    seen = Seen(app)
    assert seen.payment(payment.id) == ("succeeded", "active")
    assert len(seen.approvals(payment.id)) == 1
    events = seen.events()
    assert len(events) == COPIES
    [original] = [e for e in events if e.delivery_key]
    assert original.processing_status == "processed"
    assert all(e.duplicate_of_id == original.id for e in events if e is not original)
    assert len(seen.audit("approval_granted")) == 1


def test_simultaneous_success_and_failure_for_one_paylink_never_leave_two_outcomes(
        live_app, make_payment, success_for):
    app, server = live_app()
    payment = make_payment()
    success, failure = success_for(payment), success_for(payment, status="FAILURE")
    barrier = threading.Barrier(8)

    def send(index):
        body, headers = success if index % 2 else failure
        barrier.wait(timeout=10)
        return requests.post(server.url + MAIN_PATH, data=body, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(send, range(8))) == [200] * 8
    seen = Seen(app)
    status, enrollment = seen.payment(payment.id)
    approvals = seen.approvals(payment.id)
    # Either the decline came first and the success is a retry (access), or the success came first and
    # the late FAILURE waits for a person; never two approvals, never a failed payment with access.
    assert len(approvals) == 1 and (status, enrollment) == ("succeeded", "active")
    assert len([e for e in seen.events() if e.delivery_key]) == 2
    assert len(seen.interventions()) <= 1


@pytest.mark.postgres_only
def test_a_second_payment_paid_while_the_first_is_being_granted_goes_to_review_not_to_a_second_grant(
        app, make_payment, success_for):
    # The first payment of an enrollment is being granted (a status poll, not yet committed) when iKhokha
    # reports a second payment of the same enrollment as paid. The callback must wait for that grant and
    # then see the access it gave: one grant, one receipt, and the second payment is a refund candidate.
    first = make_payment()
    with app.app_context():
        second = Payment(token=ids.payment_token(), external_transaction_id="cp_second_payment",
                         paylink_id="PL-SECOND", enrollment_id=first.enrollment_id, amount_cents=49900, status="pending")
        db.session.add(second)
        db.session.commit()
        second = SimpleNamespace(id=second.id, paylink_id=second.paylink_id, external_id="cp_second_payment")
    answers = []
    with app.app_context():
        granted = approvals.apply_success(db.session.get(Payment, first.id), "status_poll")
        assert granted.outcome == "approved"  # not committed yet: the enrollment's row stays locked
        callback = threading.Thread(target=lambda: answers.append(post(app.test_client(), *success_for(second))))
        callback.start()
        callback.join(timeout=1.0)
        assert callback.is_alive(), "the callback did not wait for the grant in progress"
        db.session.commit()
    callback.join(timeout=30)
    assert answers[0].status_code == 200 and answers[0].get_json()["outcome"] == "manual_review"
    seen = Seen(app)
    assert seen.payment(first.id) == ("succeeded", "active") and seen.payment(second.id)[0] == "manual_review"
    assert [a.payment_id for a in seen.approvals()] == [first.id]
    assert [(i.reason, i.payment_id) for i in seen.interventions()] == [(approvals.DUPLICATE_PAYMENT, second.id)]
    with app.app_context():
        receipts = db.session.execute(select(AlertDelivery.payload).where(AlertDelivery.channel == "learner_email")).all()
    assert [payload["payment_id"] for (payload,) in receipts] == [first.id]
