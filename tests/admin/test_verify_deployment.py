"""`flask cardpay verify-deployment` against a cardpay served over real loopback HTTP."""

from datetime import timedelta

from cardpay.core.extensions import db
from tests.admin.admin_helpers import Seed
from tests.conftest import free_port


def seed_hour(app, succeeded, failed=0):
    with app.app_context():
        seed = Seed()
        for _ in range(succeeded):
            seed.payment(status="succeeded")
        for _ in range(failed):
            seed.payment(status="failed", age=timedelta(minutes=20))
        for i in range(1, 41):
            seed.timing("end_to_end", 100.0 * i)
        seed.requests(total=50, errors=0)
        db.session.commit()


def verify(app, *args):
    return app.test_cli_runner().invoke(args=["cardpay", "verify-deployment", *args])


def lines_of(output):
    return {line.split("  ")[0]: line for line in output.splitlines() if "  " in line}


def test_green_on_a_healthy_deployment(live_app):
    app, server = live_app()
    seed_hour(app, succeeded=30)
    result = verify(app, "--base-url", server.url, "--window", "1h")
    assert result.exit_code == 0, result.output
    lines = lines_of(result.output)
    for check in ("home page", "health", "configuration", "webhook rejects unsigned call", "dashboard behind login",
                  "admin API behind login", "card payment success rate", "average processing time (end to end)",
                  "UI update success rate", "error rate", "critical alerts open"):
        assert lines[check].rstrip().endswith("PASS"), result.output
    assert "100.00%" in lines["card payment success rate"]
    assert "OK: 11 of 12 checks passed, 1 N/A" in result.output  # no alert channel configured


def test_red_with_the_failing_criterion_named(live_app):
    app, server = live_app()
    seed_hour(app, succeeded=10, failed=5)
    result = verify(app, "--base-url", server.url)
    assert result.exit_code == 1
    line = lines_of(result.output)["card payment success rate"]
    assert "66.67%" in line and "> 95%" in line and line.rstrip().endswith("FAIL")
    assert "FAILED: 1 of 12 checks: card payment success rate" in result.output


def test_red_when_the_deployment_does_not_answer(app):
    result = verify(app, "--base-url", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    assert result.exit_code == 1
    lines = lines_of(result.output)
    assert "unreachable" in lines["home page"] and lines["health"].rstrip().endswith("FAIL")
