"""WSGI entry point for gunicorn and `flask --app wsgi`."""

import sys

from config import ConfigError
from cardpay import create_app

try:
    app = create_app()
except ConfigError as exc:
    # One line naming what is missing, not a traceback, in the server's log.
    sys.exit(str(exc))
