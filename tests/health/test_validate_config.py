"""`flask cardpay validate-config`: one line per problem, exit 1 when any, legacy names as notes, never a secret."""

from tests.config_helpers import (
    DB_PASSWORD,
    SECRETS,
    leaked,
    production_settings,
    run_flask,
)

VALIDATE = ["cardpay", "validate-config"]


def assert_no_secret_in(output, secrets=SECRETS):
    """Fail when 5 characters in a row of any secret appear (a "…" + last-4 hint is allowed)."""
    for name, secret in secrets.items():
        assert leaked(secret, output) is None, f"{name} leaked: {leaked(secret, output)!r} in {output!r}"
    assert DB_PASSWORD not in output


def test_development_without_secrets_is_valid_on_the_sandbox(flask_cli, migrated_database):
    result = flask_cli(VALIDATE, {"CARDPAY_ENV": "development", "DATABASE_URL": migrated_database,
                                  "SECRET_KEY": SECRETS["SECRET_KEY"]})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "environment: development"
    assert lines[-1] == "configuration OK"
    (key_line,) = [line for line in lines if line.startswith("IKHOKHA_API_KEY: ")]
    assert key_line.endswith(" (default)") and "sandbox-app-id" not in key_line  # this install's own, generated
    assert "IKHOKHA_WEBHOOK_SECRET_PREVIOUS: (not set)" in lines
    assert not [line for line in lines if line.startswith("problem:")]
    assert_no_secret_in(result.output, {"SECRET_KEY": SECRETS["SECRET_KEY"]})


def test_development_with_secrets_shows_only_their_last_four_characters(flask_cli, migrated_database):
    settings = {"CARDPAY_ENV": "development", "DATABASE_URL": migrated_database, **SECRETS}
    result = flask_cli(VALIDATE, settings)
    assert result.exit_code == 0, result.output
    for name, secret in SECRETS.items():
        assert f"{name}: …{secret[-4:]}" in result.stdout.splitlines()
    assert_no_secret_in(result.output)


def test_development_with_an_invalid_value_reports_it_and_exits_1(flask_cli, migrated_database):
    result = flask_cli(VALIDATE, {"CARDPAY_ENV": "development", "DATABASE_URL": migrated_database,
                                  "SECRET_KEY": SECRETS["SECRET_KEY"], "WEBHOOK_TIMESTAMP_TOLERANCE": "-5",
                                  "ENABLE_WEBHOOK_IP_VERIFICATION": "true"})
    assert result.exit_code == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert problems == [
        "problem: WEBHOOK_TIMESTAMP_TOLERANCE: expected a positive number",
        "problem: WEBHOOK_ALLOWED_IPS: empty while ENABLE_WEBHOOK_IP_VERIFICATION is on "
        "(every callback would be refused)",
    ]
    assert result.stdout.splitlines()[-1] == "2 problem(s) found"
    assert "Traceback" not in result.output


def test_production_without_secrets_runs_and_names_what_is_missing(flask_cli):
    result = flask_cli(VALIDATE, {"CARDPAY_ENV": "production"})
    assert result.exit_code == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert problems[:4] == ["problem: SECRET_KEY: required in production",
                            "problem: IKHOKHA_API_KEY: required in production",
                            "problem: IKHOKHA_API_SECRET: required in production",
                            "problem: DATABASE_URL: required in production"]
    assert "SECRET_KEY: (not set)" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == f"{len(problems)} problem(s) found"


def test_production_with_every_secret_is_valid_and_prints_none_of_them(flask_cli):
    result = flask_cli(VALIDATE, production_settings())
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "environment: production"
    assert lines[1] == "database: postgresql+psycopg://cardpay:***@127.0.0.1:9/cardpay"
    assert lines[-1] == "configuration OK"
    for name, secret in SECRETS.items():
        assert f"{name}: …{secret[-4:]}" in lines
    assert_no_secret_in(result.output)


def test_legacy_names_are_notes_not_problems(flask_cli, monkeypatch):
    settings = production_settings(IKHOKHA_API_KEY=None, MAIL_PORT="587")
    monkeypatch.setenv("VITE_IKHOKHA_API_KEY", SECRETS["IKHOKHA_API_KEY"])
    monkeypatch.setenv("VITE_MAIL_PORT", "2525")
    result = flask_cli(VALIDATE, settings)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "note: legacy name VITE_IKHOKHA_API_KEY in use; rename it to IKHOKHA_API_KEY" in lines
    assert "note: legacy name VITE_MAIL_PORT is ignored because MAIL_PORT is set" in lines
    assert f"IKHOKHA_API_KEY: …{SECRETS['IKHOKHA_API_KEY'][-4:]}" in lines


def test_the_real_command_with_an_old_vite_environment():
    """What an operator moving over runs: their old VITE_ variables, the real `flask` command."""
    env = {f"VITE_{name}": value for name, value in production_settings().items()}
    result = run_flask(VALIDATE, env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "note: legacy name VITE_IKHOKHA_API_SECRET in use; rename it to IKHOKHA_API_SECRET" in result.stdout
    assert "configuration OK" in result.stdout
    assert_no_secret_in(output)


def test_the_real_command_starts_and_reports_an_unfit_production_configuration():
    """Refusing to start applies to serving: validate-config still runs and exits 1 with its lines."""
    result = run_flask(VALIDATE, {"CARDPAY_ENV": "production", "IKHOKHA_API_SECRET": SECRETS["IKHOKHA_API_SECRET"],
                                  "DATABASE_URL": "sqlite:////tmp/cardpay-never-created.sqlite3"})
    assert result.returncode == 1
    assert "problem: SECRET_KEY: required in production" in result.stdout
    assert "problem: DATABASE_URL: production needs PostgreSQL (SQLite is for development)" in result.stdout
    assert "continuing for this CLI command only" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert_no_secret_in(result.stdout + result.stderr, {"IKHOKHA_API_SECRET": SECRETS["IKHOKHA_API_SECRET"]})


def test_an_unknown_environment_is_reported_not_guessed_silently(flask_cli, migrated_database):
    result = flask_cli(VALIDATE, {"CARDPAY_ENV": "staging", "DATABASE_URL": migrated_database,
                                  "SECRET_KEY": SECRETS["SECRET_KEY"], "MAIL_PASSWORD": "short"})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "problem: CARDPAY_ENV: expected one of development, testing, production (got 'staging')" in lines
    assert "MAIL_PASSWORD: (set)" in lines  # too short to show even its last 4 characters
