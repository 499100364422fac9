"""The operator docs name only commands that exist, and the units start what the docs say."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_in_the_runbook_and_deployment_guide_exists(app):
    from cardpay.core.cli import cardpay_cli

    commands = set(cardpay_cli.commands)
    for page in ("docs/runbook.md", "docs/deployment.md"):
        named = set(re.findall(r"flask cardpay ([a-z-]+)", (ROOT / page).read_text()))
        assert named and named <= commands, (page, named - commands)
    runbook = (ROOT / "docs/runbook.md").read_text()
    for command in ("validate-config", "test-alerts", "verify-deployment", "cleanup", "rotate-secret", "replay",
                    "scheduler", "create-admin"):
        assert f"flask cardpay {command}" in runbook
    for step in ("make test", "flask db upgrade", "ENABLE_CARD_PAYMENT_FAST_TRACK=false",
                 "cleanup_old_card_payment_metrics()"):
        assert step in runbook


def test_units_run_gunicorn_with_its_config_and_the_scheduler_apart():
    web = (ROOT / "deploy/cardpay-web.service").read_text()
    scheduler = (ROOT / "deploy/cardpay-scheduler.service").read_text()
    assert "gunicorn --config /opt/cardpay/gunicorn.conf.py wsgi:app" in web and "scheduler" not in web.split(
        "ExecStart=")[-1].splitlines()[0]
    assert "ExecStart=/opt/cardpay/.venv/bin/flask cardpay scheduler" in scheduler
    assert "Environment=CARDPAY_ENV=production" in web and "Environment=CARDPAY_ENV=production" in scheduler
