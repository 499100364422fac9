"""Receivers that feed threat detection (services/threats) with every callback, accepted or rejected.

The kind of a delivery is read from the signal itself, so an ordinary callback costs no query.
"""

from cardpay import signals
from cardpay.services import threats


def on_callback_rejected(sender, remote_ip=None, reason=None, http_status=None, **_):
    """Count a refused callback towards its source's burst (bad signature, allowlist, stale timestamp)."""
    threats.observe(remote_ip, threats.kind_of(reason, http_status))


def on_callback_received(sender, remote_ip=None, event_id=None, outcome=None, status=None, **_):
    """Count a duplicate or an unknown paylink towards its source's burst."""
    threats.observe(remote_ip, threats.received_kind(event_id, outcome, status))


def connect():
    """Connect this module's receivers."""
    signals.callback_rejected.connect(on_callback_rejected)
    signals.callback_received.connect(on_callback_received)
