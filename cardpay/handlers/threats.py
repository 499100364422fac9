"""Receivers that feed threat detection (services/threats) with every callback, accepted or rejected."""

from cardpay import signals
from cardpay.services import threats


def on_callback(sender, remote_ip=None, event_id=None, **_):
    """Check the callback's source for a burst of suspicious deliveries."""
    threats.check_source(remote_ip, event_id)


def connect():
    """Connect this module's receivers."""
    signals.callback_rejected.connect(on_callback)
    signals.callback_received.connect(on_callback)
