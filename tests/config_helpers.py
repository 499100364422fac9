"""Helpers shared by the configuration, health and migration tests: distinctive secrets and a leak
check, complete production settings, the real `flask` command as a subprocess, and a schema-drift detector."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

ROOT = Path(__file__).resolve().parents[1]
FLASK = Path(sys.executable).with_name("flask")

# Distinctive secrets, so a test can tell whether any part of one leaked into output.
SECRETS = {
    "SECRET_KEY": "Sk9QvT3mXw7LpZ2rB8nH4cJ6yF1dG5sKa0eU",
    "IKHOKHA_API_KEY": "AppIdR7wq2NzV4",
    "IKHOKHA_API_SECRET": "ApiSecHx8Lm3Qp6Tz9Wc",
    "IKHOKHA_WEBHOOK_SECRET": "HookSecY5bN1vK8jD2",
    "MAIL_PASSWORD": "SmtpPwE4tR7uI0oP",
}
DB_PASSWORD = "DbPw6Gh2Jk9Ls"


def leaked(secret, text):
    """Return the first 5-character piece of ``secret`` found in ``text`` (None when nothing leaked)."""
    for start in range(len(secret) - 4):
        if secret[start:start + 5] in text:
            return secret[start:start + 5]
    return None


def production_settings(**overrides):
    """Return complete, valid production settings (the database is a closed port: nothing connects)."""
    settings = {
        "CARDPAY_ENV": "production",
        "DATABASE_URL": f"postgres://cardpay:{DB_PASSWORD}@127.0.0.1:9/cardpay",
        "PRODUCTION_URL": "https://pay.example.com",
        "ALERT_EMAIL": "ops@example.com",
        **SECRETS,
    }
    settings.update(overrides)
    return {key: value for key, value in settings.items() if value is not None}


def closed_port():
    """Return a loopback TCP port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_flask(args, env, timeout=60):
    """Run the real `flask --app wsgi ARGS` in a subprocess with exactly ``env`` (plus PATH/HOME)."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
                "FLASK_APP": "wsgi", "FLASK_SKIP_DOTENV": "1", **env}
    return subprocess.run([str(FLASK), *args], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def schema_drift(engine, metadata):
    """Return what Alembic's autogenerate would change to make the database match ``metadata``."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)
