"""The `flask cardpay ...` command group; each area keeps its commands in its own module."""

from flask.cli import AppGroup

cardpay_cli = AppGroup("cardpay", help="cardpay operations: configuration, payments, alerts, jobs, admin.")

# Imported for their side effect of adding commands to the group.
from cardpay.cli import (admin_cmds, alerts_cmds, callback_cmds, config_cmds, jobs_cmds,  # noqa: E402,F401
                         payments_cmds, sandbox_cmds)
