"""Telling the business's own systems about access (SPEC §14): access events, the access API and its keys.

Nothing here imports cardpay.admin or cardpay.jobs.
"""


def init_app(app):
    """Serve the access API (bearer keys, so no CSRF), send access events, add the api-key and access-events
    commands."""
    from cardpay.core.extensions import csrf
    from cardpay.integrations import access_api, access_events, commands  # noqa: F401  (commands registers itself)

    access_events.connect()
    csrf.exempt(access_api.bp)  # a bearer key, not a browser cookie, authenticates these requests
    app.register_blueprint(access_api.bp)
