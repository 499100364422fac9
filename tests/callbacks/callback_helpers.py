"""Helpers shared by the callback tests: paths, posting, and reading what callbacks left behind."""

from sqlalchemy import select

from cardpay.core.extensions import db
from cardpay.models import (
    AuditLog,
    FastTrackApproval,
    ManualIntervention,
    Payment,
    WebhookEvent,
)

MAIN_PATH = "/webhooks/ikhokha"
LEGACY_PATH = "/.netlify/functions/ikhokha-webhook"


def post(client, body, headers, path=MAIN_PATH):
    """POST a callback with the test client."""
    return client.post(path, data=body, headers=headers)


def header(event, name):
    """A stored header's value, whatever letter case it was stored in."""
    return {k.lower(): v for k, v in event.headers.items()}.get(name.lower())


class Seen:
    """What an operator or learner can see in the database after callbacks (read in the app's context)."""

    def __init__(self, app):
        self.app = app

    def _all(self, model, *where):
        with self.app.app_context():
            rows = db.session.execute(select(model).where(*where).order_by(model.id)).scalars().all()
            db.session.expunge_all()
            return rows

    def events(self):
        """Every webhook_events row, oldest first."""
        return self._all(WebhookEvent)

    def approvals(self, payment_id=None):
        """fast_track_approvals rows (of one payment)."""
        return self._all(FastTrackApproval, *([FastTrackApproval.payment_id == payment_id] if payment_id else []))

    def interventions(self):
        """manual_interventions rows."""
        return self._all(ManualIntervention)

    def audit(self, action=None):
        """audit_logs rows (of one action)."""
        return self._all(AuditLog, *([AuditLog.action == action] if action else []))

    def payment(self, payment_id):
        """(payment status, enrollment status) of a payment."""
        with self.app.app_context():
            row = db.session.get(Payment, payment_id)
            return row.status, row.enrollment.status

    def has_access(self, payment_id):
        """Whether the payment's learner is in the course."""
        return self.payment(payment_id)[1] == "active"
