"""Whatever arrives at the webhook, it is never a 5xx, and nothing unsigned ever grants access."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardpay.ikhokha import signing
from tests.callbacks.callback_helpers import LEGACY_PATH, MAIN_PATH, Seen

EXAMPLES = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HEADER_NAMES = st.one_of(
    st.sampled_from(["IK-APPID", "ik-sign", "IK-SIGN", "IK-TIMESTAMP", "X-Forwarded-For", "Content-Type",
                     "Authorization", "X-Card"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True).filter(
        lambda name: name.lower() not in ("content-length", "transfer-encoding", "host")))
HEADER_VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=60)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)


def callback_bodies(paylink_id):
    """Bodies from raw bytes to almost-valid callbacks for a real paylink."""
    near_valid = st.fixed_dictionaries(
        {"paylinkID": st.sampled_from([paylink_id, "", "PL-OTHER", 7, None]),
         "status": st.sampled_from(["SUCCESS", "success", "FAILURE", "PENDING", 1, None])},
        optional={"timestamp": JSON_VALUES | st.sampled_from(["now", "2024-01-01T00:00:00", "1e400", "-5"]),
                  "externalTransactionID": JSON_VALUES, "cvv": JSON_VALUES})
    return st.one_of(st.binary(max_size=300), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                     near_valid.map(lambda v: json.dumps(v).encode()))


@pytest.fixture
def proxied_app(app_factory):
    """An app behind one trusted proxy, so X-Forwarded-For parsing runs on every example."""
    return app_factory(TRUSTED_PROXY_COUNT=1)


def test_arbitrary_unsigned_deliveries_never_5xx_and_never_grant_access(proxied_app, make_payment):
    client, seen = proxied_app.test_client(), Seen(proxied_app)
    payment = make_payment()

    @EXAMPLES
    @given(body=callback_bodies(payment.paylink_id), headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=6),
           path=st.sampled_from([MAIN_PATH, LEGACY_PATH, MAIN_PATH + "?x=1"]),
           app_id_right=st.booleans())
    def deliver(body, headers, path, app_id_right):
        if app_id_right:
            headers = {**headers, "IK-APPID": proxied_app.config["IKHOKHA_API_KEY"]}
        response = client.post(path, data=body, headers=headers)
        assert response.status_code < 500
        if response.status_code >= 400:
            assert set(response.get_json()) == {"error", "message"}

    deliver()
    assert not seen.has_access(payment.id)
    assert seen.approvals() == []
    assert all(event.verdict != "accepted" for event in seen.events())


def test_arbitrary_signed_bodies_never_5xx(app_factory):
    # Refused bodies from one address would reach CALLBACK_REFUSAL_RATE_LIMIT's 429 (test_refusal_limit.py).
    app = app_factory(CALLBACK_REFUSAL_RATE_LIMIT="100000/minute")
    client = app.test_client()
    secret, app_id = app.config["IKHOKHA_WEBHOOK_SECRET"], app.config["IKHOKHA_API_KEY"]

    @settings(EXAMPLES, max_examples=100)
    @given(body=callback_bodies("PL-NOT-OURS"), timestamp=st.none() | HEADER_VALUES)
    def deliver(body, timestamp):
        headers = {"IK-APPID": app_id, "IK-SIGN": signing.sign(secret, MAIN_PATH, body)}
        if timestamp is not None:
            headers["IK-TIMESTAMP"] = timestamp
        response = client.post(MAIN_PATH, data=body, headers=headers)
        assert response.status_code in (200, 400, 401)
        assert response.get_json()

    deliver()
    assert Seen(app).approvals() == []
