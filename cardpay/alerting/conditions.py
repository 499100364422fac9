"""Alert conditions evaluated from figures: the error-rate alert over its rolling window.

Summing the window is not done on every request: a worker evaluates at most once per
EVALUATE_EVERY_SECONDS (``evaluate_if_due``), and the outbox job evaluates every few seconds too.
"""

from flask import current_app

from cardpay.alerting import alerts
from cardpay.core import throttle
from cardpay.monitoring import error_rate

ERROR_RATE_FINGERPRINT = "error_rate:callback_checkout"
EVALUATE_EVERY_SECONDS = 5


def evaluate_error_rate():
    """Raise the error-rate alert when over ERROR_RATE_ALERT_THRESHOLD, resolve it when back under."""
    config = current_app.config
    errors, total = error_rate.current()
    rate = 100.0 * errors / total if total else 0.0
    threshold, window = config["ERROR_RATE_ALERT_THRESHOLD"], config["ERROR_RATE_WINDOW_SECONDS"]
    if total and rate > threshold:
        alerts.raise_alert(
            "error_rate", "critical",
            f"error rate {rate:.1f}% ({errors} of {total} callback and checkout requests in {window} s) "
            f"is above {threshold}%",
            {"rate_percent": round(rate, 2), "errors": errors, "requests": total, "window_seconds": window,
             "threshold_percent": threshold},
            fingerprint=ERROR_RATE_FINGERPRINT)
    else:  # resolve_alert looks the open alert up itself, and does nothing when there is none
        alerts.resolve_alert(ERROR_RATE_FINGERPRINT, "auto-resolve")
    return rate


def evaluate_error_rate_if_due():
    """Evaluate the error rate unless this process did so in the last EVALUATE_EVERY_SECONDS; return it or None."""
    return evaluate_error_rate() if throttle.due("error_rate", EVALUATE_EVERY_SECONDS) else None
