"""`flask cardpay` commands for the jobs area."""

from cardpay.cli import cardpay_cli  # noqa: F401
