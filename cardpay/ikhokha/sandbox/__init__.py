"""The sandbox gateway: a local stand-in for iKhokha (off in production)."""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox/ikhokha")
