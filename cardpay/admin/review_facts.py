"""The facts a manual-review decision needs (SPEC §16): the reference the payment expected beside the one
received, and what iKhokha's getStatus says about the paylink now.

getStatus is asked when the review page opens (for the items not checked in the last CACHE_SECONDS)
and again on the item's "check again" button, with the learner poll's short timeout and one attempt,
several items at once so a long queue does not add up its timeouts. The answers are kept per app in
memory for CACHE_SECONDS: a second operator opening the page, or the approve that follows a look at
it, does not ask again. Nothing here changes a payment: approving stays the operator's decision.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import current_app

from cardpay.callbacks import replay
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.ikhokha.client import IkhokhaClient
from cardpay.models import WebhookEvent
from cardpay.payments import status_checks

CACHE_SECONDS = 30
TIMEOUT = (1.0, 2.5)  # connect, read: an operator is waiting for the page
MAX_CHECKED_ON_OPEN = 20  # items further down the queue are checked with their button
PARALLEL = 4
# What an operator reads for each verdict of status_checks.ask.
SAYS = {
    "SUCCESS": "Paid",
    "FAILURE": "Declined",
    "PENDING": "Not paid (no payment yet)",
    "mismatch": "Answer is about another payment",
    "gateway_unavailable": "No answer (iKhokha could not be reached)",
    "gateway_rejected": "iKhokha refused the check",
    "not_checked": "Not checked yet",
    "no_paylink": "Nothing to check (no paylink issued)",
}
_lock = threading.Lock()


@dataclass
class Facts:
    """One item's facts: references, iKhokha's verdict (a status_checks.Verdict) and when it was asked."""

    expected: str = None
    received: str = None
    verdict: str = "not_checked"
    error: str = None
    checked_at: object = None

    @property
    def says(self):
        """iKhokha's answer in words."""
        return SAYS.get(self.verdict, self.verdict)

    @property
    def paid(self):
        """True only when getStatus reported SUCCESS for this paylink and reference."""
        return self.verdict == "SUCCESS"

    @property
    def references_match(self):
        """Whether the received reference is the expected one (None when nothing was received)."""
        return None if not self.received else self.received == self.expected


def received_reference(item):
    """The reference the callback (or getStatus answer) carried for this item, as stored (masked)."""
    details = item.details or {}
    for key in ("externalTransactionID", "answer_external_transaction_id"):
        if details.get(key):
            return str(details[key])
    if item.webhook_event_id:
        event = db.session.get(WebhookEvent, item.webhook_event_id)
        return replay.stored_reference(event) if event is not None else None
    return None


def _cache():
    return current_app.extensions.setdefault("admin_review_facts", {})


def _ask(config, paylink_id, reference):
    try:
        with IkhokhaClient.from_config(config, timeout=TIMEOUT, attempts=1) as client:
            return status_checks.ask(client, paylink_id, reference)
    except Exception as exc:  # noqa: BLE001 - the review page opens whatever the gateway client does
        return status_checks.Verdict("gateway_unavailable", error=type(exc).__name__)


def _key(item):
    payment = item.payment
    return (item.id, payment.paylink_id, payment.external_transaction_id)


def verdicts(items, refresh=(), limit=MAX_CHECKED_ON_OPEN):
    """Ask getStatus (in parallel) for the items with a paylink whose answer is older than CACHE_SECONDS,
    the first ``limit`` of them, and every id in ``refresh``; return {key: (verdict, checked_at)}."""
    cache, now = _cache(), time.monotonic()
    checkable = [item for item in items if item.payment is not None and item.payment.paylink_id]
    due = [item for n, item in enumerate(checkable)
           if item.id in refresh or (n < limit and (_key(item) not in cache or now - cache[_key(item)][0] > CACHE_SECONDS))]
    if due:
        config = dict(current_app.config)
        asks = [(_key(item), item.payment.paylink_id, item.payment.external_transaction_id) for item in due]
        with ThreadPoolExecutor(max_workers=min(PARALLEL, len(asks))) as pool:
            answers = list(pool.map(lambda ask: _ask(config, ask[1], ask[2]), asks))
        asked_at = clock.now()
        with _lock:
            for (key, *_), verdict in zip(asks, answers):
                cache[key] = (time.monotonic(), verdict, asked_at)
    return cache


def facts(items, refresh=()):
    """Return {item id: Facts} for the items, asking getStatus where due."""
    cache = verdicts(items, refresh)
    result = {}
    for item in items:
        payment = item.payment
        found = Facts(expected=payment.external_transaction_id if payment else None, received=received_reference(item))
        if payment is None or not payment.paylink_id:
            found.verdict = "no_paylink"
        elif _key(item) in cache:
            _, verdict, found.checked_at = cache[_key(item)]
            found.verdict, found.error = verdict.status, verdict.error
        result[item.id] = found
    return result


def facts_of(item, refresh=False):
    """The facts of one item (asking getStatus if its answer is older than CACHE_SECONDS, or always with refresh)."""
    return facts([item], refresh={item.id} if refresh else ())[item.id]
