"""The error rate of callback and checkout requests over a rolling window, and the alert it drives.

Error rate = requests that ended in a 5xx or an internal processing failure / all callback and
checkout requests, over the last ERROR_RATE_WINDOW_SECONDS (SPEC §5a). Rejected forgeries are
rejections, not errors. The figures are the ``requests_finished`` and ``request_errors`` rows that
handlers/metrics writes from the request-finished signal, so every worker sees the same rate (each
adds the rows it holds unwritten: the request in flight's and its monitoring buffer's).

Summing the window is not done on every request: a worker evaluates at most once per
EVALUATE_EVERY_SECONDS (``evaluate_if_due``), and the outbox job evaluates every few seconds too.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from cardpay import append_only, clock
from cardpay.extensions import db
from cardpay.models import CardPaymentMetric
from cardpay.services import alerts, throttle

FINGERPRINT = "error_rate:callback_checkout"
TOTAL, ERRORS = "requests_finished", "request_errors"
EVALUATE_EVERY_SECONDS = 5


def current():
    """Return (errors, total) over the rolling window."""
    cutoff = clock.now() - timedelta(seconds=current_app.config["ERROR_RATE_WINDOW_SECONDS"])
    sums = dict(db.session.execute(
        select(CardPaymentMetric.metric_name, func.sum(CardPaymentMetric.value))
        .where(CardPaymentMetric.metric_name.in_((TOTAL, ERRORS)), CardPaymentMetric.timestamp >= cutoff)
        .group_by(CardPaymentMetric.metric_name)).all())
    for row in append_only.unwritten(CardPaymentMetric):  # this request's, and this worker's buffered rows
        if row["metric_name"] in (TOTAL, ERRORS) and row["timestamp"] >= cutoff:
            sums[row["metric_name"]] = (sums.get(row["metric_name"]) or 0) + row["value"]
    return int(sums.get(ERRORS) or 0), int(sums.get(TOTAL) or 0)


def evaluate():
    """Raise the error-rate alert when over ERROR_RATE_ALERT_THRESHOLD, resolve it when back under."""
    config = current_app.config
    errors, total = current()
    rate = 100.0 * errors / total if total else 0.0
    threshold, window = config["ERROR_RATE_ALERT_THRESHOLD"], config["ERROR_RATE_WINDOW_SECONDS"]
    if total and rate > threshold:
        alerts.raise_alert(
            "error_rate", "critical",
            f"error rate {rate:.1f}% ({errors} of {total} callback and checkout requests in {window} s) "
            f"is above {threshold}%",
            {"rate_percent": round(rate, 2), "errors": errors, "requests": total, "window_seconds": window,
             "threshold_percent": threshold},
            fingerprint=FINGERPRINT)
    else:  # resolve_alert looks the open alert up itself, and does nothing when there is none
        alerts.resolve_alert(FINGERPRINT, "auto-resolve")
    return rate


def evaluate_if_due():
    """Evaluate the error rate unless this process did so in the last EVALUATE_EVERY_SECONDS; return it or None."""
    return evaluate() if throttle.due("error_rate", EVALUATE_EVERY_SECONDS) else None
