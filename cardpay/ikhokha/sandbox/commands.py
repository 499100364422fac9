"""`flask cardpay sandbox-gateway`: serve the stand-in for iKhokha alone, on its own port.

Mounted inside cardpay the sandbox already serves every gunicorn worker (its paylinks are in
SANDBOX_STATE_FILE); run it alone to watch it apart from cardpay, then point IKHOKHA_API_URL at the
printed address.
"""

import click
from flask import current_app
from werkzeug.serving import run_simple

from cardpay.core.cli import cardpay_cli


@cardpay_cli.command("sandbox-gateway")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5001, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--callback-delay", default=None, type=click.FloatRange(min=0),
              help="Seconds to hold back every callback (default: SANDBOX_CALLBACK_DELAY_SECONDS).")
def sandbox_gateway_command(host, port, callback_delay):
    """Serve the sandbox gateway alone (payment, getStatus, card page, signed callbacks)."""
    from cardpay.ikhokha.sandbox import URL_PREFIX, create_sandbox_app

    if not current_app.config["SANDBOX_GATEWAY_ENABLED"]:
        raise click.ClickException("SANDBOX_GATEWAY_ENABLED is false here (it always is in production)")
    if callback_delay is None:
        callback_delay = float(current_app.config.get("SANDBOX_CALLBACK_DELAY_SECONDS") or 0)
    click.echo(f"sandbox gateway: set IKHOKHA_API_URL=http://{host}:{port}{URL_PREFIX}/api "
               f"(callbacks held back {callback_delay:g} s)", err=True)
    app = create_sandbox_app(current_app.config["SANDBOX_APP_ID"], current_app.config["SANDBOX_SECRET"], callback_delay)
    run_simple(host, port, app, threaded=True, use_reloader=False)
