"""Pooled connections: pinged before use only after sitting idle, so a dead idle one is replaced unseen;
and the WSGI entry point freezes what start-up built, for the garbage collector."""

import subprocess
import sys

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cardpay.core import database
from cardpay.core.extensions import db
from tests.config_helpers import ROOT
from tests.conftest import TEST_SECRET_KEY


def _kill_the_pooled_connection(app):
    """Leave exactly one connection in the pool, and terminate its server process."""
    with app.app_context():
        db.engine.dispose()
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()  # back to the pool, marked idle from now
        with psycopg.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.postgres_only
def test_a_connection_that_died_while_idle_is_replaced_before_use(app, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout counts as after idling
    _kill_the_pooled_connection(app)
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.postgres_only
def test_a_connection_back_in_use_at_once_is_not_pinged(app, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)  # never idle long enough
    _kill_the_pooled_connection(app)
    with app.app_context():
        with pytest.raises(OperationalError):  # no ping: the statement itself finds the connection dead
            db.session.execute(text("SELECT 1"))
        db.session.rollback()
        assert db.session.execute(text("SELECT 1")).scalar() == 1  # and the pool was renewed


def test_the_wsgi_entry_point_freezes_what_start_up_built(migrated_database, tmp_path):
    env = {"CARDPAY_ENV": "testing", "DATABASE_URL": migrated_database, "SECRET_KEY": TEST_SECRET_KEY,
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    frozen = subprocess.run([sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert frozen.returncode == 0, frozen.stderr
    assert int(frozen.stdout.split()[-1]) > 10_000
