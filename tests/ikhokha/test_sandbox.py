"""The sandbox gateway behaves like iKhokha: signed API, hosted card page, test cards, signed callbacks."""

import json
import time

import pytest
import requests

from cardpay.core.errors import GatewayRejected
from cardpay.core.redaction import luhn_valid
from cardpay.ikhokha import signing
from cardpay.ikhokha.client import IkhokhaClient
from tests.conftest import TEST_API_SECRET, TEST_APP_ID

SIGNED_PATH = "/sandbox/ikhokha/api/payment"


def _client(server, app_id=TEST_APP_ID, secret=TEST_API_SECRET):
    return IkhokhaClient(server.api, app_id, secret, timeout=(1, 5), attempts=1)


def _payload(callback_url, reference="cp_test_1", amount=49900):
    shop = "http://127.0.0.1:9/payments/tok/return"
    return {"entityID": TEST_APP_ID, "externalEntityID": "python-foundations", "amount": amount,
            "currency": "ZAR", "requesterUrl": "http://127.0.0.1:9", "mode": "live",
            "externalTransactionID": reference,
            "urls": {"callbackUrl": callback_url, "successPageUrl": shop,
                     "failurePageUrl": shop + "?outcome=failure", "cancelUrl": shop + "?outcome=cancel"},
            "description": "Python Foundations", "paymentReference": reference}


def _paylink(server, callback_url, **kwargs):
    with _client(server) as client:
        return client.create_payment(_payload(callback_url, **kwargs))


def _pay(paylink_url, card, expiry="12/39", cvv="123"):
    return requests.post(paylink_url, data={"card_number": card, "expiry": expiry, "cvv": cvv},
                         allow_redirects=False, timeout=5)


def _status(server, paylink_id):
    with _client(server) as client:
        return client.get_status(paylink_id)["status"]


def test_create_payment_answers_in_ikhokhas_shape_and_status_starts_pending(sandbox, receiver):
    server = sandbox()
    answer = _paylink(server, receiver().url + "/webhooks/ikhokha")
    assert answer["responseCode"] == "00"
    assert answer["externalTransactionID"] == "cp_test_1"
    assert answer["paylinkUrl"] == f"{server.url}/sandbox/ikhokha/pay/{answer['paylinkID']}"
    assert _status(server, answer["paylinkID"]) == "PENDING"
    page = requests.get(answer["paylinkUrl"], timeout=5)
    assert page.status_code == 200
    for selector in ('name="card_number"', 'name="expiry"', 'name="cvv"', ">Pay</button>", "R499.00"):
        assert selector in page.text
    assert 'href="http://127.0.0.1:9/payments/tok/return?outcome=cancel"' in page.text  # the cancel link


def test_same_external_transaction_id_gets_the_same_paylink(sandbox, receiver):
    server = sandbox()
    callback = receiver().url + "/cb"
    assert _paylink(server, callback)["paylinkID"] == _paylink(server, callback)["paylinkID"]
    assert _paylink(server, callback, reference="cp_other")["paylinkID"] != _paylink(server, callback)["paylinkID"]


@pytest.mark.parametrize("headers, reason", [
    ({"IK-APPID": TEST_APP_ID, "IK-SIGN": "0" * 64}, "signature"),
    ({"IK-APPID": "someone-else", "IK-SIGN": None}, "application id"),
    ({"IK-SIGN": None}, "application id"),
    ({"IK-APPID": TEST_APP_ID}, "signature"),
    ({"IK-APPID": TEST_APP_ID, "IK-SIGN": "other-path"}, "signature"),
    ({"IK-APPID": TEST_APP_ID, "IK-SIGN": "other-secret"}, "signature"),
])
def test_payment_request_with_a_wrong_app_id_or_signature_gets_401_json(sandbox, headers, reason):
    server = sandbox()
    body = json.dumps(_payload("http://127.0.0.1:9/cb"), separators=(",", ":"))
    signatures = {None: signing.sign(TEST_API_SECRET, SIGNED_PATH, body),
                  "other-path": signing.sign(TEST_API_SECRET, "/sandbox/ikhokha/api/getStatus/x", body),
                  "other-secret": signing.sign("not-the-secret", SIGNED_PATH, body)}
    sent = {key: signatures.get(value, value) if key == "IK-SIGN" else value for key, value in headers.items()}
    response = requests.post(server.api + "/payment", data=body, headers=sent, timeout=5)
    assert response.status_code == 401
    assert reason in response.json()["message"]
    assert server.state.paylinks == {}


