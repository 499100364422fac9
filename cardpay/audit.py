"""Audit logging: who did what, to what, from where, for every security-relevant event.

``record`` adds one audit_logs row to the caller's transaction (honouring
ENABLE_CARD_PAYMENT_AUDIT_LOGGING). A granted approval and a refused callback are audited where they
are recorded (payments/approvals, callbacks), in the same transaction: on PostgreSQL in the same
statement. The receivers below audit failed approvals, manual-review items and admin actions;
cardpay.core.events commits them after the domain transaction. Their details pass through the
card-data mask once more, so whatever a sender put in them, no card number reaches the audit log.
"""

from flask import current_app, has_request_context

from cardpay import signals
from cardpay.core import client_ip, clock, redaction
from cardpay.models import AuditLog
from cardpay.monitoring import append_only


def record(action, actor="system", target_type=None, target_id=None, outcome="ok", reason=None, details=None,
           ip=None):
    """Add an audit_logs row to the session's commit (the caller commits); skipped when audit logging is off."""
    if not current_app.config["ENABLE_CARD_PAYMENT_AUDIT_LOGGING"]:
        return None
    return append_only.add(
        AuditLog, timestamp=clock.now(), actor=actor or "system", action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id), outcome=outcome, reason=reason, details=details or {},
        ip=ip if ip is not None else (client_ip.of_request() if has_request_context() else None))



def _record(action, **values):
    values["details"] = redaction.mask_value(values.get("details") or {})
    if isinstance(values.get("reason"), str):
        values["reason"] = redaction.mask_card_data(values["reason"])
    record(action, **values)


def on_approval_failed(_sender, payment_id=None, method=None, reason=None, **_):
    """A payment that should have been approved was not."""
    _record("approval_failed", target_type="payment", target_id=payment_id, outcome="failed", reason=reason,
            details={"method": method})


def on_manual_intervention_required(_sender, intervention_id=None, payment_id=None, reason=None, details=None,
                                    **_):
    """An item went to the manual-review queue."""
    _record("manual_intervention_required", target_type="manual_intervention", target_id=intervention_id,
            outcome="pending", reason=reason, details={"payment_id": payment_id, "details": details or {}})


def on_manual_intervention_resolved(_sender, intervention_id=None, payment_id=None, decision=None, actor="system",
                                    note=None, **_):
    """A person decided a manual-review item."""
    _record("manual_intervention_resolved", actor=actor, target_type="manual_intervention",
            target_id=intervention_id, outcome=decision or "ok", reason=note,
            details={"payment_id": payment_id, "decision": decision})


def on_admin_action(_sender, action=None, actor="system", target_type=None, target_id=None, reason=None,
                    details=None, **_):
    """An operator did something from the admin pages or the CLI."""
    _record("admin_action", actor=actor, target_type=target_type, target_id=target_id, reason=reason,
            details={"action": action, **(details or {})})


RECEIVERS = (
    (signals.approval_failed, on_approval_failed),
    (signals.manual_intervention_required, on_manual_intervention_required),
    (signals.manual_intervention_resolved, on_manual_intervention_resolved),
    (signals.admin_action, on_admin_action),
)


def connect():
    """Connect this module's receivers."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver)
