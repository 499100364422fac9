"""The admin lists as selects, shared by the pages and /admin/api so both filter the same way.

A filter with a fixed set of values (a status, a severity) is checked here for both: an unknown value is
a 400 naming the allowed ones (JSON on /admin/api, the error page otherwise), never a silently empty or
silently unfiltered list. An empty value is the same as leaving the filter out (the pages' "any" option).
"""

from flask import request
from sqlalchemy import or_, select

from cardpay.core.errors import CardpayError
from cardpay.core.extensions import db
from cardpay.models import AuditLog, CardPaymentAlert, Course, Enrollment, Learner, ManualIntervention, Payment
from cardpay.models.payment import PAYMENT_STATUSES

PAGE_SIZE = 50
SEVERITIES = ("info", "warning", "critical")
ALERT_STATES = ("open", "resolved")
REVIEW_STATES = ("open", "decided")
PAYMENT_STATES = PAYMENT_STATUSES


def choice(name, allowed, default=None):
    """Return ?name= when it is one of ``allowed`` (``default`` when absent or empty), else raise a 400."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    if value not in allowed:
        raise CardpayError(f"{name} must be one of: {', '.join(allowed)}.", code=f"invalid_{name}")
    return value


def paged(query):
    """Run a select for ?page=N; return (rows, page, has_next)."""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    rows = db.session.execute(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).scalars().all()
    return rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE


def payments(q=None, status=None):
    """Payments newest first, matching a learner email, paylink ID, our reference or course slug."""
    query = (select(Payment).join(Enrollment, Payment.enrollment_id == Enrollment.id)
             .join(Learner, Enrollment.learner_id == Learner.id).join(Course, Enrollment.course_id == Course.id))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(Learner.email.ilike(like), Payment.paylink_id.ilike(like),
                                Payment.external_transaction_id.ilike(like), Course.slug.ilike(like)))
    if status:
        query = query.where(Payment.status == status)
    return query.order_by(Payment.created_at.desc(), Payment.id.desc())


def alerts(resolved=False, severity=None):
    """Open alerts newest first, or resolved ones most recently resolved first."""
    query = select(CardPaymentAlert).where(CardPaymentAlert.resolved.is_(resolved))
    if severity:
        query = query.where(CardPaymentAlert.severity == severity)
    order = CardPaymentAlert.resolved_at.desc() if resolved else CardPaymentAlert.timestamp.desc()
    return query.order_by(order, CardPaymentAlert.id.desc())


def reviews(status="open"):
    """Open review items oldest first (a queue); decided ones most recently decided first."""
    query = select(ManualIntervention).where(
        ManualIntervention.status == "open" if status == "open" else ManualIntervention.status != "open")
    if status == "open":
        return query.order_by(ManualIntervention.created_at, ManualIntervention.id)
    return query.order_by(ManualIntervention.resolved_at.desc(), ManualIntervention.id.desc())


def audit_filters():
    """The audit-log filters of this request (?actor=, ?action=, ?target=, ?outcome=), trimmed."""
    return {name: (request.args.get(name) or "").strip() for name in ("actor", "action", "target", "outcome")}


def audit_log(actor=None, action=None, target=None, outcome=None):
    """Audit entries newest first; ``target`` is "type" or "type:id"."""
    query = select(AuditLog)
    if actor:
        query = query.where(AuditLog.actor.ilike(f"%{actor}%"))
    if action:
        query = query.where(AuditLog.action == action)
    if outcome:
        query = query.where(AuditLog.outcome == outcome)
    if target:
        kind, _, ident = target.partition(":")
        query = query.where(AuditLog.target_type == kind)
        if ident:
            query = query.where(AuditLog.target_id == ident)
    return query.order_by(AuditLog.timestamp.desc(), AuditLog.id.desc())
