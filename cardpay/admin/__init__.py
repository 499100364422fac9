"""Operators: sign-in, the dashboard and its summary and criteria, the admin pages and JSON API,
/openapi.json, create-admin and verify-deployment. Nothing else in cardpay imports this package."""


def init_app(app):
    """Serve the admin pages, the admin API and /openapi.json; add the admin commands."""
    from cardpay.admin import commands, openapi, presenting, routes  # noqa: F401  (commands registers itself)

    app.register_blueprint(routes.bp)
    presenting.install_error_pages(app)
    app.register_blueprint(openapi.bp)
