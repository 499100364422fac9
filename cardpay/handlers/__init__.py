"""Signal receivers: module-level functions, connected once (Blinker ignores a second connect).

Receivers only add rows to the session; cardpay.events.publish commits them after the domain
transaction, so a receiver's failure never undoes or delays a payment.
"""

from cardpay.handlers import alerting, audit, business, metrics, performance, threats

MODULES = (audit, metrics, performance, business, alerting, threats)


def connect_all():
    """Connect every handler module's receivers to the domain signals."""
    for module in MODULES:
        module.connect()
