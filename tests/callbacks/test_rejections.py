"""Refused callbacks: each a 4xx with a JSON reason, a webhook_events row, an audit entry, and no access."""

import json
from datetime import timedelta

import pytest

from cardpay.core import clock
from cardpay.ikhokha import signing
from tests.callbacks.callback_helpers import LEGACY_PATH, MAIN_PATH, Seen, post


def _payload(payment, **changes):
    payload = {"paylinkID": payment.paylink_id, "status": "SUCCESS", "externalTransactionID": payment.external_id}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def forged(payment, sign):
    return sign(_payload(payment), secret="not-the-real-secret")


def wrong_app_id(payment, sign):
    return sign(_payload(payment), app_id="someone-elses-app")


def missing_app_id(payment, sign):
    body, headers = sign(_payload(payment))
    del headers["IK-APPID"]
    return body, headers


def missing_signature(payment, sign):
    body, headers = sign(_payload(payment))
    del headers["IK-SIGN"]
    return body, headers


def tampered_body(payment, sign):
    _, headers = sign(_payload(payment, status="FAILURE"))
    return json.dumps(_payload(payment)).encode(), headers


def signed_for_another_path(payment, sign):
    return sign(_payload(payment), path=LEGACY_PATH)


def stale_timestamp(payment, sign):
    return sign(_payload(payment), headers={"IK-TIMESTAMP": str(int(clock.now().timestamp()) - 301)})


def future_timestamp(payment, sign):
    return sign(_payload(payment, timestamp=(clock.now() + timedelta(seconds=400)).isoformat()))


def unparseable_timestamp(payment, sign):
    return sign(_payload(payment), headers={"IK-TIMESTAMP": "yesterday at noon"})


def naive_iso_timestamp(payment, sign):
    return sign(_payload(payment, timestamp=clock.now().replace(tzinfo=None).isoformat()))


def oversized(payment, sign):
    return sign(_payload(payment, padding="x" * 65_600))


def not_json(payment, sign):
    return sign(b"paylinkID=PL1&status=SUCCESS")


def json_with_nan(payment, sign):
    return sign(b'{"paylinkID": "PL1", "status": "SUCCESS", "amount": NaN}')


def missing_paylink(payment, sign):
    return sign(_payload(payment, paylinkID=None))


def missing_status(payment, sign):
    return sign(_payload(payment, status=None))


def unknown_status(payment, sign):
    return sign(_payload(payment, status="PENDING"))


def not_an_object(payment, sign):
    return sign([_payload(payment)])


def paylink_shaped_like_a_card(payment, sign):
    return sign(_payload(payment, paylinkID="4242424242424242"))


CASES = [
    (forged, 401, "invalid_signature"),
    (wrong_app_id, 401, "invalid_app_id"),
    (missing_app_id, 401, "missing_app_id"),
    (missing_signature, 401, "missing_signature"),
    (tampered_body, 401, "invalid_signature"),
    (signed_for_another_path, 401, "invalid_signature"),
    (stale_timestamp, 401, "timestamp_out_of_tolerance"),
    (future_timestamp, 401, "timestamp_out_of_tolerance"),
    (unparseable_timestamp, 400, "invalid_timestamp"),
    (naive_iso_timestamp, 400, "invalid_timestamp"),
    (oversized, 413, "payload_too_large"),
    (not_json, 400, "invalid_json"),
    (json_with_nan, 400, "invalid_json"),
    (missing_paylink, 400, "invalid_payload"),
    (missing_status, 400, "invalid_payload"),
    (unknown_status, 400, "invalid_payload"),
    (not_an_object, 400, "invalid_payload"),
    (paylink_shaped_like_a_card, 400, "invalid_payload"),
]


def assert_refused(response, seen, payment, status, code):
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code and body["message"]
    event = seen.events()[-1]
    assert (event.verdict, event.http_status, event.processing_status) == (code, status, "rejected")
    assert event.delivery_key is None
    assert not seen.has_access(payment.id) and seen.approvals() == []
    assert seen.audit("callback_rejected")[-1].reason == code
    return event


