"""docs/configuration.md and the two .env templates are generated from SETTINGS and must match it."""

import importlib.util

from dotenv import dotenv_values

import config
from tests.config_helpers import ROOT

spec = importlib.util.spec_from_file_location("generate_config_docs", ROOT / "scripts" / "generate_config_docs.py")
generator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generator)


def test_committed_files_match_the_settings_table():
    for relative, text in generator.render_all().items():
        committed = (ROOT / relative).read_text() if (ROOT / relative).exists() else None
        assert committed == text, f"{relative} is out of date with config.SETTINGS: run {generator.COMMAND}"
    assert generator.main(["--check"]) == 0


def test_every_setting_is_documented_with_its_legacy_name():
    files = generator.render_all()
    for setting in config.SETTINGS:
        assert f"| `{setting.name}` | `VITE_{setting.name}` |" in files["docs/configuration.md"]
        for template in (".env.example", ".env.production.card-payment"):
            assert f"# {setting.name}: " in files[template]
    assert "VITE_" in files[".env.production.card-payment"].split("\n\n")[0]  # the legacy note is in the header


def test_per_environment_defaults_are_shown_where_they_differ():
    table = generator.render_markdown()
    assert "| development, testing: true; production: false | serve the built-in stand-in" in table
    assert ("| development, testing: the sandbox's own, generated once into instance/sandbox_credentials; "
            "production: required |") in table
    assert "| http://127.0.0.1:5000 |" in table


def test_env_example_changes_nothing_in_development():
    environ = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v is not None}
    assert environ == {}  # everything is commented out: development needs no settings
    assert config.find_problems(config.read_settings(environ)) == []


def test_the_production_template_lists_what_production_needs_as_placeholders():
    environ = {k: v for k, v in dotenv_values(ROOT / ".env.production.card-payment").items() if v is not None}
    assert environ["CARDPAY_ENV"] == "production"
    assert set(config.REQUIRED_IN_PRODUCTION) <= set(environ)
    problems = config.find_problems(config.read_settings(environ))
    assert {name for line in problems for name in config.problem_settings(line)} == set(environ) - {"CARDPAY_ENV"}
    assert all(config.PLACEHOLDER in line or "shorter than 32" in line for line in problems)


def test_the_production_template_filled_in_is_a_valid_production_configuration():
    filled = {k: v.replace(config.PLACEHOLDER, "a1b2c3d4" * 5)
              for k, v in dotenv_values(ROOT / ".env.production.card-payment").items() if v is not None}
    assert config.find_problems(config.read_settings(filled)) == []
