"""The `flask cardpay ...` command group; each package adds its own commands to it (its commands.py)."""

from flask.cli import AppGroup

cardpay_cli = AppGroup("cardpay", help="cardpay operations: configuration, payments, alerts, jobs, admin.")
