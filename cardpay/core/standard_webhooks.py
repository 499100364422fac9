"""Signing outbound webhooks the Standard Webhooks way (https://www.standardwebhooks.com).

A receiver verifies a delivery with any Standard Webhooks library: the signature is
HMAC-SHA256 over ``{msg_id}.{timestamp}.{body}`` keyed with the secret's bytes, sent as
``v1,<base64>`` in the ``webhook-signature`` header beside ``webhook-id`` and
``webhook-timestamp``. This module is a leaf: it imports nothing from cardpay.
"""

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
# 16 bytes is the floor the spec recommends (24 to 64 is typical); shorter keys are refused
# so a truncated copy-paste of a secret fails at configuration time, not at the receiver.
MIN_KEY_BYTES = 16


def parse_secret(value):
    """Return the key bytes of a ``whsec_<base64>`` secret, or raise ValueError."""
    if not isinstance(value, str) or not value.startswith(SECRET_PREFIX):
        raise ValueError("webhook secret must be a string starting with 'whsec_' followed by base64")
    encoded = value[len(SECRET_PREFIX):].strip()
    try:
        # validate=True so stray characters are an error, not silently dropped.
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret after 'whsec_' is not valid base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"webhook secret is too short: {len(key)} bytes, at least {MIN_KEY_BYTES} required")
    return key


def _key(secret):
    # Callers may hand over the configured string or key bytes they already parsed.
    return secret if isinstance(secret, (bytes, bytearray)) else parse_secret(secret)


def sign(secret, msg_id, timestamp: int, body: bytes) -> str:
    """Return ``v1,<base64 HMAC-SHA256>`` over ``{msg_id}.{timestamp}.{body}``."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    # The body is signed as the exact bytes sent: re-serialising JSON would break verification.
    signed = f"{msg_id}.{int(timestamp)}.".encode() + bytes(body)
    digest = hmac.new(bytes(_key(secret)), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret, msg_id, timestamp, body) -> dict:
    """Return the ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def new_message_id() -> str:
    """Return a fresh, unguessable message id: ``msg_`` plus random URL-safe text."""
    # The id is the receiver's idempotency key, so it must never repeat across retries of
    # different messages; 18 random bytes make a collision practically impossible.
    return "msg_" + secrets.token_urlsafe(18)
