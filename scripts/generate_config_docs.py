"""Write docs/configuration.md, .env.example and .env.production.card-payment from config.SETTINGS.

Run it after changing SETTINGS:  .venv/bin/python scripts/generate_config_docs.py
With --check it writes nothing and exits 1 when a committed file differs from what it would write.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402  (after the path is set, so the script runs from anywhere)

COMMAND = ".venv/bin/python scripts/generate_config_docs.py"
GROUP_TITLES = {
    "core": "Core", "ikhokha": "iKhokha and the sandbox gateway", "urls": "Public URLs",
    "alerts": "Alerts and manual-review notices", "mail": "Email (SMTP)", "logging": "Logging",
    "security": "Callback security and threat detection", "monitoring": "Monitoring",
    "thresholds": "Stage thresholds and error rate", "payments": "Payments", "retention": "Retention and rotation",
    "jobs": "Scheduled jobs",
}
KIND_TEXT = {
    "str": "text", "secret": "secret", "bool": "true/false", "int": "whole number", "positive": "positive number",
    "url": "http(s) URL", "email": "email list", "ips": "IP/CIDR list", "time": "ISO 8601 time with zone",
    "database": "database URL",
}
# The production template's uncommented lines: what production cannot run without, as placeholders.
PRODUCTION_TEMPLATE = {
    "CARDPAY_ENV": "production",
    "DATABASE_URL": f"postgresql://cardpay:{config.PLACEHOLDER}@db.example.com:5432/cardpay",
    "SECRET_KEY": config.PLACEHOLDER,
    "IKHOKHA_API_KEY": config.PLACEHOLDER,
    "IKHOKHA_API_SECRET": config.PLACEHOLDER,
    "PRODUCTION_URL": f"https://{config.PLACEHOLDER}.example.com",
    "ALERT_EMAIL": f"alerts@{config.PLACEHOLDER}.example.com",
}
TEMPLATE_NOTES = {
    "SECRET_KEY": 'make one with: python3 -c "import secrets; print(secrets.token_hex(32))"',
}


def groups():
    """Return [(group, [settings])] in the order groups first appear in SETTINGS."""
    ordered = {}
    for setting in config.SETTINGS:
        ordered.setdefault(setting.group, []).append(setting)
    return list(ordered.items())


def kind_text(setting):
    """Describe a setting's type for a reader."""
    if setting.kind == "choice":
        return "one of " + ", ".join(setting.choices)
    return KIND_TEXT[setting.kind]


def default_text(setting, env):
    """Describe a setting's default in one environment."""
    if env == "production" and setting.name in config.REQUIRED_IN_PRODUCTION:
        return "required"
    value = setting.env_defaults.get(env, setting.default)
    if value is None:
        return config.DERIVED_DEFAULTS.get(setting.name, "—")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("{PRODUCTION_URL}", "PRODUCTION_URL")


def defaults_cell(setting):
    """Return the default, or the default of each environment where they differ."""
    by_value = {}
    for env in config.ENVIRONMENTS:
        by_value.setdefault(default_text(setting, env), []).append(env)
    if len(by_value) == 1:
        return next(iter(by_value))
    return "; ".join(f"{', '.join(envs)}: {value}" for value, envs in by_value.items())


def _cell(text):
    return str(text).replace("|", "\\|")


def render_markdown():
    """Return docs/configuration.md."""
    lines = [
        "# Configuration reference",
        "",
        f"Generated from `SETTINGS` in `config.py` by `{COMMAND}`; do not edit by hand. A test fails",
        "when this page, `.env.example` or `.env.production.card-payment` differ from what the script writes.",
        "",
        READING,
        "## Settings",
        "",
        "Defaults that differ between environments are given per environment. Every name is also accepted",
        f"with the legacy `{config.LEGACY_PREFIX}` prefix shown beside it.",
        "",
    ]
    for group, settings in groups():
        lines += [f"### {GROUP_TITLES.get(group, group.capitalize())}", "",
                  "| name | legacy name | type | default | meaning |", "|---|---|---|---|---|"]
        for s in settings:
            lines.append(f"| `{s.name}` | `{config.LEGACY_PREFIX}{s.name}` | {_cell(kind_text(s))} | "
                         f"{_cell(defaults_cell(s))} | {_cell(s.help)} |")
        lines.append("")
    lines.append(CHOICES)
    return "\n".join(lines)