def test_tampered_body_is_refused(sandbox):
    server = sandbox()
    body = json.dumps(_payload("http://127.0.0.1:9/cb"), separators=(",", ":"))
    headers = {"IK-APPID": TEST_APP_ID, "IK-SIGN": signing.sign(TEST_API_SECRET, SIGNED_PATH, body)}
    tampered = body.replace("49900", "100")
    assert requests.post(server.api + "/payment", data=tampered, headers=headers, timeout=5).status_code == 401


def test_get_status_checks_its_signature_and_knows_unknown_paylinks(sandbox):
    server = sandbox()
    with _client(server, secret="wrong") as client, pytest.raises(GatewayRejected, match="401"):
        client.get_status("SBXnothing")
    with _client(server) as client, pytest.raises(GatewayRejected, match="404"):
        client.get_status("SBXnothing")


def test_invalid_payment_request_is_a_400_with_a_reason(sandbox):
    server = sandbox()
    payload = _payload("not a url")
    payload["amount"] = "49900"
    with _client(server) as client, pytest.raises(GatewayRejected, match="400"):
        client.create_payment(payload)


def test_approved_card_redirects_to_success_and_sends_a_signed_success_callback(sandbox, receiver):
    server, shop = sandbox(), receiver()
    answer = _paylink(server, shop.url + "/webhooks/ikhokha?source=ik")
    paid = _pay(answer["paylinkUrl"], "4242 4242 4242 4242")
    assert paid.status_code == 303
    assert paid.headers["Location"] == "http://127.0.0.1:9/payments/tok/return"
    callback = shop.wait_for(1)[0]
    assert callback["method"] == "POST" and callback["path"] == "/webhooks/ikhokha?source=ik"
    body = json.loads(callback["body"])
    assert body["paylinkID"] == answer["paylinkID"] and body["status"] == "SUCCESS"
    assert body["externalTransactionID"] == "cp_test_1" and body["responseCode"] == "00"
    assert callback["headers"]["IK-APPID"] == TEST_APP_ID
    # Signed over the callback URL's path (no query) and the exact body, as iKhokha does.
    assert signing.signature_matches(callback["headers"]["IK-SIGN"], [TEST_API_SECRET], "/webhooks/ikhokha",
                                     callback["body"])
    assert _status(server, answer["paylinkID"]) == "SUCCESS"


def test_paid_paylink_cannot_be_charged_twice(sandbox, receiver):
    server, shop = sandbox(), receiver()
    answer = _paylink(server, shop.url + "/cb")
    assert _pay(answer["paylinkUrl"], "4242424242424242").status_code == 303
    assert requests.get(answer["paylinkUrl"], timeout=5).status_code == 409
    assert _pay(answer["paylinkUrl"], "4242424242424242").status_code == 409
    assert len(server.state.get(answer["paylinkID"]).attempts) == 1


def test_declined_card_goes_to_the_failure_page_and_a_retry_can_succeed(sandbox, receiver):
    server, shop = sandbox(), receiver()
    answer = _paylink(server, shop.url + "/cb")
    declined = _pay(answer["paylinkUrl"], "4000 0000 0000 0002")
    assert declined.status_code == 303 and declined.headers["Location"].endswith("?outcome=failure")
    assert json.loads(shop.wait_for(1)[0]["body"])["status"] == "FAILURE"
    assert _status(server, answer["paylinkID"]) == "FAILURE"
    assert "was declined" in requests.get(answer["paylinkUrl"], timeout=5).text
    assert _pay(answer["paylinkUrl"], "4242424242424242").status_code == 303
    assert json.loads(shop.wait_for(2)[1]["body"])["status"] == "SUCCESS"
    assert _status(server, answer["paylinkID"]) == "SUCCESS"


