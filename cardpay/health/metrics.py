"""GET /metrics: Prometheus text exposition of cardpay's figures, read from the database at scrape time."""

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from cardpay.health.routes import bp
from cardpay.metrics_collector import CardpayCollector


@bp.get("/metrics")
def metrics():
    """Answer a Prometheus scrape with figures that are the same whichever worker answers."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CardpayCollector())
    return Response(generate_latest(registry), mimetype=None, content_type=CONTENT_TYPE_LATEST)
