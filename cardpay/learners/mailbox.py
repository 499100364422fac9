"""The development mailbox: with the sandbox gateway on, every learner email is also kept here and shown
at /sandbox/mailbox, so a newcomer running `make run` (no SMTP server, no scheduler) sees receipts and
sign-in links. In memory, per process, the last KEEP emails; never in production (the sandbox is off).

An entry holds the outbox payload only; its email (and its own one-time link) is built the first time the
mailbox page shows it, like the outbox builds its copy at send time.
"""

import threading
from collections import deque

KEEP = 50
_lock = threading.Lock()
_entries = deque(maxlen=KEEP)


def keep(payload):
    """Keep a copy of one learner email (its payload) for the development mailbox."""
    with _lock:
        _entries.append({"payload": dict(payload), "message": None})


def messages(build):
    """Return the kept emails, newest first, building each once with ``build(payload)``."""
    with _lock:
        entries = list(_entries)
    for entry in entries:
        if entry["message"] is None:
            try:
                entry["message"] = build(entry["payload"])
            except Exception as exc:  # noqa: BLE001 - a development page shows what went wrong instead
                entry["message"] = exc
    return list(reversed(entries))


def clear():
    """Forget every kept email."""
    with _lock:
        _entries.clear()
