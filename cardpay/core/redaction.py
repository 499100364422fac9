"""Keeping card data and secrets out of what cardpay stores: header redaction and card masking.

A callback body is stored as received, except that anything that could be a card number or a
card security code is masked first. A card number is a run of 13-19 digits (optionally grouped
by spaces or dashes) that stands alone, or that passes the Luhn check even inside a longer word;
a security code is the value of a cvv/cvc-like field.
"""

import re

from cardpay.core.logs import PAN_PATTERN

REDACTED = "[redacted]"
MAX_HEADERS = 100
MAX_HEADER_CHARS = 2000
SECRET_HEADER = re.compile(r"(sign|secret|token|password|authorization|cookie|api[_-]?key|app-?id|cvv|cvc)", re.I)
SECURITY_CODE_FIELD = re.compile(
    r"""((?<![0-9A-Za-z])["']?"""
    r"""(?:cvv2?|cvc2?|csc|security[_ -]?code|card[_ -]?(?:security|verification)[_ -]?(?:code|value))"""
    r"""["']?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&}\]]+)""", re.I)
_WORD = re.compile(r"[0-9A-Za-z]")


def luhn_valid(digits):
    """Tell whether a string of digits passes the Luhn check (card numbers do)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _stands_alone(text, match):
    before = text[match.start() - 1] if match.start() > 0 else ""
    after = text[match.end()] if match.end() < len(text) else ""
    return not _WORD.match(before) and not _WORD.match(after)


def _card_matches(text):
    for match in PAN_PATTERN.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if _stands_alone(text, match) or luhn_valid(digits):
            yield match, digits


def looks_like_card(text):
    """Tell whether a value is, or contains as a separate token, something shaped like a card number."""
    return any(_stands_alone(text, match) for match, _ in _card_matches(text))


def mask_card_data(text):
    """Mask card numbers (keeping the last 4 digits) and security-code values; drop NUL characters."""
    if not text:
        return text
    text = text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    pieces, last = [], 0
    for match, digits in _card_matches(text):
        pieces.append(text[last:match.start()])
        pieces.append(f"[card ****{digits[-4:]}]")
        last = match.end()
    pieces.append(text[last:])
    return SECURITY_CODE_FIELD.sub(lambda m: m.group(1) + '"' + REDACTED + '"', "".join(pieces))


def mask_value(value):
    """Mask card data in every string of a JSON-like value (dicts, lists, scalars)."""
    if isinstance(value, str):
        return mask_card_data(value)
    if isinstance(value, dict):
        return {mask_card_data(str(k)): (REDACTED if SECRET_HEADER.search(str(k)) else mask_value(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and looks_like_card(str(value)):
        return mask_card_data(str(value))
    return value


def redact_headers(headers):
    """Return headers as a plain dict fit for storage: secrets and signatures redacted, card data masked."""
    stored = {}
    for name, value in list(headers)[:MAX_HEADERS]:
        name = mask_card_data(str(name))[:200]
        value = REDACTED if SECRET_HEADER.search(name) else mask_card_data(str(value)[:MAX_HEADER_CHARS])
        stored[name] = f"{stored[name]}, {value}" if name in stored else value
    return stored


def stored_body(raw):
    """Return the body as it is kept: text as received, card data masked."""
    if raw is None:
        return None
    return mask_card_data(raw.decode("utf-8", errors="replace"))
