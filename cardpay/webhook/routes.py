"""Routes of the webhook blueprint."""

from flask import Blueprint

bp = Blueprint("webhook", __name__)
