"""The rate limiter (Flask-Limiter, unbound until create_app) and the 429 answer every limit gives.

Counters live in RATE_LIMIT_STORAGE_URL: memory:// counts per process, redis://... is shared by every
worker and host. Limits are keyed by the client address as cardpay.core.client_ip sees it, so a
client cannot pick its own key by writing X-Forwarded-For. RATE_LIMITS_ENABLED=false turns them off.
A view limit names its setting (``from_setting``), so an operator changes a limit without a release;
a breached view limit answers too_many() with Retry-After, JSON on JSON paths and a page otherwise.
"""

import functools
import hashlib
import math
import time

from flask import current_app, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse, parse_many

from cardpay.core import client_ip
from cardpay.core.errors import error_response, wants_json


def _breached(request_limit):
    return too_many(max(1, int(math.ceil(request_limit.reset_at - time.time()))))


limiter = Limiter(key_func=client_ip.of_request, on_breach=_breached)


def init_app(app):
    """Bind the limiter to the app with cardpay's settings."""
    app.config["RATELIMIT_ENABLED"] = bool(app.config["RATE_LIMITS_ENABLED"])
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATE_LIMIT_STORAGE_URL"] or "memory://"
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "cardpay")  # every key, views' and hand-counted ones
    limiter.init_app(app)
    # Flask-Limiter keeps the first app's key prefix for ever; the limiter is one per process, so the
    # app being built (the only one outside tests) decides it.
    limiter._key_prefix = app.config["RATELIMIT_KEY_PREFIX"]

    @app.errorhandler(RateLimitExceeded)
    def answer_rate_limited(exc):
        return exc.response if exc.response is not None else too_many(60)


def from_setting(name):
    """Return a callable giving the limit string ("10/minute;50/hour") a setting holds, for limiter.limit."""
    return lambda: current_app.config[name]


def token_key():
    """Key a limit by the payment token in the URL, hashed: a token never becomes a storage key."""
    token = (request.view_args or {}).get("token", "")
    return "token:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def enabled():
    """Tell whether rate limits apply to this app."""
    return bool(current_app.config["RATE_LIMITS_ENABLED"])


def item(count, seconds):
    """Return a limit of ``count`` hits per ``seconds``."""
    return parse(f"{int(count)} per {int(math.ceil(seconds))} seconds")


@functools.lru_cache(maxsize=64)
def parse_first(text):
    """Return the first limit of a setting such as "30/minute" (the one a hand-counted limit uses).

    Cached: a refused callback asks for its limit on every request, and a setting's text rarely changes.
    """
    return parse_many(text)[0]


def _prefixed(keys):
    return (current_app.config["RATELIMIT_KEY_PREFIX"], *keys)


def exceeded(limit, *keys):
    """Tell whether the counter for ``keys`` has used up ``limit`` (without counting this call)."""
    return enabled() and not limiter.limiter.test(limit, *_prefixed(keys))


def hit(limit, *keys):
    """Count one event against ``keys``."""
    if enabled():
        limiter.limiter.hit(limit, *_prefixed(keys))


def clear(limit, *keys):
    """Forget the events counted against ``keys``."""
    if enabled():
        limiter.limiter.clear(limit, *_prefixed(keys))


def retry_after(limit, *keys):
    """Return the whole seconds until ``keys`` may try again under ``limit`` (at least 1)."""
    reset_at = limiter.limiter.get_window_stats(limit, *_prefixed(keys)).reset_time
    return max(1, int(math.ceil(reset_at - time.time())))


def too_many(seconds, message="Too many requests: wait a little and try again."):
    """Return a 429 with Retry-After: the JSON envelope on JSON paths, a page otherwise."""
    if wants_json():
        response = error_response(429, "too_many_requests", message)
    else:
        response = current_app.make_response((render_template("error.html", status=429, message=message), 429))
    response.headers["Retry-After"] = str(int(seconds))
    return response
