"""Card numbers and security codes sent in a callback never reach the database or the logs."""

import json
import logging

import pytest

from cardpay.core.extensions import db
from tests.callbacks.callback_helpers import MAIN_PATH, Seen, header, post

CARDS = ("4242424242424242", "4242 4242 4242 4242", "4000-0000-0000-0002", "5555555555554444")
CVV = "918"


@pytest.fixture
def captured_logs(caplog):
    """Every record cardpay logs during the test, as raw text (before the JSON formatter's own masking)."""
    logger = logging.getLogger("cardpay")
    logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    yield caplog
    logger.setLevel(old_level)
    logger.removeHandler(caplog.handler)


def everything_stored(app):
    """Every row of every table, as text."""
    with app.app_context():
        return "\n".join(repr(tuple(row)) for table in db.metadata.sorted_tables
                         for row in db.session.execute(table.select()))


def assert_no_card_data(app, logs):
    stored = everything_stored(app)
    for text in (stored, logs.text):
        for card in CARDS:
            assert card not in text
        assert f'"cvv": "{CVV}"' not in text and f"cvv={CVV}" not in text


def card_fields(**extra):
    return {"cardNumber": CARDS[0], "cardHint": CARDS[1], "card": {"pan": CARDS[2], "cvv": CVV},
            "raw": int(CARDS[3]), **extra}


def test_verified_callback_with_card_data_is_stored_masked(app, client, payment, signed_callback, captured_logs):
    payload = {"paylinkID": payment.paylink_id, "status": "SUCCESS", "externalTransactionID": payment.external_id,
               **card_fields()}
    body, headers = signed_callback(payload, headers={"X-Card-Hint": CARDS[2]})
    assert post(client, body, headers).status_code == 200
    [event] = Seen(app).events()
    assert "[card ****4242]" in event.body and '"cvv": "[redacted]"' in event.body
    assert header(event, "X-Card-Hint") == "[card ****0002]"
    assert Seen(app).has_access(payment.id)
    assert_no_card_data(app, captured_logs)


def test_manual_review_details_and_audit_never_hold_a_card(app, client, signed_callback, captured_logs):
    payload = {"paylinkID": "PL-UNKNOWN", "status": "SUCCESS", "externalTransactionID": CARDS[0], **card_fields()}
    assert post(client, *signed_callback(payload)).status_code == 200
    [item] = Seen(app).interventions()
    assert item.details["externalTransactionID"] == "[card ****4242]"
    assert Seen(app).audit("manual_intervention_required")
    assert_no_card_data(app, captured_logs)


@pytest.mark.parametrize("body", [
    json.dumps({"paylinkID": "PL1", "status": "SUCCESS", **card_fields()}).encode(),
    f"cardNumber={CARDS[0]}&cvv={CVV}&pan={CARDS[1]}".encode(),
    json.dumps({"paylinkID": CARDS[0], "status": "SUCCESS", "cvv": CVV}).encode(),
    json.dumps({"padding": "x" * 70_000, "card": CARDS[0]}).encode(),
], ids=["forged-json", "form-encoded", "card-as-paylink", "oversized"])
def test_refused_callbacks_with_card_data_are_stored_masked(app, client, body, captured_logs):
    headers = {"IK-APPID": app.config["IKHOKHA_API_KEY"], "IK-SIGN": "0" * 64, "X-Card": CARDS[0],
               "Content-Type": "application/json"}
    assert post(client, body, headers, path=MAIN_PATH).status_code in (400, 401, 413)
    [event] = Seen(app).events()
    assert event.verdict != "accepted"
    assert_no_card_data(app, captured_logs)
