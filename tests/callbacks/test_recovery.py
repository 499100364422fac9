"""A verified callback is never lost: a crash after recording, or a database that is down, ends in a retry."""

import pytest

from cardpay.callbacks import one_statement
from cardpay.payments import approvals
from tests.callbacks.callback_helpers import MAIN_PATH, Seen, post
from tests.conftest import free_port


@pytest.fixture
def crashes(monkeypatch):
    """Make the approval rules raise the first N times they are asked (the process dies mid-approval)."""
    real = approvals.apply_success
    left = []

    def flaky(*args, **kwargs):
        if left:
            left.pop()
            raise RuntimeError("worker killed between recording and approving")
        return real(*args, **kwargs)

    def arm(times):
        left.extend([1] * times)

    monkeypatch.setattr(approvals, "apply_success", flaky)
    # The crash is injected into the general path's approval; PostgreSQL's one statement cannot
    # half-happen (tests/callbacks/test_fast_path.py covers it failing).
    monkeypatch.setattr(one_statement, "applies", lambda verified: False)
    return arm


@pytest.fixture
def crash_once(crashes):
    """Make the approval rules raise once."""
    crashes(1)


def _crashed(client, seen, payment, body, headers):
    response = post(client, body, headers)
    assert response.status_code == 503
    assert response.get_json()["error"] == "processing_failed"
    [event] = seen.events()
    assert (event.processing_status, event.http_status) == ("failed", 503)
    assert "RuntimeError" in event.error
    # Nothing half-written: the payment and the learner's access are as they were.
    assert seen.payment(payment.id) == ("pending", "pending_payment") and seen.approvals() == []
    return event


def test_redelivery_after_a_crash_processes_the_recorded_callback(client, seen, payment, success_for, crash_once):
    body, headers = success_for(payment)
    original = _crashed(client, seen, payment, body, headers)
    response = post(client, body, headers)
    assert response.status_code == 200 and response.get_json()["outcome"] == "processed"
    assert seen.payment(payment.id) == ("succeeded", "active")
    assert len(seen.approvals(payment.id)) == 1
    first, again = seen.events()
    assert (first.id, first.processing_status, first.payment_id) == (original.id, "processed", payment.id)
    assert again.duplicate_of_id == original.id
    assert post(client, body, headers).get_json()["outcome"] == "duplicate"
    assert len(seen.approvals(payment.id)) == 1
    assert [row.reason for row in seen.audit("approval_failed")] == ["processing failed: RuntimeError"]


def test_redelivery_that_fails_again_is_answered_503_and_recorded_so(client, runner, seen, payment, success_for,
                                                                      crashes):
    crashes(2)
    body, headers = success_for(payment)
    original = _crashed(client, seen, payment, body, headers)
    again = post(client, body, headers)
    assert again.status_code == 503 and again.get_json()["error"] == "processing_failed"
    first, duplicate = seen.events()
    assert (first.processing_status, duplicate.http_status, duplicate.duplicate_of_id) == ("failed", 503, original.id)
    assert "processed 1 of 1" in runner.invoke(args=["cardpay", "replay", "--failed"]).output
    assert seen.payment(payment.id) == ("succeeded", "active") and len(seen.approvals()) == 1


def test_replay_failed_recovers_a_crash_once(client, runner, seen, payment, success_for, crash_once):
    body, headers = success_for(payment)
    event = _crashed(client, seen, payment, body, headers)
    result = runner.invoke(args=["cardpay", "replay", "--failed"])
    assert result.exit_code == 0, result.output
    assert f"delivery {event.id}: processed" in result.output
    assert "processed 1 of 1" in result.output
    assert seen.payment(payment.id) == ("succeeded", "active")
    again = runner.invoke(args=["cardpay", "replay", "--failed"])
    assert "processed 0 of 0" in again.output
    assert len(seen.approvals(payment.id)) == 1
    assert post(client, body, headers).get_json()["outcome"] == "duplicate"


def test_replay_by_ids_reports_what_it_did_with_each(client, runner, seen, make_payment, success_for,
                                                    signed_callback, crash_once):
    # Our reference contains a card-like run, so the stored body has it masked; replay still matches it.
    payment = make_payment(external_id="cp_4242424242424242abcdef")
    _crashed(client, seen, payment, *success_for(payment))
    assert "[card ****4242]" in seen.events()[0].body
    post(client, *signed_callback({"paylinkID": "x"}, secret="forged"))
    processed, forged = seen.events()
    result = runner.invoke(args=["cardpay", "replay", "--ids", f"{processed.id},{forged.id},999"])
    assert result.exit_code == 0, result.output
    assert f"delivery {forged.id}: skipped: not a verified first delivery" in result.output
    assert "delivery 999: not found" in result.output
    assert "processed 1 of 3" in result.output
    assert seen.payment(payment.id) == ("succeeded", "active") and seen.interventions() == []


