"""The rate limiter (Flask-Limiter, unbound until create_app) and the 429 answer every limit gives.

Counters live in RATE_LIMIT_STORAGE_URL: memory:// counts per process, redis://... is shared by every
worker and host. Limits are keyed by the client address as cardpay.core.client_ip sees it, so a
client cannot pick its own key by writing X-Forwarded-For. RATE_LIMITS_ENABLED=false turns them off.
"""

import math
import time

from flask import current_app, render_template
from flask_limiter import Limiter
from limits import parse

from cardpay.core import client_ip
from cardpay.core.errors import error_response, wants_json

limiter = Limiter(key_func=client_ip.of_request)


def init_app(app):
    """Bind the limiter to the app with cardpay's settings."""
    app.config["RATELIMIT_ENABLED"] = bool(app.config["RATE_LIMITS_ENABLED"])
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATE_LIMIT_STORAGE_URL"] or "memory://"
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)


def enabled():
    """Tell whether rate limits apply to this app."""
    return bool(current_app.config["RATE_LIMITS_ENABLED"])


def item(count, seconds):
    """Return a limit of ``count`` hits per ``seconds``."""
    return parse(f"{int(count)} per {int(math.ceil(seconds))} seconds")


def exceeded(limit, *keys):
    """Tell whether the counter for ``keys`` has used up ``limit`` (without counting this call)."""
    return enabled() and not limiter.limiter.test(limit, *keys)


def hit(limit, *keys):
    """Count one event against ``keys``."""
    if enabled():
        limiter.limiter.hit(limit, *keys)


def retry_after(limit, *keys):
    """Return the whole seconds until ``keys`` may try again under ``limit`` (at least 1)."""
    reset_at = limiter.limiter.get_window_stats(limit, *keys).reset_time
    return max(1, int(math.ceil(reset_at - time.time())))


def too_many(seconds, message="Too many requests: wait a little and try again."):
    """Return a 429 with Retry-After: the JSON envelope on JSON paths, a page otherwise."""
    if wants_json():
        response = error_response(429, "too_many_requests", message)
    else:
        response = current_app.make_response((render_template("error.html", status=429, message=message), 429))
    response.headers["Retry-After"] = str(int(seconds))
    return response
