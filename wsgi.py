"""WSGI entry point for gunicorn and `flask --app wsgi`."""

from cardpay import create_app

app = create_app()
