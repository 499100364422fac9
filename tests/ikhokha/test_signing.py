"""cardpay's signer reproduces vectors computed independently with iKhokha's Node sample algorithm.

The expected hex values were computed outside cardpay with Node.js, using the sample's
jsStringEscape + crypto.createHmac over new URL(url).pathname + body; they are literals here.
"""

import json

from cardpay.ikhokha import signing

SECRET = "tPxzWxmoL2kJiqJg5VqXzDdLQp1r7hYa"
CREATE_BODY = (
    '{"entityID":"ENT-1","externalEntityID":"course-7","amount":49900,"currency":"ZAR",'
    '"requesterUrl":"https://learn.example.co.za","mode":"live","externalTransactionID":"cp_0a1b2c",'
    '"urls":{"callbackUrl":"https://learn.example.co.za/webhooks/ikhokha",'
    '"successPageUrl":"https://learn.example.co.za/payments/t/return",'
    '"failurePageUrl":"https://learn.example.co.za/payments/t/return?outcome=failure",'
    '"cancelUrl":"https://learn.example.co.za/payments/t/return?outcome=cancel"},'
    '"description":"Thandi\'s \\"Python\\" course","paymentReference":"cp_0a1b2c"}'
)
CALLBACK_BODY = ('{"paylinkID":"PL123","status":"SUCCESS","externalTransactionID":"cp_0a1b2c",'
                 '"responseCode":"00","note":"it\'s \\\\ nul:\\u0000"}')


def test_create_payment_signature_matches_the_node_sample():
    signature = signing.sign(SECRET, "/public-api/v1/api/payment", CREATE_BODY)
    assert signature == "9246e88c769e3e1106a847b3c5128a99e725877518190413cdfd7e4088f70ecb"


def test_get_status_signature_covers_the_path_only():
    signature = signing.sign(SECRET, "/public-api/v1/api/getStatus/PL123", "")
    assert signature == "ee945ae99c4fd90432d814eb30571bf08b3ec7a85f214935e24ee589139edc5d"


def test_callback_with_quotes_backslashes_and_escaped_nul_matches_sha256_and_sha512():
    path = "/webhooks/ikhokha"
    assert signing.sign(SECRET, path, CALLBACK_BODY) == (
        "473bb72d17e361a51c2e03eb32f8fa756d7b99a854c0a37df7cab42fd39fc870")
    assert signing.sign(SECRET, path, CALLBACK_BODY.encode(), "sha512") == (
        "ccf14cf73bd770189ba25650b24d2db221511a20b8a98f7e1f7b9994a93016c7"
        "d327a00ea6e0bc7a2465116d0f0cb63479e26c50182ddefdab3142328192c6ea")


def test_escape_handles_each_special_character():
    assert signing.escape("a\\b\"c'd\x00e") == "a\\\\b\\\"c\\'d\\0e"


def test_signature_matches_accepts_any_listed_secret_and_rejects_others():
    good = signing.sign("new-secret", "/webhooks/ikhokha", CALLBACK_BODY)
    assert signing.signature_matches(good.upper(), ["old-secret", "new-secret"], "/webhooks/ikhokha", CALLBACK_BODY)
    assert not signing.signature_matches(good, ["old-secret"], "/webhooks/ikhokha", CALLBACK_BODY)
    assert not signing.signature_matches(good, ["new-secret"], "/other/path", CALLBACK_BODY)
    assert not signing.signature_matches("", ["new-secret"], "/webhooks/ikhokha", CALLBACK_BODY)
    assert not signing.signature_matches("zz\u00e9", ["new-secret"], "/webhooks/ikhokha", CALLBACK_BODY)


def test_js_stringify_matches_javascript_output():
    parsed = json.loads('{"a": 1.0, "b": 1e-7, "c": 2.5e21, "d": "\u00e9\\u2028", "e": [true, null]}')
    assert signing.js_stringify(parsed) == '{"a":1,"b":1e-7,"c":2.5e+21,"d":"\u00e9\u2028","e":[true,null]}'