def _env_value(setting, env):
    """Return a literal default as it would be written in a .env file ('' when there is none)."""
    value = setting.env_defaults.get(env, setting.default)
    if value is None or "{" in str(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_env(env, header, values):
    """Return a .env template: every setting with a comment; those in ``values`` set, the rest commented."""
    lines = list(header)
    for group, settings in groups():
        title = GROUP_TITLES.get(group, group.capitalize())
        lines += ["", f"# ── {title} " + "─" * max(3, 72 - len(title))]
        for s in settings:
            default = default_text(s, env)
            detail = kind_text(s) + ("; required" if default == "required" else f"; default: {default}")
            lines += ["", f"# {s.name}: {s.help}", f"#   {detail}"]
            if s.name in TEMPLATE_NOTES and s.name in values:
                lines.append(f"#   {TEMPLATE_NOTES[s.name]}")
            if s.name in values:
                lines.append(f"{s.name}={values[s.name]}")
            else:
                lines.append(f"# {s.name}={_env_value(s, env)}")
    return "\n".join(lines) + "\n"


LEGACY_NOTE = [
    f"# Every name is also accepted with the {config.LEGACY_PREFIX} prefix of the replaced deployment",
    f"# ({config.LEGACY_PREFIX}IKHOKHA_API_KEY = IKHOKHA_API_KEY), so an old .env.production keeps working;",
    "# the plain name wins when both are set, and validate-config notes each legacy name in use.",
]


def render_env_example():
    """Return .env.example: the development template, everything commented out."""
    header = [
        "# cardpay development settings. Development needs none of them: `make run` works without this file.",
        "# To change one, copy this file to .env and uncomment the line.",
        f"# Generated from config.py by {COMMAND}; do not edit by hand.",
        "# A variable set in the real environment wins over .env.",
        *LEGACY_NOTE,
    ]
    return render_env("development", header, {})


def render_env_production():
    """Return .env.production.card-payment: the production template."""
    header = [
        "# cardpay production settings. First step of a deployment:",
        "#   cp .env.production.card-payment .env.production",
        f"# then replace every {config.PLACEHOLDER} and check the result with:",
        "#   .venv/bin/flask --app wsgi cardpay validate-config",
        "# The uncommented lines are required; the commented ones show their default.",
        f"# Generated from config.py by {COMMAND}; do not edit by hand.",
        "# The real environment and .env win over .env.production.",
        *LEGACY_NOTE,
    ]
    return render_env("production", header, PRODUCTION_TEMPLATE)


def render_all():
    """Return {path relative to the project root: text} for every generated file."""
    return {
        "docs/configuration.md": render_markdown(),
        ".env.example": render_env_example(),
        ".env.production.card-payment": render_env_production(),
    }


READING = f"""## How settings are read

Highest precedence first:

1. the mapping given to `create_app(config=...)` (the tests use it);
2. the real environment of the process;
3. `.env` in the project root;
4. `.env.production` in the project root, in production only.

A file never overrides a variable that is already set, and an empty variable counts as unset. This
order is the one the `flask` command already gives `.env` (it loads it before cardpay starts), so
gunicorn and `flask cardpay ...` always see the same values.

The environment is chosen by `CARDPAY_ENV` from the real environment or `.env`. When neither sets it and
`.env.production` exists, cardpay runs in production (unless `.env.production` itself names another
environment): on a server, `cp .env.production.card-payment .env.production` alone selects production,
and a server can never fall back to development by accident. The `testing` environment reads no `.env`
file at all.

## Checking a configuration

`flask --app wsgi cardpay validate-config` prints the environment, the database URL with its password
hidden, a `note:` for each `{config.LEGACY_PREFIX}` name in the environment (in use, or ignored because the
plain name is set), each secret as at most its last 4 characters, then one `problem:` line per problem.
It exits 1 when there is any problem and 0 with `configuration OK` otherwise. It runs even when the
configuration could not serve. `GET /health/config` gives the same verdict per setting as booleans.
"""

CHOICES = f"""## Choices cardpay made where the spec is silent

- **Development needs no credentials.** Outside production `IKHOKHA_API_KEY` and `IKHOKHA_API_SECRET`
  default to the sandbox gateway's own, generated once per install into `instance/sandbox_credentials`
  (mode 0600; cardpay and a separate sandbox process on the install read the same file; nothing is
  published in the repository, and production refuses the values earlier releases published), and
  `IKHOKHA_API_URL` defaults to `PRODUCTION_URL/sandbox/ikhokha/api`, the built-in stand-in for iKhokha
  served by the same process while `SANDBOX_GATEWAY_ENABLED` is true. Production has none of these
  defaults, refuses the sandbox credentials and refuses to run the sandbox gateway; `validate-config`
  also reports an `IKHOKHA_API_URL` that points at the sandbox while the sandbox is off.
- **`SECRET_KEY` outside production** is generated once (64 hex characters) into `instance/secret_key`
  (mode 0600). It is written under a private name and linked into place, so gunicorn workers that start
  together all read the same complete key. Delete the file to rotate it (every session ends).
  Production requires `SECRET_KEY`, at least 32 characters.
- **What stops cardpay from serving.** In production, every problem `validate-config` reports is fatal:
  a missing `{"`, `".join(config.REQUIRED_IN_PRODUCTION)}`, a database that is not PostgreSQL, no alert
  channel, a URL that is not https, the sandbox gateway or its credentials, callback validation turned
  off, a short `SECRET_KEY`, a value that does not parse, a template placeholder left in. In development
  and testing only a value that does not parse is fatal (a typo never silently becomes a default); the
  other problems are reported by `validate-config`. The refusal is one line, for example
  `Error: cardpay cannot start: SECRET_KEY: required in production; DATABASE_URL: required in production`.
- **Maintenance commands still start.** Only serving processes refuse an invalid configuration:
  gunicorn and `flask run` (the app factory refuses), and long-running commands such as
  `flask cardpay scheduler`, which call `config.refuse_to_serve()` before they start. Every other CLI
  command, `validate-config` and `flask db upgrade` among them, starts with a warning, so a
  half-configured server can be diagnosed and migrated.
- **Template placeholders are problems.** A value that still contains `{config.PLACEHOLDER}` (as every
  required line of `.env.production.card-payment` does) is reported by `validate-config` and, in
  production, stops cardpay from serving.
- **Parsing.** Booleans accept true/false, yes/no, on/off and 1/0 in any letter case. Positive numbers
  may have decimals. URLs need an http or https scheme and a host; a trailing slash is dropped. Email
  settings take a comma list. IP lists take addresses and CIDR ranges (host bits are allowed:
  `10.0.0.7/24` means `10.0.0.0/24`). Times are ISO 8601 and must carry a zone (`Z` or `+02:00`).
  `postgres://` and `postgresql://` URLs run on psycopg 3 (`postgresql+psycopg://`); only SQLite and
  PostgreSQL URLs are accepted.
- **Production URLs are https**: `PRODUCTION_URL`, `IKHOKHA_API_URL` and every URL setting that is set.
  `WEBHOOK_ENDPOINT` left to its default follows `PRODUCTION_URL` and is reported through it.
- **Secrets are never shown.** `GET /health/config` answers with booleans only (set, valid) per
  setting. `validate-config` shows at most the last 4 characters of a secret longer than 8 characters
  (`(set)` for a shorter one) and the database URL with its password hidden.
- **Health.** On PostgreSQL the connection attempt gives up after {config.DATABASE_CONNECT_TIMEOUT_SECONDS}
  seconds, so `GET /health` answers 503 promptly when the database host does not answer. It also answers
  503 when the database answers but cardpay's tables are missing (run `flask db upgrade`).
"""


def main(argv=None):
    """Write the generated files, or with --check report the stale ones and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for relative, text in render_all().items():
        path = ROOT / relative
        if path.exists() and path.read_text() == text:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for relative in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {relative}")
    if args.check and stale:
        print(f"run {COMMAND} and commit the result")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
