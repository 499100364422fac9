"""The two strengths of masking: what is stored keeps identifiers that only look numeric; what is logged masks
every card-like run. Both mask a real card number and never leak a configured secret."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


# The word checks before SECRET_PAIR and SECURITY_CODE_FIELD only skip work: with or without them the
# result must be the same, for any text, including the letters IGNORECASE treats as others (ſ, K, ı, İ).
_PIECES = ["secret", "SeCrEt", "paſsword", "passwd", "token", "IK-SIGN", "sİgnature", "sıgnature", "authorization",
           "api_key", "Api-Key", "cvv", "CVC2", "csc", "security code", "card_verification_value", "bearer ",
           "cpk_abcdef123", "=", ": ", '"', "'", " ", ",", "4242424242424242", "x", "é", "ß", "\u0307", "K"]


def _unconditional_redact(text):
    text = redaction.mask_every_card_like(text)
    text = redaction.SECRET_PAIR.sub(
        lambda m: f"{m.group('key')}{m.group('quote')}{m.group('scheme') or ''}{redaction.REDACTED}", text)
    text = redaction.BEARER.sub(lambda m: f"{m.group(1)}{redaction.REDACTED}", text)
    text = redaction.ACCESS_API_KEY.sub("cpk_" + redaction.REDACTED, text)
    for secret in redaction._secret_values:
        text = text.replace(secret, redaction.REDACTED)
    return text


@settings(max_examples=400, deadline=None)
@example("paſsword=hunter2")
@example("sİgnature: abc, cvv=123")
@example("IK-SıGN=abc; ſecurity code: 123")
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=4)), max_size=12).map("".join))
def test_the_word_checks_change_no_result(text):
    assert redaction.redact(text) == _unconditional_redact(text)
    unchecked = redaction.SECURITY_CODE_FIELD.sub(lambda m: m.group(1) + '"' + redaction.REDACTED + '"',
                                                  _cards_masked(text))
    assert redaction.mask_card_data(text) == unchecked


def _cards_masked(text):
    """mask_card_data's card step alone (the part before its security-code step)."""
    text = text.replace("\x00", "\ufffd")
    pieces, last = [], 0
    for match, digits in redaction._card_matches(text):
        pieces += [text[last:match.start()], f"[card ****{digits[-4:]}]"]
        last = match.end()
    return "".join(pieces + [text[last:]])
