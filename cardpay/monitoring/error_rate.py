"""The error rate of callback and checkout requests over a rolling window: the figure.

Its alert is alerting/conditions.

Error rate = requests that ended in a 5xx or an internal processing failure / all callback and
checkout requests, over the last ERROR_RATE_WINDOW_SECONDS (SPEC §5a). Rejected forgeries are
rejections, not errors. The figures are the ``requests_finished`` and ``request_errors`` rows that
handlers/metrics writes from the request-finished signal, so every worker sees the same rate (each
adds the rows it holds unwritten: the request in flight's and its monitoring buffer's).
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import CardPaymentMetric
from cardpay.monitoring import append_only

TOTAL, ERRORS = "requests_finished", "request_errors"


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
