"""cardpay: a successful iKhokha card payment becomes immediate course access.

``create_app`` builds the app: config -> extensions -> blueprints -> errors -> signal handlers -> CLI.
It has no side effects beyond that: no migrations, no network calls, no scheduler.
"""

import logging
from pathlib import Path

import click
from flask import Flask

import config as cardpay_config
from cardpay import database, errors, extensions

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def _serving():
    """Tell whether this process is about to serve requests (not a maintenance CLI command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True  # gunicorn, a WSGI server, or a script
    return ctx.info_name in ("run", "scheduler")


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

    from cardpay import logs
    logs.init_app(app)
    database.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(ROOT / "migrations"))
    extensions.csrf.init_app(app)
    extensions.login_manager.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)

    from cardpay import handlers, monitoring_buffer, monitoring_hooks
    handlers.connect_all()
    monitoring_buffer.init_app(app)
    monitoring_hooks.init_app(app)

    from cardpay.cli import cardpay_cli
    app.cli.add_command(cardpay_cli)
    return app


def _register_blueprints(app):
    from cardpay.admin.routes import bp as admin_bp
    from cardpay.health.routes import bp as health_bp
    from cardpay.learner.routes import bp as learner_bp
    from cardpay.openapi import bp as openapi_bp
    from cardpay.webhook.routes import bp as webhook_bp

    for blueprint in (health_bp, learner_bp, webhook_bp, admin_bp, openapi_bp):
        app.register_blueprint(blueprint)
    if app.config["SANDBOX_GATEWAY_ENABLED"]:
        from cardpay.ikhokha.sandbox import bp as sandbox_bp

        app.register_blueprint(sandbox_bp)
