"""iKhokha's callback, read top to bottom in SPEC §5 order: routes (thin view), verify, intake, records
(webhook_events, and PostgreSQL's one-statement form in one_statement), replay."""


def init_app(app):
    """Serve the callback URLs and add the replay command."""
    from cardpay.callbacks import replay, routes  # noqa: F401  (replay registers its command)

    app.register_blueprint(routes.bp)
