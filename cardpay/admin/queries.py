"""The admin lists as selects, shared by the pages and /admin/api so both filter the same way.

A filter with a fixed set of values (a status, a severity) is checked here for both: an unknown value is
a 400 naming the allowed ones (JSON on /admin/api, the error page otherwise), never a silently empty or
silently unfiltered list. An empty value is the same as leaving the filter out (the pages' "any" option).
"""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, current_app, request
from sqlalchemy import and_, or_, select

from cardpay.core import clock
from cardpay.core.errors import CardpayError
from cardpay.core.extensions import db
from cardpay.models import (
    AuditLog,
    CardPaymentAlert,
    Course,
    Enrollment,
    Learner,
    ManualIntervention,
    Payment,
    WebhookEvent,
)

PAGE_SIZE = 50
SEVERITIES = ("info", "warning", "critical")
ALERT_STATES = ("open", "resolved")
REVIEW_STATES = ("open", "decided")
PAYMENT_STATUSES = ("created", "pending", "succeeded", "failed", "manual_review", "abandoned")
CALLBACK_STATUSES = ("received", "processing", "processed", "manual_review", "ignored", "failed", "duplicate",
                     "rejected")
_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
_PAYLINK = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def _day(name):
    """?name=YYYY-MM-DD as a date; None when absent; 400 when it is not a plausible date."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw) else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 9998:
        abort(400, description=f"{name} must be a date written YYYY-MM-DD (years 2000 to 9998).")
    return day


def _start_of(day):
    """Midnight at the start of ``day`` in DISPLAY_TIMEZONE, as UTC."""
    return clock.as_utc(datetime.combine(day, time(0), tzinfo=ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])))


def date_range():
    """The ?from= and ?to= days (both included, in DISPLAY_TIMEZONE) as UTC [start, end); 400 when bad or reversed."""
    first, last = _day("from"), _day("to")
    if first and last and last < first:
        abort(400, description="from must be on or before to.")
    return (_start_of(first) if first else None, _start_of(last + timedelta(days=1)) if last else None)


def choice(name, allowed, default=None):
    """Return ?name= when it is one of ``allowed`` (``default`` when absent or empty), else raise a 400."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    if value not in allowed:
        raise CardpayError(f"{name} must be one of: {', '.join(allowed)}.", code=f"invalid_{name}")
    return value


def payment_filters():
    """The payments filters of this request (?q=, ?status=, ?from=, ?to=), checked: a bad value is a 400."""
    q = (request.args.get("q") or "").strip()
    if len(q) > 200:
        abort(400, description="q must be at most 200 characters.")
    start, end = date_range()
    return {"q": q, "status": choice("status", PAYMENT_STATUSES), "start": start, "end": end}


def callback_filters():
    """The callbacks filters of this request (?verdict=, ?status=, ?paylink=, ?from=, ?to=); 400 when bad."""
    verdict = (request.args.get("verdict") or "").strip()
    if verdict and not _CODE.match(verdict):
        abort(400, description="verdict must be a code such as accepted or bad_signature.")
    paylink = (request.args.get("paylink") or "").strip()
    if paylink and not _PAYLINK.match(paylink):
        abort(400, description="paylink must be a paylink ID (letters, digits, - _ . :).")
    start, end = date_range()
    return {"verdict": verdict or None, "status": choice("status", CALLBACK_STATUSES), "paylink": paylink or None,
            "start": start, "end": end}


def callbacks(verdict=None, status=None, paylink=None, start=None, end=None):
    """Every callback delivery (accepted, duplicate, refused) newest first."""
    query = select(WebhookEvent)
    for column, value in ((WebhookEvent.verdict, verdict), (WebhookEvent.processing_status, status),
                          (WebhookEvent.paylink_id, paylink)):
        if value:
            query = query.where(column == value)
    if start:
        query = query.where(WebhookEvent.received_at >= start)
    if end:
        query = query.where(WebhookEvent.received_at < end)
    return query.order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc())


def paged(query):
    """Run a select for ?page=N; return (rows, page, has_next)."""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    rows = db.session.execute(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).scalars().all()
    return rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE


def payments(q=None, status=None, start=None, end=None):
    """Payments newest first, matching a learner email, paylink ID, our reference or course slug; ``status``
    abandoned means created or pending for longer than STALE_PAYMENT_MINUTES; created in [start, end)."""
    query = (select(Payment).join(Enrollment, Payment.enrollment_id == Enrollment.id)
             .join(Learner, Enrollment.learner_id == Learner.id).join(Course, Enrollment.course_id == Course.id))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(Learner.email.ilike(like), Payment.paylink_id.ilike(like),
                                Payment.external_transaction_id.ilike(like), Course.slug.ilike(like)))
    stale = clock.now() - timedelta(minutes=current_app.config["STALE_PAYMENT_MINUTES"])
    if status == "abandoned":
        query = query.where(Payment.status.in_(("created", "pending")), Payment.created_at < stale)
    elif status in ("created", "pending"):
        query = query.where(and_(Payment.status == status, Payment.created_at >= stale))
    elif status:
        query = query.where(Payment.status == status)
    if start:
        query = query.where(Payment.created_at >= start)
    if end:
        query = query.where(Payment.created_at < end)
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
