"""GET /metrics: who may scrape, and the answer (built by monitoring/prometheus, loaded on the first scrape).

The figures include revenue, so a scrape needs METRICS_BEARER_TOKEN as a bearer token or an address
in METRICS_ALLOWED_IPS; with neither configured, /metrics stays open outside production and refuses
every caller in production.
"""

import hmac

from flask import Blueprint, current_app, request

from cardpay.core import client_ip
from cardpay.core.errors import error_response

bp = Blueprint("monitoring", __name__)


def _scrape_allowed():
    """Tell whether this caller may read /metrics (see the module docstring)."""
    config = current_app.config
    token, networks = config["METRICS_BEARER_TOKEN"], config["METRICS_ALLOWED_IPS"]
    if networks and client_ip.is_allowed(client_ip.of_request(), networks):
        return True
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    return not networks and config["CARDPAY_ENV"] != "production"


@bp.before_request
def guard_metrics():
    """Refuse a scrape without the bearer token or an allowed address (401 in the JSON envelope)."""
    if not _scrape_allowed():
        response = error_response(401, "unauthorized", "/metrics needs its bearer token or an allowed address.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


@bp.get("/metrics")
def metrics():
    """Answer a Prometheus scrape with figures that are the same whichever worker answers."""
    # Imported here: prometheus_client is ~10 ms of every worker's start, and a callback never needs it.
    from cardpay.monitoring import prometheus

    return prometheus.exposition()
