"""What the callback path tells the rest of cardpay: the SPEC §6 signals, sent after the commit."""

from contextlib import ExitStack

from cardpay import signals
from cardpay.core.extensions import db
from tests.callbacks.callback_helpers import post

WATCHED = (signals.callback_received, signals.callback_rejected, signals.approval_granted,
           signals.payment_succeeded, signals.stage_timed, signals.request_finished,
           signals.manual_intervention_required, signals.approval_failed)


def listen(app, heard):
    """Subscribe a recorder of (signal name, kwargs) to every watched signal."""
    stack = ExitStack()
    for signal in WATCHED:
        def receiver(sender, _name=signal.name, **kwargs):
            heard.append((_name, kwargs))
        stack.enter_context(signal.connected_to(receiver, sender=app))
    return stack


def test_success_sends_received_approval_and_stage_timing(app, client, payment, success_for):
    heard = []
    with listen(app, heard):
        post(client, *success_for(payment))
    names = [name for name, _ in heard]
    assert {"callback-received", "approval-granted", "payment-succeeded", "stage-timed",
            "request-finished"} <= set(names)
    received = dict(heard)["callback-received"]
    assert (received["paylink_id"], received["status"], received["outcome"]) == (payment.paylink_id, "SUCCESS",
                                                                                    "processed")
    [webhook] = [kw for name, kw in heard if name == "stage-timed" and kw["operation"] == "webhook_processing"]
    assert webhook["payment_id"] == payment.id and webhook["success"] and webhook["duration_ms"] >= 0
    finished = dict(heard)["request-finished"]
    assert (finished["endpoint"], finished["status_code"], finished["internal_error"]) == ("callback", 200, False)


def test_duplicate_is_announced_as_duplicate_without_a_second_approval(app, client, payment, success_for):
    body, headers = success_for(payment)
    post(client, body, headers)
    heard = []
    with listen(app, heard):
        post(client, body, headers)
    assert [kw["outcome"] for name, kw in heard if name == "callback-received"] == ["duplicate"]
    assert "approval-granted" not in [name for name, _ in heard]


def test_rejection_sends_callback_rejected_with_reason_and_address(app, client, payment, success_for):
    body, headers = success_for(payment, secret="forged")
    heard = []
    with listen(app, heard):
        post(client, body, headers)
    [rejected] = [kw for name, kw in heard if name == "callback-rejected"]
    assert (rejected["reason"], rejected["http_status"], rejected["remote_ip"]) == ("invalid_signature", 401,
                                                                                    "127.0.0.1")
    assert rejected["paylink_id"] == payment.paylink_id and rejected["event_id"]
    assert "callback-received" not in [name for name, _ in heard]


def test_events_go_out_after_the_approval_is_committed(app, client, payment, success_for):
    states = []

    def check_committed(sender, **kwargs):
        # Another connection already sees the approval: the signal was sent after the commit.
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"SELECT status FROM payments WHERE id = {int(kwargs['payment_id'])}")
            states.append(cursor.fetchone()[0])
            raw.rollback()
        finally:
            raw.close()

    with signals.approval_granted.connected_to(check_committed, sender=app):
        post(client, *success_for(payment))
    assert states == ["succeeded"]
