"""Monitoring: the receivers that write metric and stage rows, append-only rows and the worker buffer,
request hooks, rollups and their reads, histograms, business rollups, the error-rate figure, and /metrics."""


def init_app(app):
    """Connect the receivers, give the app its worker buffer and request hooks, and serve /metrics."""
    from cardpay.monitoring import receivers, request_hooks, scrape, worker_buffer

    receivers.connect()
    worker_buffer.init_app(app)
    request_hooks.init_app(app)
    app.register_blueprint(scrape.bp)
