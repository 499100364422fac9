"""Receivers that write audit_logs: failed approvals, manual-review items, admin actions.

A granted approval and a refused callback are audited where they are recorded (services/approvals,
services/callbacks), in the same transaction: on PostgreSQL in the same statement.

Each adds one row through services/audit.record (which honours ENABLE_CARD_PAYMENT_AUDIT_LOGGING);
cardpay.events commits them after the domain transaction. Details pass through the card-data mask
once more, so whatever a sender put in them, no card number reaches the audit log.
"""

from cardpay import signals
from cardpay.services import audit, scrub


def _record(action, **values):
    values["details"] = scrub.mask_value(values.get("details") or {})
    if isinstance(values.get("reason"), str):
        values["reason"] = scrub.mask_card_data(values["reason"])
    audit.record(action, **values)


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
