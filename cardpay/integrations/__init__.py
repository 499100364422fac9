"""Telling the business's own systems about access (SPEC §14): the access API and its keys.

Nothing here imports cardpay.admin or cardpay.jobs.
"""


def init_app(app):
    """Serve the access API (bearer keys, so no CSRF) and add the `flask cardpay api-key ...` commands."""
    from cardpay.core.extensions import csrf
    from cardpay.integrations import access_api, commands  # noqa: F401  (commands registers itself)

    csrf.exempt(access_api.bp)  # a bearer key, not a browser cookie, authenticates these requests
    app.register_blueprint(access_api.bp)
