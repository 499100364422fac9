"""Signed callbacks from the sandbox to callbackUrl, sent from a background thread with retries.

Like a real gateway, the sandbox does not wait for the merchant: it redirects the learner at once
and delivers the callback on its own, retrying when the merchant answers non-2xx or not at all.
"""

import json
import logging
import threading
from urllib.parse import urlsplit

from cardpay.ikhokha import signing

log = logging.getLogger(__name__)
# Seconds to wait before each retry (after the first try): about 30 s of patience in all.
RETRY_WAITS = (0.5, 1, 2, 4, 8, 15)
TIMEOUT = (2, 10)


def callback_body(paylink, status):
    """Return the exact JSON text of a callback, as iKhokha sends it (compact)."""
    return json.dumps({"paylinkID": paylink.paylink_id, "status": status,
                       "externalTransactionID": paylink.external_transaction_id,
                       "responseCode": "00" if status == "SUCCESS" else "05",
                       "amount": paylink.amount, "currency": paylink.currency}, separators=(",", ":"))


def _post(url, body, app_id, secret):
    import requests

    signature = signing.sign(secret, urlsplit(url).path, body)
    headers = {"Content-Type": "application/json", "IK-APPID": app_id, "IK-SIGN": signature}
    with requests.Session() as session:
        return session.post(url, data=body.encode("utf-8"), headers=headers, timeout=TIMEOUT,
                            allow_redirects=False).status_code


def deliver(state, paylink, status, app_id, secret, delay=0.0, waits=RETRY_WAITS):
    """Post one signed callback after ``delay`` seconds, retrying until a 2xx or the retries run out."""
    import requests  # here, not at every worker's start: only the development sandbox posts callbacks

    url = paylink.urls["callbackUrl"]
    body = callback_body(paylink, status)
    if delay and state.stopping.wait(delay):
        return False
    for attempt, wait in enumerate((0,) + tuple(waits), start=1):
        if wait and state.stopping.wait(wait):
            return False
        try:
            http_status = _post(url, body, app_id, secret)
        except requests.RequestException as exc:
            http_status = None
            log.info("sandbox callback for %s got no answer (attempt %d): %s",
                     paylink.paylink_id, attempt, type(exc).__name__)
        state.note_delivery(paylink.paylink_id, status, attempt, http_status)
        if http_status is not None and 200 <= http_status < 300:
            return True
    log.warning("sandbox gave up delivering the %s callback for %s", status, paylink.paylink_id)
    return False


def deliver_in_background(state, paylink, status, app_id, secret, delay=0.0):
    """Start the delivery thread and return it."""
    thread = threading.Thread(target=_guarded, args=(state, paylink, status, app_id, secret, delay),
                              name=f"sandbox-callback-{paylink.paylink_id}", daemon=True)
    thread.start()
    return thread


def _guarded(*args):
    try:
        deliver(*args)
    except Exception:  # noqa: BLE001 - a stray error must not kill the process or leak a trace to stderr raw
        log.exception("sandbox callback delivery crashed")
