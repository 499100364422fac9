"""Outbound webhook signatures verify with the reference Standard Webhooks implementation."""

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cardpay.core import standard_webhooks as sw

SECRET = "whsec_" + base64.b64encode(b"cardpay-test-key-0123456789abcdef").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-key-entirely-0123456789").decode()
BODY = json.dumps({"type": "payment.succeeded", "data": {"amount_cents": 49900}}).encode()


def _signed(secret=SECRET, body=BODY):
    return sw.headers(secret, sw.new_message_id(), int(time.time()), body)


def test_correct_signature_verifies():
    hdrs = _signed()
    assert Webhook(SECRET).verify(BODY, hdrs) == json.loads(BODY)


def test_signature_format():
    sig = sw.sign(SECRET, "msg_1", 1700000000, b"{}")
    assert sig.startswith("v1,")
    assert len(base64.b64decode(sig[3:])) == 32


def test_sign_accepts_parsed_key_bytes():
    key = sw.parse_secret(SECRET)
    assert sw.sign(key, "msg_1", 1700000000, b"{}") == sw.sign(SECRET, "msg_1", 1700000000, b"{}")


def test_tampered_body_fails():
    hdrs = _signed()
    tampered = BODY.replace(b"49900", b"1")
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, hdrs)


def test_wrong_secret_fails():
    hdrs = _signed(secret=OTHER_SECRET)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, hdrs)


def test_headers_carry_id_and_timestamp():
    hdrs = sw.headers(SECRET, "msg_abc", 1700000000, BODY)
    assert hdrs["webhook-id"] == "msg_abc"
    assert hdrs["webhook-timestamp"] == "1700000000"


@pytest.mark.parametrize(
    "value",
    ["", "secret", "whsec_", "whsec_not base64!!", "whsec_c2hvcnQ=", "wh_" + SECRET[6:], None, b"whsec_abc"],
)
def test_malformed_secret_refused(value):
    with pytest.raises(ValueError):
        sw.parse_secret(value)


def test_parse_secret_returns_key_bytes():
    assert sw.parse_secret(SECRET) == b"cardpay-test-key-0123456789abcdef"


def test_new_message_ids_are_unique_and_prefixed():
    ids = {sw.new_message_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(i.startswith("msg_") and len(i) > 20 for i in ids)
