"""Keeping card data and secrets out of what cardpay stores and logs: the one place that masks them.

Two strengths, because the two uses differ:

- **stored** (``mask_card_data``, ``mask_value``, ``redact_headers``, ``stored_body``): a callback body is
  kept as received except that anything that could be a card number or a security code is masked.
  A card number here is a run of 13-19 digits (optionally grouped by spaces or dashes) that stands
  alone, or that passes the Luhn check even inside a longer word; a security code is the value of a
  cvv/cvc-like field. Digit runs inside identifiers that fail Luhn stay, so references still match.
- **log** (``mask_every_card_like``, ``redact``, ``for_log``): a log line is read by people and
  shipped elsewhere, so every 13-19 digit run is masked whatever surrounds it, ``key=value`` /
  ``"key": "value"`` pairs whose key names a secret lose their value, and the configured secrets'
  own values are replaced wherever they appear.
"""

import re

REDACTED = "[redacted]"
# 13-19 digits, optionally split by spaces or dashes: anything that could be a card number.
PAN_PATTERN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
SECRET_KEYS = re.compile(r"(secret|password|sign|token|authorization|cookie|api[_-]?key|cvv|cvc)", re.I)
# "IK-SIGN: abc", "password=abc", '"api_key": "abc"': the key stays, the value goes.
# Tried only where a word (or its quote) starts: from inside a word the same key would match again,
# and every such start re-scanned the word (a 100-character line with "signature" in it took ~86 us).
SECRET_PAIR = re.compile(
    r"""(?<![\w-])(?P<key>["']?[\w-]*(?:secret|password|passwd|token|ik-sign|signature|authorization|api[_-]?key|cvv|cvc)"""
    r"""[\w-]*["']?\s*[:=]\s*)(?P<quote>["']?)(?P<scheme>(?:bearer|basic|token|digest)\s+)?"""
    r"""(?P<value>[^\s"',;&}\]]+)""", re.I)
# "Bearer <credential>" wherever it appears, and cardpay's own access API keys (cpk_...) by their shape,
# so a key is redacted even in a line that does not name a secret (a URL, an error message).
BEARER = re.compile(r"""(?<![\w-])(bearer\s+)(?!\[redacted\])[^\s"',;&}\]]+""", re.I)
ACCESS_API_KEY = re.compile(r"cpk_[A-Za-z0-9_-]{6,}")
# The words SECRET_PAIR and SECURITY_CODE_FIELD need: a text without any (nearly every text) skips that
# pattern. They are looked for in the casefolded text (``_folded``) without IGNORECASE: a case-insensitive
# alternation tries every word in every case at every position, ~7 us on a 76-character log message,
# where the casefolded search takes ~1 us.
_SECRET_WORD = re.compile(r"secret|password|passwd|token|ik-sign|signature|authorization|api[_-]?key|cvv|cvc")
_SECURITY_CODE_WORD = re.compile(r"cvv|cvc|csc|security|verification")
_secret_values = set()
MAX_HEADERS = 100
MAX_HEADER_CHARS = 2000
SECRET_HEADER = re.compile(r"(sign|secret|token|password|authorization|cookie|api[_-]?key|app-?id|cvv|cvc)", re.I)
SECURITY_CODE_FIELD = re.compile(
    r"""((?<![0-9A-Za-z])["']?"""
    r"""(?:cvv2?|cvc2?|csc|security[_ -]?code|card[_ -]?(?:security|verification)[_ -]?(?:code|value))"""
    r"""["']?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&}\]]+)""", re.I)
_WORD = re.compile(r"[0-9A-Za-z]")


def _folded(text):
    """Return text casefolded for the word checks. IGNORECASE also takes the dotless i (U+0131) and the
    dotted capital I (U+0130, which casefolds to i and a combining dot) for an i: so must the check."""
    return text.casefold().replace("\u0131", "i").replace("\u0307", "")


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
    text = "".join(pieces)
    if not _SECURITY_CODE_WORD.search(_folded(text)):
        return text
    return SECURITY_CODE_FIELD.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)


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


def redact_headers(headers, max_headers=MAX_HEADERS, max_chars=MAX_HEADER_CHARS):
    """Return headers as a plain dict fit for storage: secrets and signatures redacted, card data masked."""
    stored = {}
    for name, value in list(headers)[:max_headers]:
        name = mask_card_data(str(name))[:200]
        value = REDACTED if SECRET_HEADER.search(name) else mask_card_data(str(value)[:max_chars])
        stored[name] = f"{stored[name]}, {value}" if name in stored else value
    return stored


def stored_body(raw):
    """Return the body as it is kept: text as received, card data masked."""
    if raw is None:
        return None
    return mask_card_data(raw.decode("utf-8", errors="replace"))


# ── Log strength ────────────────────────────────────────────────────────────────────────────────


def _last_four(match):
    return "[card ****" + re.sub(r"\D", "", match.group(0))[-4:] + "]"


def mask_every_card_like(text):
    """Mask every run that could be a card number (keeping its last 4 digits), whatever surrounds it."""
    return PAN_PATTERN.sub(_last_four, text)


def remember_secrets(values):
    """Add configured secret values that log lines must never show."""
    _secret_values.update(values)


def redact(text):
    """Mask card-like numbers and redact secret values (by key name and by known value) in a log string."""
    text = mask_every_card_like(text)
    folded = _folded(text)
    if _SECRET_WORD.search(folded):
        text = SECRET_PAIR.sub(lambda m: f"{m.group('key')}{m.group('quote')}{m.group('scheme') or ''}{REDACTED}",
                               text)
    if "bearer" in folded:
        text = BEARER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    if "cpk_" in folded:
        text = ACCESS_API_KEY.sub("cpk_" + REDACTED, text)
    for secret in _secret_values:
        text = text.replace(secret, REDACTED)
    return text


def for_log(value, key=None):
    """Return a value fit for a log line: secret-named keys redacted, strings redacted, card numbers masked."""
    if key is not None and SECRET_KEYS.search(str(key)):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: for_log(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [for_log(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and PAN_PATTERN.fullmatch(str(value)):
        return mask_every_card_like(str(value))
    return value
