"""Identifiers and tokens: one place, so their strength is decided once."""

import secrets
import uuid


def payment_token():
    """Return an unguessable per-payment token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def external_transaction_id():
    """Return our externalTransactionID for a new checkout."""
    return "cp_" + uuid.uuid4().hex


def request_id():
    """Return an id that ties together the log lines of one request."""
    return uuid.uuid4().hex[:16]
