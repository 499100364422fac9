"""`flask cardpay` commands for the payments area."""

from cardpay.cli import cardpay_cli  # noqa: F401
