"""`flask cardpay` commands for the callback area."""

from cardpay.cli import cardpay_cli  # noqa: F401
