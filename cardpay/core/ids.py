"""Identifiers and tokens: one place, so their strength is decided once."""

import os
import secrets
import socket
import uuid


def payment_token():
    """Return an unguessable per-payment token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def sign_in_token():
    """Return an unguessable learner sign-in token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def external_transaction_id():
    """Return our externalTransactionID for a new checkout."""
    return "cp_" + uuid.uuid4().hex


def request_id():
    """Return an id that ties together the log lines of one request."""
    return uuid.uuid4().hex[:16]


_process = {"pid": None, "name": None}


def process_id():
    """Return this process's name, host:pid:random, made again after a fork (it tells workers apart in claims)."""
    if _process["pid"] != os.getpid():
        _process["pid"], _process["name"] = os.getpid(), holder_id()
    return _process["name"]


def holder_id():
    """Return a new name for a holder of leases or claims that is unique across hosts: host:pid:random."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