def test_luhn_rule_decides_other_numbers():
    assert luhn_valid("4111111111111111") and luhn_valid("5555555555554444") and luhn_valid("4242424242424242")
    assert not luhn_valid("4111111111111112") and not luhn_valid("4242424242424241")


def test_other_luhn_valid_numbers_succeed_and_mistyped_ones_charge_nothing(sandbox, receiver):
    server, shop = sandbox(), receiver()
    mistyped = _paylink(server, shop.url + "/cb", reference="cp_typo")
    refused = _pay(mistyped["paylinkUrl"], "4111 1111 1111 1112")
    assert refused.status_code == 400 and "not valid" in refused.text and 'role="alert"' in refused.text
    assert _status(server, mistyped["paylinkID"]) == "PENDING"
    good = _paylink(server, shop.url + "/cb", reference="cp_good")
    assert _pay(good["paylinkUrl"], "5555-5555-5555-4444").status_code == 303
    assert _status(server, good["paylinkID"]) == "SUCCESS"
    assert len(shop.wait_for(1)) == 1  # only the good card sent a callback


@pytest.mark.parametrize("expiry, cvv, message", [("01/20", "123", "expiry"), ("13/39", "123", "expiry"),
                                                   ("12/39", "12", "security code"), ("", "", "expiry")])
def test_bad_expiry_or_cvv_is_a_form_error(sandbox, expiry, cvv, message):
    server = sandbox()
    answer = _paylink(server, "http://127.0.0.1:9/cb")
    response = _pay(answer["paylinkUrl"], "4242424242424242", expiry=expiry, cvv=cvv)
    assert response.status_code == 400 and message in response.text
    assert _status(server, answer["paylinkID"]) == "PENDING"


def test_silent_test_card_succeeds_without_any_callback(sandbox, receiver):
    server, shop = sandbox(), receiver()
    answer = _paylink(server, shop.url + "/cb")
    assert _pay(answer["paylinkUrl"], "4000000000000077").status_code == 303
    assert _status(server, answer["paylinkID"]) == "SUCCESS"
    assert shop.wait_for(1, timeout=0.5) == []


def test_callback_is_retried_until_the_shop_answers_2xx(sandbox, receiver):
    server, shop = sandbox(), receiver(statuses=(503, 500, 200))
    answer = _paylink(server, shop.url + "/cb")
    _pay(answer["paylinkUrl"], "4242424242424242")
    deliveries = shop.wait_for(3, timeout=6)
    assert len(deliveries) == 3 and len({d["body"] for d in deliveries}) == 1
    time.sleep(0.7)  # longer than the first retry wait: nothing more comes after the 200
    assert len(shop.requests) == 3
    assert [d["http_status"] for d in server.state.get(answer["paylinkID"]).deliveries] == [503, 500, 200]


def test_callback_delay_holds_the_callback_back(sandbox, receiver):
    server, shop = sandbox(callback_delay=0.6), receiver()
    answer = _paylink(server, shop.url + "/cb")
    paid_at = time.monotonic()
    _pay(answer["paylinkUrl"], "4242424242424242")
    assert shop.wait_for(1, timeout=0.3) == []
    shop.wait_for(1, timeout=3)
    assert time.monotonic() - paid_at >= 0.55


def test_card_numbers_are_kept_as_last_4_only_and_never_logged(sandbox, receiver, capfd):
    server, shop = sandbox(), receiver()
    answer = _paylink(server, shop.url + "/cb")
    _pay(answer["paylinkUrl"], "4111111111111112")
    _pay(answer["paylinkUrl"], "4111 1111 1111 1111")
    shop.wait_for(1)
    paylink = server.state.get(answer["paylinkID"])
    assert paylink.attempts[0]["last4"] == "1111"
    assert "4111111111111111" not in repr(paylink) and "4111111111111111" not in shop.requests[0]["body"].decode()
    out, err = capfd.readouterr()
    assert "41111111" not in out + err and "4111 1111" not in out + err
