"""GET /admin/outbox: the one outbox (alert_deliveries) read-only, newest first, filterable by channel and status.

Every kind of delivery shows here (alert notifications, access events, learner emails), with its attempts,
when it is tried next and its last error, so an operator can see that a receiver is down and for how long.
A filter value the page does not know is a 400, not an empty list that looks like "all delivered".
"""

from flask import current_app, render_template, request
from sqlalchemy import distinct, select

from cardpay.admin import queries
from cardpay.admin.routes import bp
from cardpay.alerting import channels
from cardpay.core import display
from cardpay.core.errors import CardpayError
from cardpay.core.extensions import db
from cardpay.models import AlertDelivery

STATUSES = ("pending", "sending", "delivered", "failed")


def _channels():
    """Every channel cardpay knows, and any other name that rows still carry (say, a retired channel)."""
    stored = db.session.execute(select(distinct(AlertDelivery.channel))).scalars().all()
    return list(dict.fromkeys(channels.known() + sorted(stored)))


def _filter(name, allowed):
    value = (request.args.get(name) or "").strip()
    if value and value not in allowed:
        raise CardpayError(f"{name} must be one of: {', '.join(allowed)}.", code=f"invalid_{name}")
    return value or None


@bp.get("/outbox")
def outbox():
    """Outbox rows newest first, with ?channel= and ?status= filters."""
    known = _channels()
    channel, status = _filter("channel", known), _filter("status", STATUSES)
    query = select(AlertDelivery)
    if channel:
        query = query.where(AlertDelivery.channel == channel)
    if status:
        query = query.where(AlertDelivery.status == status)
    rows, page, has_next = queries.paged(query.order_by(AlertDelivery.created_at.desc(), AlertDelivery.id.desc()))
    zone = current_app.config["DISPLAY_TIMEZONE"]

    def at(value):
        return display.when(value, zone) if value else "—"

    return render_template("admin/outbox.html", rows=rows, page=page, has_next=has_next, channel=channel,
                           status=status, channels=known, statuses=STATUSES, at=at, label=display.label)
