"""The two strengths of masking: what is stored keeps identifiers that only look numeric; what is logged masks
every card-like run. Both mask a real card number and never leak a configured secret."""

import pytest

from cardpay.core import redaction

CARD = "4242424242424242"  # passes the Luhn check
NOT_A_CARD = "1234567890123456"  # fails the Luhn check


@pytest.mark.parametrize("text", [CARD, f"pan={CARD}", "4242 4242 4242 4242", f"ref-{CARD}x"])
def test_a_real_card_number_is_masked_at_both_strengths(text):
    assert CARD not in redaction.mask_card_data(text).replace(" ", "")
    assert CARD not in redaction.redact(text).replace(" ", "")
    assert "****4242" in redaction.mask_card_data(text) and "****4242" in redaction.redact(text)


def test_where_the_strengths_differ_a_digit_run_inside_an_identifier():
    reference = f"order{NOT_A_CARD}"
    # Stored: an identifier that fails Luhn is kept, so a replayed reference still matches.
    assert redaction.mask_card_data(reference) == reference
    # Logged: every card-like run goes, whatever surrounds it.
    assert NOT_A_CARD not in redaction.redact(reference)


def test_security_codes_are_masked_when_stored_and_secret_pairs_when_logged():
    assert redaction.mask_card_data('{"cvv": "123"}') == '{"cvv": "[redacted]"}'
    assert redaction.redact("IK-SIGN: abcdef0123") == "IK-SIGN: [redacted]"
    assert redaction.for_log({"password": "hunter2hunter2", "note": "ok"}) == {"password": "[redacted]",
                                                                              "note": "ok"}


def test_a_remembered_secret_is_redacted_wherever_it_appears():
    redaction.remember_secrets(["s3cr3t-value-for-test"])
    assert redaction.redact("sent with s3cr3t-value-for-test inside") == "sent with [redacted] inside"
