"""Health and configuration checks for load balancers and operators: /health, /health/config, validate-config."""


def init_app(app):
    """Serve the health URLs and add validate-config."""
    from cardpay.health import commands, routes  # noqa: F401  (commands registers itself)

    app.register_blueprint(routes.bp)
