"""Stale-payment reconciliation against the sandbox gateway over real HTTP.

A payment whose callback never came is settled by getStatus: SUCCESS grants access, FAILURE fails
it, and a gateway that is down leaves it pending for the next check, never failed.
"""

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.ikhokha.client import IkhokhaClient
from cardpay.ikhokha.sandbox import create_sandbox_app, state_of
from cardpay.jobs import guard, timetable
from cardpay.models import FastTrackApproval, JobRun, ManualIntervention, Payment
from cardpay.payments import reconciliation
from tests import factory_helpers
from tests.conftest import TEST_API_SECRET, TEST_APP_ID, LiveServer

SILENT_SUCCESS_CARD = "4000000000000077"  # the sandbox charges it and sends no callback


@pytest.fixture
def gateway():
    """The sandbox gateway on its own loopback port, as iKhokha would be."""
    sandbox = create_sandbox_app(TEST_APP_ID, TEST_API_SECRET)
    server = LiveServer(sandbox).start()
    yield sandbox, server
    state_of(sandbox).stopping.set()
    server.stop()


@pytest.fixture
def make_payment(app_factory, gateway):
    """Return (app, new_payment) where new_payment(age_minutes) makes a real paylink and a pending payment."""
    _, server = gateway
    app = app_factory(IKHOKHA_API_URL=f"{server.url}/sandbox/ikhokha/api", STALE_PAYMENT_MAX_CHECKS=3)
    made = []

    def new_payment(age_minutes=20):
        number = len(made) + 1
        with app.app_context():
            reference = f"cp_reconcile_{number}"
            answer = IkhokhaClient.from_config(app.config).create_payment({
                "amount": 49900, "currency": "ZAR", "externalTransactionID": reference, "mode": "live",
                "description": "Python 101", "urls": {"callbackUrl": "http://127.0.0.1:9/never",
                                                      "successPageUrl": "http://127.0.0.1:9/done"}})
            payment = factory_helpers.make_payment(n=number, paylink_id=answer["paylinkID"], external_id=reference,
                                             token=f"tok-{number}")
            # Backdated after the fact: staleness is judged by when the paylink was made.
            payment.created_at = payment.paylink_created_at = clock.now() - timedelta(minutes=age_minutes)
            db.session.commit()
            made.append(payment.id)
            return payment.id, answer["paylinkID"]

    return app, new_payment


def _payment(app, payment_id):
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        return {"status": payment.status, "enrollment": payment.enrollment.status,
                "checks": payment.status_check_attempts, "method": payment.detection_method}


def _reconcile(app):
    with app.app_context():
        return reconciliation.reconcile_stale()


def _pay_silently(server, paylink_id):
    response = requests.post(f"{server.url}/sandbox/ikhokha/pay/{paylink_id}", allow_redirects=False, timeout=5,
                             data={"card_number": SILENT_SUCCESS_CARD, "expiry": "12/40", "cvv": "123"})
    assert response.status_code == 303


def test_pending_payment_that_succeeded_is_approved_by_the_job(make_payment, gateway):
    sandbox, server = gateway
    app, new_payment = make_payment
    payment_id, paylink_id = new_payment()
    _pay_silently(server, paylink_id)

    assert guard.run_once(app, timetable.JOBS_BY_NAME["stale_payment_reconciliation"], "scheduler-a") == "succeeded"

    assert _payment(app, payment_id) == {"status": "succeeded", "enrollment": "active", "checks": 1,
                                         "method": "status_poll"}
    with app.app_context():
        approval = db.session.execute(select(FastTrackApproval)).scalar_one()
        assert (approval.method, approval.outcome) == ("status_poll", "approved")
        run = db.session.execute(select(JobRun)).scalar_one()
        assert run.result == {"approved": 1}
    assert state_of(sandbox).get(paylink_id).lookups == 1


def test_pending_payment_that_failed_is_failed_without_access(make_payment, gateway):
    sandbox, _ = gateway
    app, new_payment = make_payment
    payment_id, paylink_id = new_payment()
    state_of(sandbox).charge(paylink_id, "FAILURE", "0002")  # declined; its callback never reached us

    assert _reconcile(app) == {"failed": 1}
    assert _payment(app, payment_id) == {"status": "failed", "enrollment": "pending_payment", "checks": 1,
                                         "method": "status_poll"}
    with app.app_context():
        assert db.session.execute(select(FastTrackApproval)).first() is None


def test_only_stale_payments_are_checked_and_each_once_per_interval(make_payment, gateway):
    sandbox, _ = gateway
    app, new_payment = make_payment
    stale_id, stale_paylink = new_payment(age_minutes=20)
    _, fresh_paylink = new_payment(age_minutes=5)

    assert _reconcile(app) == {"pending": 1}
    assert _reconcile(app) == {}  # checked a moment ago: not again yet
    assert state_of(sandbox).get(stale_paylink).lookups == 1
    assert state_of(sandbox).get(fresh_paylink).lookups == 0
    assert _payment(app, stale_id)["status"] == "pending"


def test_gateway_down_leaves_payment_pending_and_it_is_retried_later(make_payment, gateway):
    sandbox, server = gateway
    app, new_payment = make_payment
    payment_id, paylink_id = new_payment()
    _pay_silently(server, paylink_id)
    server.stop()  # iKhokha goes away

    assert _reconcile(app) == {"gateway_unavailable": 1}
    assert _payment(app, payment_id) == {"status": "pending", "enrollment": "pending_payment", "checks": 1,
                                         "method": None}

    back = LiveServer(sandbox, port=server.port).start()  # iKhokha is back
    try:
        clock.advance(minutes=16)
        assert _reconcile(app) == {"approved": 1}
    finally:
        back.stop()
    assert _payment(app, payment_id) == {"status": "succeeded", "enrollment": "active", "checks": 2,
                                         "method": "status_poll"}


def test_unresolved_payment_goes_to_manual_review_never_failed(make_payment, gateway):
    _, server = gateway
    app, new_payment = make_payment
    payment_id, _ = new_payment()
    server.stop()

    outcomes = []
    for _ in range(3):  # STALE_PAYMENT_MAX_CHECKS=3
        outcomes.append(_reconcile(app))
        clock.advance(minutes=16)
    assert outcomes == [{"gateway_unavailable": 1}, {"gateway_unavailable": 1}, {"manual_review": 1}]
    assert _payment(app, payment_id)["status"] == "manual_review"
    with app.app_context():
        item = db.session.execute(select(ManualIntervention)).scalar_one()
        assert (item.payment_id, item.reason, item.status) == (payment_id, "status_unresolved", "open")
        assert item.details["checks"] == 3 and item.details["last_answer"] == "gateway_unavailable"
    assert _reconcile(app) == {}  # a person has it now

