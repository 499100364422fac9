"""Admin pages for payments: the filtered list and its CSV export (for reconciliation with iKhokha's reports),
one payment with its timeline, and revoke (after a confirmation) and restore of the access it bought.
"""

import csv
import io

from flask import Response, current_app, flash, redirect, render_template, url_for
from sqlalchemy import or_, select

from cardpay.admin import actions, presenting, queries
from cardpay.admin.forms import ConfirmForm, ReasonForm
from cardpay.admin.routes import act, actor, bp
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import AuditLog, FastTrackApproval, ManualIntervention, Payment, WebhookEvent

CSV_LIMIT = 50_000  # one export; narrow the filters for more
CSV_COLUMNS = ("reference", "paylink_id", "learner_email", "course", "amount", "amount_cents", "currency", "status",
               "created", "succeeded", "failed", "created_utc", "succeeded_utc", "failed_utc")


@bp.get("/payments")
def payments():
    """Payments, newest first, searchable by learner email, paylink ID, reference or course; status and dates."""
    filters = queries.payment_filters()
    rows, page, has_next = queries.paged(queries.payments(**filters))
    return render_template("admin/payments.html", payments=rows, filters=filters, page=page, has_next=has_next,
                           statuses=queries.PAYMENT_STATUSES)


def _utc(value):
    return clock.as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


@bp.get("/payments.csv")
def payments_csv():
    """The payments list as filtered, as CSV: amounts in rands and cents, times in DISPLAY_TIMEZONE and UTC."""
    filters = queries.payment_filters()
    rows = db.session.execute(queries.payments(**filters).limit(CSV_LIMIT)).scalars().all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for pay in rows:
        enrollment = pay.enrollment
        cents = pay.amount_cents
        writer.writerow([
            pay.external_transaction_id, pay.paylink_id or "", enrollment.learner.email, enrollment.course.slug,
            f"{cents // 100}.{cents % 100:02d}", cents, pay.currency, presenting.payment_state(pay),
            presenting.when_text(pay.created_at), presenting.when_text(pay.succeeded_at),
            presenting.when_text(pay.failed_at), _utc(pay.created_at), _utc(pay.succeeded_at), _utc(pay.failed_at)])
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="cardpay-payments-{stamp}.csv"'})


def _of_payment(time_column, payment_id):
    """The rows of ``time_column``'s table that belong to one payment, oldest first."""
    model = time_column.class_
    return db.session.execute(select(model).where(model.payment_id == payment_id)
                              .order_by(time_column)).scalars().all()


def _audit_rows(payment, item_ids):
    """Operators' actions on this payment or its review items (revoke, restore, decisions), oldest first."""
    targets = [(AuditLog.target_type == "payment") & (AuditLog.target_id == str(payment.id))]
    if item_ids:
        targets.append((AuditLog.target_type == "manual_intervention")
                       & AuditLog.target_id.in_([str(i) for i in item_ids]))
    return db.session.execute(select(AuditLog).where(AuditLog.action == "admin_action", or_(*targets))
                              .order_by(AuditLog.timestamp, AuditLog.id)).scalars().all()


def timeline(payment, approvals, items, callbacks, audit_rows):
    """Every event of a payment, from the rows that exist, in time order: [(when, what, detail)]."""
    events = [(payment.created_at, "Checkout started", presenting.money(payment.amount_cents, payment.currency)),
              (payment.paylink_created_at, "Paylink issued", payment.paylink_id or ""),
              (payment.return_page_at, "Learner on the return page", ""),
              (payment.outcome_known_at, "Outcome known", presenting.label(payment.detection_method)),
              (payment.succeeded_at, "Paid", ""),
              (payment.failed_at, "Declined", payment.failure_reason or ""),
              (payment.access_granted_at, "Access granted", ""),
              (payment.ui_acked_at, "Return page showed access", ""),
              (payment.last_status_check_at, "Last getStatus check", f"{payment.status_check_attempts} "
                                                                      "reconciliation checks")]
    for c in callbacks:
        events.append((c.received_at, f"Callback {c.callback_status or ''}".strip(),
                       f"{presenting.label(c.verdict)}, {presenting.processing(c.processing_status).lower()} (delivery {c.id})"))
    for a in approvals:
        events.append((a.created_at, f"Approval: {presenting.label(a.method)}",
                       " ".join(filter(None, [presenting.label(a.outcome), a.approved_by, a.reason]))))
    for item in items:
        events.append((item.created_at, f"Sent to manual review (#{item.id})", presenting.label(item.reason)))
        if item.resolved_at:
            events.append((item.resolved_at, f"Review #{item.id} {presenting.label(item.status).lower()}",
                           " ".join(filter(None, [item.resolved_by, item.resolution_note]))))
    for row in audit_rows:
        action = (row.details or {}).get("action", row.action)
        if action in ("access_revoked", "access_restored"):
            events.append((row.timestamp, presenting.label(action), f"{row.actor}: {row.reason or ''}"))
    if payment.enrollment.revoked_at and not any(r.details.get("action") == "access_revoked" for r in audit_rows):
        events.append((payment.enrollment.revoked_at, "Access revoked", ""))
    known = [e for e in events if e[0] is not None]
    return sorted(known, key=lambda e: clock.as_utc(e[0]))


@bp.get("/payments/<int:payment_id>")
def payment_detail(payment_id):
    """One payment: its facts, a timeline of every event, approvals, review items and callbacks."""
    payment = db.get_or_404(Payment, payment_id)
    approvals = _of_payment(FastTrackApproval.created_at, payment_id)
    items = _of_payment(ManualIntervention.created_at, payment_id)
    callbacks = _of_payment(WebhookEvent.received_at, payment_id)
    events = timeline(payment, approvals, items, callbacks, _audit_rows(payment, [i.id for i in items]))
    return render_template("admin/payment.html", payment=payment, approvals=approvals, items=items,
                           callbacks=callbacks, events=events, form=ReasonForm(),
                           stale_minutes=current_app.config["STALE_PAYMENT_MINUTES"])


@bp.route("/payments/<int:payment_id>/revoke", methods=["GET", "POST"])
def revoke_access(payment_id):
    """Revoke the course access a payment bought: a confirmation page, then the POST with a reason and a tick."""
    payment = db.get_or_404(Payment, payment_id)
    form = ConfirmForm()
    back = url_for("admin.payment_detail", payment_id=payment_id)
    if form.validate_on_submit():
        try:
            flash(actions.revoke_access(payment_id, actor(), form.reason.data.strip()), "ok")
        except actions.ActionRefused as refused:
            flash(str(refused), "error")
        return redirect(back)
    status = 400 if form.is_submitted() else 200
    return render_template("admin/revoke.html", payment=payment, form=form), status


@bp.post("/payments/<int:payment_id>/restore")
def restore_access(payment_id):
    """Give back access an operator revoked, with a reason (announced like any grant)."""
    db.get_or_404(Payment, payment_id)
    return act(actions.restore_access, payment_id, url_for("admin.payment_detail", payment_id=payment_id))
