"""Refused callbacks are limited per source address, after verification: past the limit a refused one is
answered 429 unrecorded, while a correctly signed callback from the same address is still accepted."""

import pytest

ATTACKER = "203.0.113.9"


@pytest.fixture
def app(app_factory, limit_storage):
    return app_factory(**limit_storage.settings, CALLBACK_REFUSAL_RATE_LIMIT="3/minute")


def _send(client, body, headers, ip=ATTACKER):
    return client.post("/webhooks/ikhokha", data=body, headers=headers, environ_base={"REMOTE_ADDR": ip})


def test_a_flood_of_forged_callbacks_is_answered_429_and_no_longer_recorded(app, signed_callback, seen):
    client = app.test_client()
    forged = signed_callback(paylinkID="PL-NOPE", externalTransactionID="cp_x", secret="not-the-secret")
    assert [_send(client, *forged).status_code for _ in range(3)] == [401, 401, 401]
    for _ in range(5):
        refused = _send(client, *forged)
        assert refused.status_code == 429 and refused.json["error"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert len(seen.events()) == 3  # the flood beyond the limit costs no rows
    assert _send(client, *forged, ip="198.51.100.7").status_code == 401  # another address is not limited


def test_a_signed_callback_from_a_limited_address_is_still_accepted(app, signed_callback, success_for, payment,
                                                                     seen):
    client = app.test_client()
    forged = signed_callback(paylinkID="PL-NOPE", externalTransactionID="cp_x", secret="not-the-secret")
    for _ in range(4):
        _send(client, *forged)
    assert _send(client, *forged).status_code == 429
    accepted = _send(client, *success_for(payment))
    assert accepted.status_code == 200 and accepted.json["received"] is True
    assert seen.has_access(payment.id)
    assert _send(client, *forged).status_code == 429  # and the refusals stay limited


def test_without_rate_limits_every_refusal_is_recorded(app_factory, signed_callback, seen):
    app = app_factory(RATE_LIMITS_ENABLED=False, CALLBACK_REFUSAL_RATE_LIMIT="1/minute")
    client = app.test_client()
    forged = signed_callback(paylinkID="PL-NOPE", externalTransactionID="cp_x", secret="not-the-secret")
    assert [_send(client, *forged).status_code for _ in range(3)] == [401, 401, 401]