def test_replay_needs_to_be_told_which_deliveries(runner):
    result = runner.invoke(args=["cardpay", "replay"])
    assert result.exit_code == 2 and "--ids" in result.output
    assert runner.invoke(args=["cardpay", "replay", "--ids", "one,two"]).exit_code == 2


def test_database_down_answers_503_json_and_writes_nothing(app_factory, seen, payment, success_for,
                                                            is_postgres, tmp_path):
    down = (f"postgresql://postgres@127.0.0.1:{free_port()}/cardpay" if is_postgres
            else f"sqlite:///{tmp_path}/missing-dir/cardpay.sqlite3")
    app = app_factory(DATABASE_URL=down)
    body, headers = success_for(payment)
    response = app.test_client().post(MAIN_PATH, data=body, headers=headers)
    assert response.status_code == 503
    assert response.get_json()["error"] == "service_unavailable"
    assert response.headers["Retry-After"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert seen.events() == [] and seen.payment(payment.id) == ("pending", "pending_payment")
    # A refused callback is still refused (4xx), not turned into a retry.
    forged = app.test_client().post(MAIN_PATH, data=body, headers={**headers, "IK-SIGN": "0" * 64})
    assert forged.status_code == 401
    assert Seen(app_factory()).events() == []


@pytest.fixture
def broken_monitoring(app):
    """A receiver whose row cannot be inserted, so the commit of a callback's monitoring rows fails."""
    from cardpay import signals
    from cardpay.core.extensions import db
    from cardpay.models import CardPaymentMetric

    def bad_row(sender, **_):
        db.session.add(CardPaymentMetric(metric_name=None, value=1.0, labels={}, timestamp=None))

    with signals.request_finished.connected_to(bad_row, sender=app):
        yield


def test_a_refusal_or_a_copy_is_recorded_even_when_its_monitoring_rows_cannot_be(
        client, seen, payment, success_for, broken_monitoring):
    from cardpay.core import events

    body, headers = success_for(payment)
    assert post(client, body, headers).status_code == 200  # the payment commits before any monitoring
    failed_before = events.failures["commits"]
    copy = post(client, body, headers)
    forged = post(client, body, {**headers, "IK-SIGN": "0" * 64})
    assert (copy.status_code, copy.get_json()["outcome"], forged.status_code) == (200, "duplicate", 401)
    assert events.failures["commits"] == failed_before + 2
    original, duplicate, refused = seen.events()
    assert (original.processing_status, duplicate.duplicate_of_id, refused.verdict) == (
        "processed", original.id, "invalid_signature")
    assert seen.payment(payment.id) == ("succeeded", "active") and len(seen.approvals()) == 1


def test_a_copy_that_takes_the_key_while_a_crash_rolls_back_leaves_this_delivery_a_503_duplicate(
        app, client, seen, payment, success_for, crash_once, monkeypatch):
    """The rollback of a failed processing releases the delivery key; a copy may record itself first."""
    from sqlalchemy import insert

    from cardpay.callbacks import records
    from cardpay.core import clock
    from cardpay.core.extensions import db
    from cardpay.models import WebhookEvent

    real_record_failed = records.record_failed

    def copy_arrives_meanwhile(*args):
        with db.engine.begin() as other:  # another worker's transaction, committed in between
            other.execute(insert(WebhookEvent).values(
                received_at=clock.now(), path=MAIN_PATH, headers={}, body="{}", body_size=2, verdict="accepted",
                paylink_id=payment.paylink_id, callback_status="SUCCESS", signature_valid=True,
                delivery_key=f"{payment.paylink_id}:SUCCESS", processing_status="received"))
        return real_record_failed(*args)

    monkeypatch.setattr(records, "record_failed", copy_arrives_meanwhile)
    body, headers = success_for(payment)
    response = post(client, body, headers)
    assert response.status_code == 503 and response.get_json()["error"] == "processing_failed"
    copy, ours = seen.events()
    assert (ours.processing_status, ours.http_status, ours.duplicate_of_id) == ("duplicate", 503, copy.id)
    assert seen.payment(payment.id) == ("pending", "pending_payment") and seen.approvals() == []
    # The copy's record is unfinished, so the gateway's next delivery finishes it.
    assert post(client, body, headers).get_json()["outcome"] == "processed"
    assert seen.payment(payment.id) == ("succeeded", "active") and len(seen.approvals()) == 1


def test_replay_reads_a_repeated_key_as_live_processing_did_the_last_one(client, runner, seen, payment,
                                                                        signed_callback, crash_once):
    """JSON parsing keeps the last of duplicate keys; replay must read the stored body the same way."""
    body = ('{"paylinkID": "%s", "status": "SUCCESS", "externalTransactionID": "cp_someone_else", '
            '"externalTransactionID": "%s"}' % (payment.paylink_id, payment.external_id)).encode()
    body, headers = signed_callback(body)
    event = _crashed(client, seen, payment, body, headers)
    result = runner.invoke(args=["cardpay", "replay", "--ids", str(event.id)])
    assert f"delivery {event.id}: processed" in result.output, result.output
    assert seen.payment(payment.id) == ("succeeded", "active")
