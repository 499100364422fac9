"""Which .env files are read, and in what order: real environment > .env > .env.production (production only)."""

import config


def write(directory, name, text):
    (directory / name).write_text(text)


def test_the_real_environment_wins_over_env_which_wins_over_env_production(tmp_path):
    write(tmp_path, ".env", "CARDPAY_ENV=production\nMAIL_SERVER=from-dotenv\nMAIL_PORT=2525\n")
    write(tmp_path, ".env.production", "MAIL_SERVER=from-production\nMAIL_PORT=587\nMAIL_USERNAME=prod-user\n")
    environ = {"MAIL_PORT": "25"}
    config.load_dotenv_files(tmp_path, environ)
    assert environ["MAIL_PORT"] == "25"
    assert environ["MAIL_SERVER"] == "from-dotenv"
    assert environ["MAIL_USERNAME"] == "prod-user"


def test_env_production_is_not_read_in_development(tmp_path):
    write(tmp_path, ".env.production", "MAIL_SERVER=from-production\n")
    environ = {"CARDPAY_ENV": "development"}
    config.load_dotenv_files(tmp_path, environ)
    assert environ == {"CARDPAY_ENV": "development"}


def test_copying_the_template_to_env_production_alone_selects_production(tmp_path):
    write(tmp_path, ".env.production", "VITE_IKHOKHA_API_KEY=legacy-app-id\n")  # an old file names no environment
    environ = {}
    config.load_dotenv_files(tmp_path, environ)
    assert environ == {"VITE_IKHOKHA_API_KEY": "legacy-app-id", "CARDPAY_ENV": "production"}
    loaded = config.read_settings(environ)
    assert loaded.values["CARDPAY_ENV"] == "production" and loaded.values["IKHOKHA_API_KEY"] == "legacy-app-id"


def test_an_env_production_that_names_another_environment_is_left_alone(tmp_path):
    write(tmp_path, ".env.production", "CARDPAY_ENV=development\nMAIL_SERVER=from-production\n")
    environ = {}
    config.load_dotenv_files(tmp_path, environ)
    assert environ == {}


def test_the_test_suite_never_reads_dotenv_files(tmp_path):
    write(tmp_path, ".env", "MAIL_SERVER=from-dotenv\n")
    write(tmp_path, ".env.production", "MAIL_SERVER=from-production\n")
    environ = {"CARDPAY_ENV": "testing"}
    config.load_dotenv_files(tmp_path, environ)
    assert environ == {"CARDPAY_ENV": "testing"}


def test_an_empty_variable_is_filled_from_the_file(tmp_path):
    write(tmp_path, ".env", "MAIL_SERVER=from-dotenv\n")
    environ = {"MAIL_SERVER": ""}
    config.load_dotenv_files(tmp_path, environ)
    assert environ["MAIL_SERVER"] == "from-dotenv"


def test_no_files_no_change(tmp_path):
    environ = {"MAIL_SERVER": "smtp"}
    config.load_dotenv_files(tmp_path, environ)
    assert environ == {"MAIL_SERVER": "smtp"}
