"""Audit logging: who did what, to what, from where — for every security-relevant event."""

from flask import current_app, has_request_context

from cardpay import append_only, clock
from cardpay.models import AuditLog
from cardpay.services import client_ip


def record(action, actor="system", target_type=None, target_id=None, outcome="ok", reason=None, details=None,
           ip=None):
    """Add an audit_logs row to the session's commit (the caller commits); skipped when audit logging is off."""
    if not current_app.config["ENABLE_CARD_PAYMENT_AUDIT_LOGGING"]:
        return None
    return append_only.add(
        AuditLog, timestamp=clock.now(), actor=actor or "system", action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id), outcome=outcome, reason=reason, details=details or {},
        ip=ip if ip is not None else (client_ip.of_request() if has_request_context() else None))