@pytest.mark.parametrize("build, status, code", CASES, ids=[case[0].__name__ for case in CASES])
def test_refused_callback_is_a_4xx_with_reason_recorded_and_grants_nothing(
        client, seen, payment, signed_callback, success_for, build, status, code):
    body, headers = build(payment, signed_callback)
    event = assert_refused(post(client, body, headers), seen, payment, status, code)
    if code == "payload_too_large":
        assert event.body is None and event.body_size == len(body)
    # A refused delivery carries no key, so it never blocks the genuine callback that follows.
    assert post(client, *success_for(payment)).status_code == 200
    assert seen.has_access(payment.id)


@pytest.mark.parametrize("proxies, extra_headers", [
    ({}, None),
    # A caller writing an allowed address itself is ignored when no proxy is trusted to have appended it.
    ({"TRUSTED_PROXY_COUNT": 0}, {"X-Forwarded-For": "203.0.113.9"}),
], ids=["direct", "spoofed_forwarded_for_without_a_trusted_proxy"])
def test_ip_outside_the_allowlist_is_refused(app_factory, make_payment, signed_callback, proxies, extra_headers):
    app = app_factory(ENABLE_WEBHOOK_IP_VERIFICATION=True, WEBHOOK_ALLOWED_IPS="203.0.113.0/24", **proxies)
    payment = make_payment()
    body, headers = signed_callback(_payload(payment), headers=extra_headers)
    event = assert_refused(app.test_client().post(MAIN_PATH, data=body, headers=headers), Seen(app), payment,
                           403, "ip_not_allowed")
    assert event.remote_ip == "127.0.0.1"


def test_one_trusted_proxy_takes_the_address_it_appended(app_factory, make_payment, signed_callback):
    app = app_factory(ENABLE_WEBHOOK_IP_VERIFICATION=True, WEBHOOK_ALLOWED_IPS="203.0.113.0/24",
                      TRUSTED_PROXY_COUNT=1)
    client, seen = app.test_client(), Seen(app)
    payment = make_payment()
    # The caller wrote the allowed address itself; our proxy appended the real one.
    body, headers = signed_callback(_payload(payment), headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
    event = assert_refused(client.post(MAIN_PATH, data=body, headers=headers), seen, payment, 403, "ip_not_allowed")
    assert event.remote_ip == "198.51.100.7"
    body, headers = signed_callback(_payload(payment), headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert client.post(MAIN_PATH, data=body, headers=headers).status_code == 200
    assert seen.events()[-1].remote_ip == "203.0.113.9"
    assert seen.has_access(payment.id)


def test_signature_is_checked_against_the_path_as_sent_not_decoded(client, seen, payment, signed_callback):
    encoded = "/webhooks/%69khokha"  # routes to the same view once decoded
    body, headers = signed_callback(_payload(payment), path=MAIN_PATH)
    assert_refused(client.post(encoded, data=body, headers=headers), seen, payment, 401, "invalid_signature")
    body, headers = signed_callback(_payload(payment), path=encoded)
    assert client.post(encoded, data=body, headers=headers).status_code == 200


def test_sha512_setting_signs_with_sha512(app_factory, make_payment):
    app = app_factory(WEBHOOK_SIGNATURE_ALGORITHM="sha512")
    payment = make_payment()
    body = json.dumps(_payload(payment)).encode()
    secret = app.config["IKHOKHA_WEBHOOK_SECRET"]
    headers = {"IK-APPID": app.config["IKHOKHA_API_KEY"]}
    headers["IK-SIGN"] = signing.sign(secret, MAIN_PATH, body, "sha256")
    assert app.test_client().post(MAIN_PATH, data=body, headers=headers).status_code == 401
    headers["IK-SIGN"] = signing.sign(secret, MAIN_PATH, body, "sha512")
    assert app.test_client().post(MAIN_PATH, data=body, headers=headers).status_code == 200
