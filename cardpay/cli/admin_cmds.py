"""`flask cardpay` commands for the admin area."""

from cardpay.cli import cardpay_cli  # noqa: F401
