"""The sign-in throttle: failures are counted per (account, client IP) and per client IP, never per account.

A per-account lock lets anyone who knows an operator's email lock the operator out, and answering
"locked" only for real accounts tells a stranger which emails exist. Here ADMIN_MAX_FAILED_LOGINS
failures for one email from one address within ADMIN_LOCKOUT_MINUTES throttle that pair only; one
address that fails IP_FACTOR times as often is throttled for every email. The operator signing in
from anywhere else is unaffected. The keys are the typed email whether or not an account has it, so
the answer cannot tell the two apart. Counters live in the shared rate-limit storage (core/rate_limits).
"""

from flask import current_app

from cardpay.core import rate_limits

IP_FACTOR = 4


class Throttled(Exception):
    """Too many failed sign-ins for this account from this address, or from this address."""

    def __init__(self, retry_after):
        super().__init__("throttled")
        self.retry_after = retry_after


def _limits():
    count = int(current_app.config["ADMIN_MAX_FAILED_LOGINS"])
    seconds = float(current_app.config["ADMIN_LOCKOUT_MINUTES"]) * 60
    return (rate_limits.item(count, seconds), rate_limits.item(count * IP_FACTOR, seconds))


def check(email, ip):
    """Raise Throttled when this (email, ip) pair or this ip has failed too often lately."""
    pair, per_ip = _limits()
    if rate_limits.exceeded(pair, "admin-login", email, ip or "-"):
        raise Throttled(rate_limits.retry_after(pair, "admin-login", email, ip or "-"))
    if rate_limits.exceeded(per_ip, "admin-login-ip", ip or "-"):
        raise Throttled(rate_limits.retry_after(per_ip, "admin-login-ip", ip or "-"))


def failed(email, ip):
    """Count one failed sign-in (wrong password, unknown email or wrong code)."""
    pair, per_ip = _limits()
    rate_limits.hit(pair, "admin-login", email, ip or "-")
    rate_limits.hit(per_ip, "admin-login-ip", ip or "-")


def succeeded(email, ip):
    """Forget this pair's failures after a complete sign-in (the address's own count stays)."""
    pair, _ = _limits()
    rate_limits.clear(pair, "admin-login", email, ip or "-")
