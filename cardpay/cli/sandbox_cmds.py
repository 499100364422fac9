"""`flask cardpay` commands for the sandbox area."""

from cardpay.cli import cardpay_cli  # noqa: F401
