"""Admin pages: alerts, the manual-review queue, payments, the audit log, and the actions on them.

Every action is a POST with a CSRF token and a reason; services/admin_actions does the work and
writes the audit row, the view only reads the form and says what happened.
"""

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import distinct, select

from cardpay.admin import actions, queries
from cardpay.admin.forms import ReasonForm
from cardpay.admin.routes import actor, bp
from cardpay.core.extensions import db
from cardpay.models import AuditLog, FastTrackApproval, ManualIntervention, Payment, WebhookEvent


def _act(action, target_id, back):
    """Run an admin action with the posted reason and come back to the page it was started from."""
    form = ReasonForm()
    if not form.validate_on_submit():
        flash("Say why (at least 3 characters): every action goes into the audit log.", "error")
        return redirect(back)
    try:
        message = action(target_id, actor(), form.reason.data.strip())
    except actions.ActionRefused as refused:
        flash(str(refused), "error")
    else:
        flash(message, "ok")
    return redirect(back)


def _of_payment(time_column, payment_id):
    """The rows of ``time_column``'s table that belong to one payment, oldest first."""
    model = time_column.class_
    return db.session.execute(select(model).where(model.payment_id == payment_id)
                              .order_by(time_column)).scalars().all()


@bp.get("/alerts")
def alerts():
    """Open alerts (with resolve) and the recently resolved ones."""
    severity = queries.choice("severity", queries.SEVERITIES)
    open_alerts = db.session.execute(queries.alerts(severity=severity)).scalars().all()
    resolved = db.session.execute(queries.alerts(resolved=True).limit(queries.PAGE_SIZE)).scalars().all()
    return render_template("admin/alerts.html", open_alerts=open_alerts, resolved=resolved,
                           severity=severity, form=ReasonForm())


@bp.post("/alerts/<int:alert_id>/resolve")
def resolve_alert(alert_id):
    """Resolve an open alert, with a reason."""
    return _act(actions.resolve_alert, alert_id, url_for("admin.alerts"))


@bp.get("/manual-review")
def review_queue():
    """Open manual-review items first, then the recently decided ones."""
    open_items = db.session.execute(queries.reviews("open")).scalars().all()
    decided = db.session.execute(queries.reviews("decided").limit(queries.PAGE_SIZE)).scalars().all()
    return render_template("admin/review.html", open_items=open_items, decided=decided, form=ReasonForm())


@bp.post("/manual-review/<int:item_id>/approve")
def approve_review(item_id):
    """Approve a review item: the learner gets access (approval method manual)."""
    return _act(actions.approve_review, item_id, url_for("admin.review_queue"))


@bp.post("/manual-review/<int:item_id>/reject")
def reject_review(item_id):
    """Reject a review item with a reason: no access."""
    return _act(actions.reject_review, item_id, url_for("admin.review_queue"))


@bp.get("/payments")
def payments():
    """Payments, newest first, searchable by learner email, paylink ID or our reference."""
    q = (request.args.get("q") or "").strip()
    status = queries.choice("status", queries.PAYMENT_STATES)
    rows, page, has_next = queries.paged(queries.payments(q, status))
    return render_template("admin/payments.html", payments=rows, q=q, status=status, page=page,
                           has_next=has_next)


@bp.get("/payments/<int:payment_id>")
def payment_detail(payment_id):
    """One payment: each stage's time, its approvals, review items and callbacks."""
    payment = db.get_or_404(Payment, payment_id)
    return render_template("admin/payment.html", payment=payment,
                           approvals=_of_payment(FastTrackApproval.created_at, payment_id),
                           items=_of_payment(ManualIntervention.created_at, payment_id),
                           callbacks=_of_payment(WebhookEvent.received_at, payment_id), form=ReasonForm())


@bp.post("/payments/<int:payment_id>/revoke")
def revoke_access(payment_id):
    """Revoke the course access a payment bought, with a reason."""
    return _act(actions.revoke_access, payment_id, url_for("admin.payment_detail", payment_id=payment_id))


@bp.get("/audit-log")
def audit_log():
    """The audit log, newest first, filterable by actor, action, target and outcome."""
    filters = queries.audit_filters()
    rows, page, has_next = queries.paged(queries.audit_log(**filters))
    actions = db.session.execute(select(distinct(AuditLog.action)).order_by(AuditLog.action)).scalars().all()
    return render_template("admin/audit.html", rows=rows, filters=filters, actions=actions, page=page,
                           has_next=has_next)
