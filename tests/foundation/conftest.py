"""Fixtures for the foundation tests: a fresh database of a test's own and the `flask` command in-process."""

import os
import uuid

import psycopg
import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup

from cardpay import create_app

PG_ADMIN_URL = os.environ.get("CARDPAY_TEST_DATABASE_URL", "")


@pytest.fixture
def flask_cli():
    """Run `flask ARGS` in-process through Flask's own command group, on an app built from ``settings``."""

    def invoke(args, settings):
        group = FlaskGroup(create_app=lambda: create_app(settings))
        return CliRunner().invoke(group, args, catch_exceptions=False)

    return invoke


@pytest.fixture
def fresh_database_url(tmp_path):
    """A new, empty database of this test's own: a SQLite file, or a PostgreSQL database created and dropped."""
    if not PG_ADMIN_URL:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")
    name = f"cardpay_fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{admin.rpartition('/')[0]}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
