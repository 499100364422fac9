"""The development mailbox: with the sandbox gateway on, /sandbox/mailbox shows the newest learner emails
in the outbox, so a newcomer running `make run` (no SMTP server, no scheduler) sees receipts and sign-in
links. The outbox is in the database, so every worker of `gunicorn -w N` shows the same emails. Never
in production (the sandbox is off there).

An outbox row holds ids and the address only; its email (with a one-time sign-in link of its own) is
built the first time a process shows the row, and kept by that process, so reloading the page on it
makes no new link (under `gunicorn -w N` each worker builds its own). With the sandbox on over copied
data, the page would make links for the learners of that data too: it is for development only.
"""

import threading

from sqlalchemy import select

from cardpay.core.extensions import db
from cardpay.learners import delivery
from cardpay.models import AlertDelivery

SHOW = 20  # the newest learner emails on the page
_KEEP = 200  # built emails remembered per process
_lock = threading.Lock()
_built = {}  # (outbox row id, payload) -> the built message, or the error that stopped it


def messages(build):
    """Return the newest learner emails of the outbox, newest first, each built once with ``build(payload)``."""
    rows = db.session.execute(select(AlertDelivery.id, AlertDelivery.payload)
                              .where(AlertDelivery.channel == delivery.CHANNEL)
                              .order_by(AlertDelivery.id.desc()).limit(SHOW)).all()
    shown = []
    for row_id, payload in rows:
        key = (row_id, repr(sorted((payload or {}).items())))  # an id reused after the table was emptied rebuilds
        with _lock:
            message = _built.get(key)
        if message is None:
            try:
                message = build(payload or {})
            except Exception as exc:  # noqa: BLE001 - a development page shows what went wrong instead
                message = exc
            with _lock:
                _built[key] = message
                while len(_built) > _KEEP:
                    _built.pop(next(iter(_built)))
        shown.append(message)
    return shown


def clear():
    """Forget the emails this process has built (tests empty the outbox between them)."""
    with _lock:
        _built.clear()
