"""cardpay: a successful iKhokha card payment becomes immediate course access.

``create_app`` builds the app: config -> extensions -> each package's init_app (its blueprints,
receivers and commands). It has no side effects beyond that: no migrations, no network calls, no
scheduler.
"""

import logging
import sys
from pathlib import Path

import click
from flask import Flask

import config as cardpay_config
from cardpay.core import cookie_sessions, database, errors, extensions, rate_limits, security_headers
from cardpay.core.cli import cardpay_cli

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def _serving():
    """Tell whether this process is about to serve requests (not a maintenance CLI command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True  # gunicorn, a WSGI server, or a script
    return ctx.info_name in ("run", "scheduler")


def _web_worker():
    """Tell whether this process is a gunicorn worker (it serves; `flask db` and the tests are not one)."""
    return "gunicorn" in sys.modules and click.get_current_context(silent=True) is None


def create_app(config=None):
    """Build a cardpay app; ``config`` is a mapping of settings that override the environment."""
    app = Flask(__name__, instance_path=str(ROOT / "instance"), instance_relative_config=True)
    overrides = dict(config or {})
    if overrides.get("CARDPAY_ENV") != "testing":
        cardpay_config.load_dotenv_files(ROOT)
    mapping, loaded = cardpay_config.build_config(app.instance_path, overrides=overrides)
    app.config.update(mapping)
    app.extensions["cardpay_settings"] = loaded
    problems = cardpay_config.fatal_problems(loaded)
    if problems:
        message = "cardpay cannot start: " + "; ".join(problems)
        if _serving():
            raise cardpay_config.ConfigError(message)
        log.warning("%s (continuing for this CLI command only)", message)

    from cardpay.core import logs
    logs.init_app(app)
    if loaded.sources["CARDPAY_ENV"] is None and _serving():
        log.warning("CARDPAY_ENV is not set: serving as %s, with the sandbox gateway %s. Set CARDPAY_ENV=production "
                    "on a server.", loaded.values["CARDPAY_ENV"],
                    "mounted" if app.config["SANDBOX_GATEWAY_ENABLED"] else "off",
                    extra={"cardpay": {"environment": loaded.values["CARDPAY_ENV"], "cardpay_env_set": False}})
    database.init_app(app)
    cookie_sessions.init_app(app)
    if not _web_worker():
        extensions.init_migrations(app, str(ROOT / "migrations"))
    extensions.csrf.init_app(app)
    extensions.login_manager.init_app(app)
    errors.init_app(app)
    rate_limits.init_app(app)
    security_headers.init_app(app)
    _init_packages(app)
    app.cli.add_command(cardpay_cli)
    return app


def _init_packages(app):
    """Let each behaviour wire itself in: blueprints, signal receivers, CLI commands."""
    from cardpay import admin, alerting, audit, callbacks, catalogue, health, integrations, jobs, learners, monitoring, payments
    from cardpay.ikhokha import sandbox

    for package in (health, payments, learners, catalogue, integrations, callbacks, admin, monitoring, alerting, jobs):
        package.init_app(app)
    audit.connect()
    sandbox.init_app(app)
