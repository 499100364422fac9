"""The same callback delivered many times at once, over real HTTP: one approval, every delivery a 200."""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.callbacks.callback_helpers import MAIN_PATH, Seen

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
