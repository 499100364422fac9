"""The sandbox gateway: a faithful local stand-in for iKhokha (off in production).

Mounted at /sandbox/ikhokha inside cardpay when SANDBOX_GATEWAY_ENABLED (development and the
demo), or served alone by ``create_sandbox_app`` (`flask cardpay sandbox-gateway`). Mounted in
development, its paylinks live in instance/sandbox.sqlite3, shared by every worker (see state.py).

Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined; 4000 0000 0000 0077
succeeds without a callback (only getStatus knows); any other number succeeds when it passes the
Luhn check and is refused as mistyped when it does not. SANDBOX_CALLBACK_DELAY_SECONDS holds every
callback back that long.
"""

import os

from flask import Blueprint, Flask
from werkzeug.exceptions import HTTPException

from cardpay.core.extensions import csrf
from cardpay.ikhokha.sandbox.state import SandboxState

URL_PREFIX = "/sandbox/ikhokha"
bp = Blueprint("sandbox", __name__, url_prefix=URL_PREFIX, template_folder="templates")
# A stand-in for another site: its card form posts to itself, and its API is authenticated by IK-SIGN.
csrf.exempt(bp)


@bp.record
def _attach_state(setup_state):
    app = setup_state.app
    # Development keeps paylinks where every gunicorn worker sees them; tests keep them per app.
    path = app.config.get("SANDBOX_STATE_FILE")  # a sandbox served alone has no cardpay settings
    if path is None and app.config.get("CARDPAY_ENV") == "development":
        path = os.path.join(app.instance_path, "sandbox.sqlite3")
    app.extensions.setdefault("ikhokha_sandbox", SandboxState(path))


def state_of(app):
    """Return the sandbox state of an app that serves the sandbox."""
    return app.extensions["ikhokha_sandbox"]


def init_app(app):
    """Mount the sandbox inside cardpay when SANDBOX_GATEWAY_ENABLED; add the sandbox-gateway command."""
    from cardpay.ikhokha.sandbox import commands  # noqa: F401  (registers itself)

    if app.config["SANDBOX_GATEWAY_ENABLED"]:
        app.register_blueprint(bp)


def create_sandbox_app(app_id, secret, callback_delay=0.0):
    """Build a Flask app that serves only the sandbox gateway, under the same /sandbox/ikhokha paths,
    accepting requests signed with ``app_id`` / ``secret`` and signing its callbacks with them."""
    app = Flask(__name__)
    app.config.update(SANDBOX_CALLBACK_DELAY_SECONDS=callback_delay, SANDBOX_APP_ID=app_id, SANDBOX_SECRET=secret)
    app.register_blueprint(bp)

    @app.errorhandler(HTTPException)
    def json_error(exc):
        return {"responseCode": str(exc.code), "message": exc.description}, exc.code

    return app


from cardpay.ikhokha.sandbox import routes  # noqa: E402,F401  (registers the views on bp)
