"""How the admin pages show things: one time format in DISPLAY_TIMEZONE, one money format, human labels,
rounded figures, a payment's state as an operator reads it, and admin error pages inside the admin frame.

The Jinja filters are registered by the admin blueprint under ``admin_`` names so they cannot clash with
filters another package registers; the templates reach them through admin/_macros.html.
"""

from datetime import datetime, timedelta

from flask import current_app, render_template, request
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from cardpay.core import clock, display
from cardpay.core.errors import CardpayError, wants_json

UNPAID = ("created", "pending")
# Names whose general label (core/display.label) reads wrong on an admin page, or that it does not know.
ADMIN_LABELS = {"externalTransactionID": "Reference", "answer_external_transaction_id": "Reference in the answer",
                "answer_paylink_id": "Paylink in the answer", "paylink_id": "Paylink", "payment_id": "Payment",
                "enrollment_id": "Enrollment", "ikhokha_status": "iKhokha said", "review_reason": "Why reviewed",
                "ui_update": "Page update", "admin_login": "Admin signed in", "admin_logout": "Admin signed out",
                "manual_review_approved_override": "Manual review approved against iKhokha (override)"}
# A callback delivery's processing status: "failed" here is our processing, not a declined card.
PROCESSING = {"received": "Received, not processed", "processing": "Processing", "processed": "Processed",
              "manual_review": "Sent to manual review", "ignored": "Ignored", "failed": "Processing failed",
              "duplicate": "Duplicate", "rejected": "Refused"}


def when(value):
    """A moment as ``5 Dec 2026, 14:03 SAST`` in DISPLAY_TIMEZONE, its UTC time on hover; ``—`` for none."""
    if value is None or value == "":
        return Markup("—")
    utc = _moment(value)
    shown = display.when(utc, current_app.config["DISPLAY_TIMEZONE"])
    return Markup('<time datetime="{}" title="{} UTC">{}</time>').format(
        utc.isoformat(timespec="seconds"), utc.strftime("%Y-%m-%d %H:%M:%S"), shown)


def _moment(value):
    """A datetime, or an ISO 8601 string as the JSON figures carry it, as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return clock.as_utc(value)


def when_text(value):
    """The same format as plain text (CSV, titles)."""
    return display.when(_moment(value), current_app.config["DISPLAY_TIMEZONE"]) if value else ""


def money(cents, currency="ZAR"):
    """Integer cents as ``R1,234.00``, kept on one line."""
    if cents is None:
        return Markup("—")
    return Markup('<span class="money">{}</span>').format(display.money(int(cents), currency))


def label(name):
    """The human label of an internal name (stage, status, method); ``—`` for none."""
    if name in (None, ""):
        return "—"
    return ADMIN_LABELS.get(name) or display.label(name)


def processing(name):
    """A callback delivery's processing status in words."""
    return PROCESSING.get(name) or label(name)


def rounded(value):
    """Round every float in ``value`` (a figure, a list or a mapping) to 2 decimals: no float noise on a page."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item) for item in value]
    return value


def details(value):
    """An audit row's details as ``key: value`` lines, floats rounded; plain text for anything else."""
    if not value:
        return ""
    if not isinstance(value, dict):
        return escape(str(rounded(value)))
    lines = (Markup("<span class=\"detail\"><b>{}</b> {}</span>").format(label(key), _plain(item))
             for key, item in rounded(value).items())
    return Markup(" ").join(lines)


def _plain(item):
    if isinstance(item, dict):
        return ", ".join(f"{key}: {_plain(v)}" for key, v in item.items())
    if isinstance(item, (list, tuple)):
        return ", ".join(_plain(v) for v in item)
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, str) and item in display.LABELS:
        return display.LABELS[item]
    return "—" if item is None else str(item)


def payment_state(payment, now=None):
    """The payment's status as an operator reads it: a checkout left waiting past STALE_PAYMENT_MINUTES is
    ``abandoned`` (iKhokha does not tell cardpay when a learner gives up)."""
    if payment.status in UNPAID:
        stale = timedelta(minutes=current_app.config["STALE_PAYMENT_MINUTES"])
        if (now or clock.now()) - clock.as_utc(payment.created_at) > stale:
            return "abandoned"
    return payment.status


def access_state(payment):
    """What access the learner has through this payment, in words: an unpaid enrollment is not "pending"
    when its payment was declined or abandoned."""
    status = payment.enrollment.status
    if status == "pending_payment":
        state = payment_state(payment)
        if state in ("failed", "abandoned"):
            return "No access"
        if state == "manual_review":
            return "Waits for review"
    return label(status)


def _is_admin_page():
    return request.path.startswith("/admin") and not wants_json()


def _admin_error(status, message):
    from cardpay.admin.forms import EmptyForm

    return render_template("admin/error.html", status=status, message=message, logout_form=EmptyForm()), status


def install_error_pages(app):
    """Answer errors on admin pages with a page inside the admin frame; every other path keeps core's handlers."""
    handlers = app.error_handler_spec[None][None]
    core_http, core_any = handlers[HTTPException], handlers[Exception]

    def http_error(exc):
        if not _is_admin_page():
            return core_http(exc)
        try:
            return _admin_error(exc.code or 500, exc.description or exc.name)
        except Exception:  # noqa: BLE001 - the frame needs the database; fall back to the plain page
            return core_http(exc)

    def unexpected(exc):
        answer = core_any(exc)  # logs the trace and rolls the session back
        if not _is_admin_page():
            return answer
        try:
            return _admin_error(500, "Something went wrong on our side; it has been logged.")
        except Exception:  # noqa: BLE001
            return answer

    core_refusal = handlers.get(CardpayError)

    def refusal(exc):
        if not _is_admin_page() or core_refusal is None:
            return core_refusal(exc) if core_refusal else http_error(exc)
        try:
            return _admin_error(exc.status, exc.message)
        except Exception:  # noqa: BLE001
            return core_refusal(exc)

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(CardpayError, refusal)
    app.register_error_handler(Exception, unexpected)


# Registered once by routes.py as admin_<name> Jinja filters.
FILTERS = {"when": when, "when_text": when_text, "money": money, "label": label, "processing": processing,
           "rounded": rounded, "details": details, "payment_state": payment_state, "access_state": access_state}
