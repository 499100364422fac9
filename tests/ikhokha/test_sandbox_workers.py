"""The built-in sandbox under `gunicorn -w 2` (the shipped config): every worker sees every paylink, so ten
purchases in a row all reach the card page and end with access, whichever worker answers each step."""

import json

import pytest

from cardpay.core.extensions import db
from cardpay.ikhokha.sandbox.shopper import buy
from cardpay.models import Course
from tests.conftest import TEST_SECRET_KEY, free_port
from tests.gunicorn_helpers import serving


@pytest.mark.slow
def test_ten_purchases_in_a_row_under_two_gunicorn_workers(app, migrated_database, tmp_path):
    with app.app_context():
        db.session.add(Course(slug="two-workers", title="Two Workers", price_cents=49900))
        db.session.commit()
    port = free_port()
    settings = {"CARDPAY_ENV": "development", "DATABASE_URL": migrated_database, "SECRET_KEY": TEST_SECRET_KEY,
                "PRODUCTION_URL": f"http://127.0.0.1:{port}", "SANDBOX_STATE_FILE": str(tmp_path / "sandbox.sqlite3")}
    log_path = tmp_path / "gunicorn.log"
    with serving(settings, log_path, ["--workers", "2"], port=port) as base:
        purchases = [buy(base, "two-workers", email=f"learner{n}@example.com", wait_seconds=20) for n in range(10)]
        assert all(p.granted for p in purchases), [p.status for p in purchases]
        assert len(_sandbox_pids(log_path)) == 2, "both workers took part in the sandbox's work"


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
