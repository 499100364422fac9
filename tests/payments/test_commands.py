"""`flask cardpay seed-demo`, `simulate-payment` and `sandbox-gateway`."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from cardpay.core.extensions import db
from cardpay.models import Course, Payment
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("checkout", "paylink", "card payment", "callback/detection", "access granted", "ui-ack")


def test_seed_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["cardpay", "seed-demo"])
    assert first.exit_code == 0 and "3 added, 0 already there" in first.output
    second = runner.invoke(args=["cardpay", "seed-demo"])
    assert "0 added, 3 already there" in second.output
    courses = db.session.query(Course).order_by(Course.slug).all()
    assert [(c.slug, c.currency, c.active) for c in courses] == [
        ("data-analysis-pandas", "ZAR", True), ("python-foundations", "ZAR", True), ("web-apps-flask", "ZAR", True)]
    assert all(isinstance(c.price_cents, int) and c.price_cents > 1000 for c in courses)
    db.session.commit()


def test_simulate_payment_buys_a_course_in_process_and_prints_each_stage(app, runner):
    runner.invoke(args=["cardpay", "seed-demo"])
    result = runner.invoke(args=["cardpay", "simulate-payment", "--course", "web-apps-flask"])
    assert result.exit_code == 0, result.output
    for stage in STAGES:
        assert stage in result.output
    assert "access granted" in result.output and "detected by callback" in result.output
    assert "****4242" in result.output and "4242424242424242" not in result.output
    db.session.commit()
    [payment] = db.session.query(Payment).all()
    assert payment.status == "succeeded" and payment.ui_acked_at is not None
    db.session.commit()


def test_simulate_payment_with_a_declined_card_exits_1(app, runner):
    runner.invoke(args=["cardpay", "seed-demo"])
    result = runner.invoke(args=["cardpay", "simulate-payment", "--card", "4000000000000002"])
    assert result.exit_code == 1
    assert "payment failed" in result.output and "no access" in result.output


def test_simulate_payment_against_a_running_cardpay(live_app):
    app, server = live_app()
    runner = app.test_cli_runner()
    runner.invoke(args=["cardpay", "seed-demo"])
    result = runner.invoke(args=["cardpay", "simulate-payment", "--base-url", server.url, "--card",
                                 "4000000000000077"])
    assert result.exit_code == 0, result.output
    assert "detected by status_poll" in result.output  # the silent card: only getStatus knew


def test_simulate_payment_refuses_a_real_gateway(app_factory):
    app = app_factory(IKHOKHA_API_URL="https://api.ikhokha.com/public-api/v1/api")
    runner = app.test_cli_runner()
    runner.invoke(args=["cardpay", "seed-demo"])
    result = runner.invoke(args=["cardpay", "simulate-payment"])
    assert result.exit_code == 1 and "sandbox gateway only" in result.output


@pytest.mark.slow
def test_sandbox_gateway_command_serves_the_sandbox_alone(tmp_path):
    port = free_port()
    env = dict(os.environ, FLASK_APP="wsgi", CARDPAY_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
               SECRET_KEY="k" * 40)
    process = subprocess.Popen([sys.executable, "-m", "flask", "cardpay", "sandbox-gateway", "--port", str(port),
                                "--callback-delay", "1"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/sandbox/ikhokha/api/getStatus/x", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "sandbox-gateway did not start"
                time.sleep(0.2)
        assert answer.status_code == 401 and "IK-APPID" in answer.json()["message"]
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert f"IKHOKHA_API_URL=http://127.0.0.1:{port}/sandbox/ikhokha/api" in err.decode()
    assert "held back 1 s" in err.decode()
