"""The built-in sandbox under `gunicorn -w 2` (the shipped config): every worker sees every paylink, so ten
purchases in a row all reach the card page and end with access, whichever worker answers each step."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from cardpay.core.extensions import db
from cardpay.ikhokha.sandbox.shopper import buy
from cardpay.models import Course
from tests.conftest import TEST_SECRET_KEY, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_ten_purchases_in_a_row_under_two_gunicorn_workers(app, migrated_database, tmp_path):
    with app.app_context():
        db.session.add(Course(slug="two-workers", title="Two Workers", price_cents=49900))
        db.session.commit()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CARDPAY_", "VITE_"))}
    env.update({"CARDPAY_ENV": "development", "DATABASE_URL": migrated_database, "SECRET_KEY": TEST_SECRET_KEY,
                "PRODUCTION_URL": base, "SANDBOX_STATE_FILE": str(tmp_path / "sandbox.sqlite3"),
                "PYTHONUNBUFFERED": "1"})
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, log_path.read_text()
            time.sleep(0.2)
        purchases = [buy(base, "two-workers", email=f"learner{n}@example.com", wait_seconds=20) for n in range(10)]
        assert all(p.granted for p in purchases), [p.status for p in purchases]
        assert len(_sandbox_pids(log_path)) == 2, "both workers took part in the sandbox's work"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _sandbox_pids(log_path):
    """The worker pids the JSON access log shows answering the sandbox's API and card page."""
    pids = set()
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if str(entry.get("path", "")).startswith("/sandbox/ikhokha/"):
            pids.add(entry.get("pid"))
    return pids
