"""Fixtures for the jobs tests: seeding helpers and real subprocesses (gunicorn, schedulers)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
on_postgres = pytest.mark.skipif(not PG_ADMIN_URL, reason="needs PostgreSQL (CARDPAY_TEST_DATABASE_URL)")
on_sqlite = pytest.mark.skipif(bool(PG_ADMIN_URL), reason="the SQLite variant of a PostgreSQL test")


def process_env(database_url, **settings):
    """Return the environment a cardpay subprocess runs with: this run's database, test settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CARDPAY_", "VITE_"))}
    env.update({"CARDPAY_ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY,
                "FLASK_APP": "wsgi", "PYTHONUNBUFFERED": "1"})
    env.update({key: str(value) for key, value in settings.items()})
    return env


@pytest.fixture
def processes(app_factory, tmp_path):
    """Start subprocesses in their own sessions; stop every one of them (by its id) after the test."""
    started = []

    def start(args, env, name):
        log = open(tmp_path / f"{name}.log", "wb")
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.log_path = tmp_path / f"{name}.log"
        started.append((proc, log))
        return proc

    yield start
    for proc, log in started:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # gunicorn's master stops its workers; a scheduler its jobs
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever it left behind in its own session
        except ProcessLookupError:
            pass
        log.close()
