"""Admin pages: alerts, the manual-review queue (with its facts), the audit log, and the actions on them.

Every action is a POST with a CSRF token and a reason; admin/actions does the work and publishes the
audit event, the view only reads the form and says what happened. Payments are in payment_pages.py,
callback deliveries in callbacks.py.
"""

from flask import flash, redirect, render_template, url_for
from sqlalchemy import distinct, select

from cardpay.admin import actions, queries, review_facts
from cardpay.admin.forms import DecideForm, EmptyForm, ReasonForm
from cardpay.admin.routes import act, bp
from cardpay.core.extensions import db
from cardpay.models import AuditLog, ManualIntervention


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
    return act(actions.resolve_alert, alert_id, url_for("admin.alerts"))


@bp.get("/manual-review")
def review_queue():
    """Open manual-review items first, with their facts (references, iKhokha's answer now), then decided ones."""
    open_items = db.session.execute(queries.reviews("open")).scalars().all()
    decided = db.session.execute(queries.reviews("decided").limit(queries.PAGE_SIZE)).scalars().all()
    return render_template("admin/review.html", open_items=open_items, decided=decided, form=DecideForm(),
                           facts=review_facts.facts(open_items), cache_seconds=review_facts.CACHE_SECONDS)


@bp.post("/manual-review/<int:item_id>/check")
def check_review(item_id):
    """Ask iKhokha's getStatus again for one item now (the "check again" button)."""
    item = db.get_or_404(ManualIntervention, item_id)
    back = url_for("admin.review_queue", _anchor=f"item-{item_id}")
    if not EmptyForm().validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
    else:
        facts = review_facts.facts_of(item, refresh=True)
        flash(f"Review item {item_id}: iKhokha says {facts.says}.", "info")
    return redirect(back)


@bp.post("/manual-review/<int:item_id>/approve")
def approve_review(item_id):
    """Approve a review item: the learner gets access (approval method manual); against iKhokha's word only
    with the "approve anyway" box ticked."""
    item = db.get_or_404(ManualIntervention, item_id)
    form = DecideForm()
    says = review_facts.facts_of(item).verdict if item.payment_id and item.status == "open" else None
    return act(lambda *args: actions.approve_review(*args, ikhokha_status=says, confirmed=bool(form.confirm.data)),
                item_id, url_for("admin.review_queue"), form)


@bp.post("/manual-review/<int:item_id>/reject")
def reject_review(item_id):
    """Reject a review item with a reason: no access."""
    return act(actions.reject_review, item_id, url_for("admin.review_queue"), DecideForm())


@bp.get("/audit-log")
def audit_log():
    """The audit log, newest first, filterable by actor, action, target and outcome."""
    filters = queries.audit_filters()
    rows, page, has_next = queries.paged(queries.audit_log(**filters))
    actions = db.session.execute(select(distinct(AuditLog.action)).order_by(AuditLog.action)).scalars().all()
    return render_template("admin/audit.html", rows=rows, filters=filters, actions=actions, page=page,
                           has_next=has_next)
