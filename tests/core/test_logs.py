"""Logs are JSON, redacted, and shipped in batches without ever blocking the caller."""

import json
import logging

import pytest

from cardpay import signals
from cardpay.core import events, redaction
from tests.receiver_helpers import HttpReceiver, wait_for


def shipped(receiver):
    return [record for batch in receiver.bodies for record in batch]


def test_logs_are_shipped_in_json_batches_with_secrets_and_card_numbers_redacted(app_factory):
    receiver = HttpReceiver().start()
    try:
        app = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url, IKHOKHA_API_SECRET="s3cr3t-value-for-the-api")
        log = logging.getLogger("cardpay.test")
        with app.test_request_context("/webhooks/ikhokha"):
            app.preprocess_request()  # assigns the request id
            log.warning("card 4242 4242 4242 4242 declined; IK-SIGN: abcdef0123 password=hunter2hunter2 "
                        "secret s3cr3t-value-for-the-api", extra={"cardpay": {"api_key": "k-123", "amount": 100,
                                                                               "pan": 4000000000000002}})
        assert wait_for(lambda: len(shipped(receiver)) >= 1)
        (record,) = [r for r in shipped(receiver) if r["logger"] == "cardpay.test"]
        text = json.dumps(record)
        for leaked in ("4242 4242", "abcdef0123", "hunter2", "s3cr3t-value", "k-123", "4000000000000002"):
            assert leaked not in text
        assert "[card ****4242]" in record["message"] and "IK-SIGN: [redacted]" in record["message"]
        assert record["amount"] == 100 and record["pan"] == "[card ****0002]"
        assert record["request_id"] and record["path"] == "/webhooks/ikhokha" and record["time"].endswith("Z")
    finally:
        receiver.stop()
        app_factory()  # an app without LOG_AGGREGATION_ENDPOINT removes the shipping handler


def test_detailed_logging_and_log_level_are_honoured(app_factory):
    receiver = HttpReceiver().start()
    try:
        app = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url, ENABLE_DETAILED_CARD_PAYMENT_LOGGING=True)
        with app.app_context():
            events.publish(signals.payment_failed, payment_id=1, reason="declined")
        assert wait_for(lambda: any(r.get("event") == "payment-failed" for r in shipped(receiver)))

        quiet = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url, CARD_PAYMENT_LOG_LEVEL="warning",
                            ENABLE_DETAILED_CARD_PAYMENT_LOGGING=True)
        before = len(shipped(receiver))
        with quiet.app_context():
            events.publish(signals.payment_failed, payment_id=2, reason="declined")
            logging.getLogger("cardpay.test").warning("a warning still goes out")
        assert wait_for(lambda: any(r["message"] == "a warning still goes out" for r in shipped(receiver)))
        assert not any(r.get("payment_id") == 2 for r in shipped(receiver)[before:])
    finally:
        receiver.stop()
        app_factory()  # an app without LOG_AGGREGATION_ENDPOINT removes the shipping handler


def test_detailed_logging_off_logs_no_event_lines(app_factory):
    receiver = HttpReceiver().start()
    try:
        app = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url)
        with app.app_context():
            events.publish(signals.payment_failed, payment_id=3, reason="declined")
            logging.getLogger("cardpay.test").warning("marker")
        assert wait_for(lambda: any(r["message"] == "marker" for r in shipped(receiver)))
        assert not any(r.get("event") for r in shipped(receiver))
    finally:
        receiver.stop()
        app_factory()  # an app without LOG_AGGREGATION_ENDPOINT removes the shipping handler


@pytest.mark.parametrize("line, expected", [
    ("IK-SIGN: abc123", "IK-SIGN: [redacted]"),
    ("password=hunter2 and more", "password=[redacted] and more"),
    ('{"api_key": "k-123", "ok": 1}', '{"api_key": "[redacted]", "ok": 1}'),
    ("x_api_key=abc;next", "x_api_key=[redacted];next"),
    ("my-secret-token = zzz", "my-secret-token = [redacted]"),
    ("callback rejected: invalid_signature (HTTP 401) from 10.0.0.1", "callback rejected: invalid_signature (HTTP 401) "
                                                                     "from 10.0.0.1"),
    ("card 4111 1111 1111 1111 paid", "card [card ****1111] paid"),
    ("nothing to hide here", "nothing to hide here"),
])
def test_log_text_is_redacted_by_key_and_card_shape(line, expected):
    assert redaction.redact(line) == expected
