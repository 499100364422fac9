"""Admin pages for callback deliveries (SPEC §16): every delivery iKhokha (or anyone) sent, accepted, duplicate
or refused, with filters; one delivery with its redacted headers and masked body (stored that way); and a
CSRF-protected replay of a verified delivery whose processing did not finish (callbacks/replay, the same
code as `flask cardpay replay`), audit-logged.
"""

import json

from flask import render_template, url_for

from cardpay.admin import actions, queries
from cardpay.admin.forms import ReasonForm
from cardpay.admin.routes import act, bp
from cardpay.callbacks import records
from cardpay.core.extensions import db
from cardpay.models import WebhookEvent


def replayable(event):
    """Whether the replay button applies: a verified first delivery whose processing did not finish."""
    return event.verdict == "accepted" and event.delivery_key is not None and \
        event.processing_status in records.UNFINISHED


def _pretty(body):
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return body


@bp.get("/callbacks")
def callbacks():
    """Every callback delivery, newest first, filterable by verdict, processing status, paylink and date."""
    filters = queries.callback_filters()
    rows, page, has_next = queries.paged(queries.callbacks(**filters))
    return render_template("admin/callbacks.html", rows=rows, filters=filters, page=page, has_next=has_next,
                           statuses=queries.CALLBACK_STATUSES, replayable=replayable, form=ReasonForm())


@bp.get("/callbacks/<int:event_id>")
def callback_detail(event_id):
    """One delivery: what was received (headers redacted, card-like values masked) and what became of it."""
    event = db.get_or_404(WebhookEvent, event_id)
    return render_template("admin/callback.html", event=event, body=_pretty(event.body),
                           replayable=replayable(event), form=ReasonForm())


@bp.post("/callbacks/<int:event_id>/replay")
def replay_callback(event_id):
    """Process a verified, unfinished delivery again, with a reason (audit-logged)."""
    db.get_or_404(WebhookEvent, event_id)
    return act(actions.replay_delivery, event_id, url_for("admin.callback_detail", event_id=event_id))
