"""`flask cardpay` commands for the alerts area."""

from cardpay.cli import cardpay_cli  # noqa: F401
