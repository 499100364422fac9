"""Configuration for cardpay: the settings table, its parsing, and the config classes.

This is the only module that reads ``os.environ``. Every setting is declared once in
``SETTINGS``; the parser, ``validate-config``, ``/health/config``, the ``.env`` templates
and ``docs/configuration.md`` are all derived from that one table, so they cannot drift.

Each setting is also accepted under the ``VITE_`` prefix the replaced deployment used;
the plain name wins when both are set. In order below: the table, parsing one value, reading
an environment, the problems with a configuration (and which ones stop it from serving), the
files it reads (.env, instance/secret_key), and the Flask config classes.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import click
from limits import parse_many

LEGACY_PREFIX = "VITE_"
ENVIRONMENTS = ("development", "testing", "production")
# The sandbox credentials earlier releases published in this file: refused in production wherever they
# appear. Development credentials are now generated per install into instance/ (instance_sandbox_credentials).
PUBLISHED_SANDBOX_CREDENTIALS = ("sandbox-app-id", "sandbox-secret-not-for-production")
# Template values contain this marker; a value still carrying it is reported, never used silently.
PLACEHOLDER = "CHANGE_ME"
# A load balancer's health probe must not hang on a database host that does not answer.
DATABASE_CONNECT_TIMEOUT_SECONDS = 5


class ConfigError(click.ClickException):
    """A setting that cannot be parsed, or a configuration that may not serve.

    A ClickException, so that `flask run` prints the one-line reason instead of a traceback.
    """


@dataclass(frozen=True)
class Setting:
    """One environment setting: its name, type, default and meaning."""

    name: str
    kind: str  # str, secret, bool, int, positive, url, email, ips, time, choice, database
    default: object = None
    help: str = ""
    group: str = "general"
    choices: tuple = ()
    env_defaults: dict = field(default_factory=dict)  # per-environment default overrides


S = Setting
SETTINGS: tuple[Setting, ...] = (
    S("CARDPAY_ENV", "choice", "development", "development, testing or production: picks the config class",
      "core", choices=ENVIRONMENTS),
    S("DATABASE_URL", "database", None,
      "SQLAlchemy URL of the database; postgres:// and postgresql:// run on psycopg 3", "core"),
    S("SECRET_KEY", "secret", None, "signs sessions and CSRF tokens; at least 32 characters in production", "core"),
    S("IKHOKHA_API_URL", "url", "https://api.ikhokha.com/public-api/v1/api", "iK Pay API base URL", "ikhokha",
      env_defaults={"development": "{PRODUCTION_URL}/sandbox/ikhokha/api",
                    "testing": "{PRODUCTION_URL}/sandbox/ikhokha/api"}),
    S("IKHOKHA_API_KEY", "secret", None, "iK Pay Application ID (sent as IK-APPID)", "ikhokha"),
    S("IKHOKHA_API_SECRET", "secret", None, "Application secret that signs API requests", "ikhokha"),
    S("IKHOKHA_WEBHOOK_SECRET", "secret", None, "secret that signs callbacks", "ikhokha"),
    S("IKHOKHA_WEBHOOK_SECRET_PREVIOUS", "secret", None,
      "previous callback secret, accepted until IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES", "ikhokha"),
    S("IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES", "time", None,
      "ISO 8601 time with a zone after which the previous secret is refused", "ikhokha"),
    S("PRODUCTION_URL", "url", "http://127.0.0.1:5000",
      "public base URL; callback, success and failure URLs are built from it", "urls"),
    S("WEBHOOK_ENDPOINT", "url", None, "callback URL given to iKhokha", "urls"),
    S("ALERT_WEBHOOK_URL", "url", None, "generic JSON alert webhook", "alerts"),
    S("ALERT_WEBHOOK_SECRET", "secret", None,
      "whsec_<base64> key: when set, the generic alert webhooks are signed the Standard Webhooks way", "alerts"),
    S("ALERT_EMAIL", "email", None, "alert email recipients (comma list)", "alerts"),
    S("ALERT_SLACK_WEBHOOK", "url", None, "Slack incoming-webhook URL for alerts", "alerts"),
    S("MANUAL_INTERVENTION_WEBHOOK", "url", None, "webhook that announces manual-review items", "alerts"),
    S("MANUAL_INTERVENTION_EMAIL", "email", None, "email recipients for manual-review items", "alerts"),
    S("ACCESS_WEBHOOK_URL", "url", None,
      "where access events (enrollment.activated / enrollment.revoked) are POSTed, Standard Webhooks signed",
      "integrations"),
    S("ACCESS_WEBHOOK_SECRET", "secret", None, "whsec_<base64> key that signs access events; required with the URL",
      "integrations"),
    S("DISPLAY_TIMEZONE", "str", "Africa/Johannesburg",
      "the zone every page and email shows times in (stored times stay UTC)", "general"),
    S("LEARNER_EMAILS_ENABLED", "bool", True, "send learners their receipt and sign-in emails", "mail"),
    S("LEARNER_LINK_MINUTES", "positive", 30, "how long an emailed sign-in link works", "mail"),
    S("MAIL_SERVER", "str", "localhost", "SMTP host for email channels", "mail"),
    S("MAIL_PORT", "int", 25, "SMTP port", "mail"),
    S("MAIL_USERNAME", "str", None, "SMTP user", "mail"),
    S("MAIL_PASSWORD", "secret", None, "SMTP password", "mail"),
    S("MAIL_USE_TLS", "bool", False, "STARTTLS on the SMTP connection", "mail"),
    S("MAIL_DEFAULT_SENDER", "str", "alerts@localhost", "From address of alert email", "mail"),
    S("LOG_AGGREGATION_ENDPOINT", "url", None, "optional HTTP endpoint that receives batches of JSON log records",
      "logging"),
    S("LOG_AGGREGATION_HEADERS", "secret", None,
      "headers sent with every log batch, \"Name: value\" pairs separated by newlines or ';' "
      "(e.g. Authorization: Bearer ...)", "logging"),
    S("ENABLE_ENHANCED_WEBHOOK_VALIDATION", "bool", True,
      "signature + app-id checks on callbacks; false only allowed outside production", "security"),
    S("WEBHOOK_SIGNATURE_ALGORITHM", "choice", "sha256", "HMAC digest for signatures", "security",
      choices=("sha256", "sha512")),
    S("WEBHOOK_TIMESTAMP_TOLERANCE", "positive", 300, "seconds a callback timestamp may differ from now", "security"),
    S("ENABLE_WEBHOOK_IP_VERIFICATION", "bool", False, "refuse callbacks from outside WEBHOOK_ALLOWED_IPS",
      "security"),
    S("WEBHOOK_ALLOWED_IPS", "ips", None, "comma list of IPs and CIDR ranges allowed to send callbacks", "security"),
    S("TRUSTED_PROXY_COUNT", "int", 0, "proxies in front that append to X-Forwarded-For; 0 trusts none",
      "security"),
    S("ENABLE_CARD_PAYMENT_AUDIT_LOGGING", "bool", True, "write audit_logs rows", "security"),
    S("AUDIT_LOG_RETENTION_DAYS", "positive", 365, "days audit logs are kept", "retention"),
    S("ENABLE_CARD_PAYMENT_THREAT_DETECTION", "bool", True, "raise security alerts on attack patterns",
      "security"),
    S("THREAT_BURST_THRESHOLD", "positive", 10,
      "rejected callbacks of one kind from one IP within THREAT_WINDOW_SECONDS that raise a security alert",
      "security"),
    S("THREAT_WINDOW_SECONDS", "positive", 300, "sliding window for threat detection", "security"),
    S("ADMIN_MAX_FAILED_LOGINS", "positive", 5,
      "failed sign-ins for one account from one client IP within ADMIN_LOCKOUT_MINUTES before that pair is "
      "throttled (429); the client IP alone is throttled after four times as many (no account is ever locked)",
      "security"),
    S("ADMIN_LOCKOUT_MINUTES", "positive", 15, "window of the sign-in throttle: how long failures count", "security"),
    S("ADMIN_REQUIRE_2FA", "bool", False, "admins sign in with a TOTP code (RFC 6238) after the password",
      "security", env_defaults={"production": True}),
    S("ADMIN_SESSION_IDLE_MINUTES", "positive", 30, "an admin session idle this long must sign in again",
      "security"),
    S("RATE_LIMITS_ENABLED", "bool", True,
      "false switches every rate limit off (load tests on a private network)", "security"),
    S("RATE_LIMIT_STORAGE_URL", "str", "memory://",
      "where rate-limit counters live; redis://... so that every worker and host shares them", "security"),
    S("ENROLL_RATE_LIMIT", "str", "10/minute;50/hour",
      "Enroll Now posts one client address may make (each makes a payment and a paylink); 429 beyond",
      "security"),
    S("STATUS_RATE_LIMIT_PER_TOKEN", "str", "90/minute",
      "status API calls for one payment token (the return page polls about every 2 s); 429 beyond", "security"),
    S("STATUS_RATE_LIMIT_PER_IP", "str", "600/minute",
      "status API calls from one client address, every token together; 429 beyond", "security"),
    S("STATUS_POLL_MAX_CHECKS", "positive", 60,
      "getStatus asks the return page's polls may make for one payment in its lifetime; after that only "
      "reconciliation asks", "payments"),
    S("CALLBACK_REFUSAL_RATE_LIMIT", "str", "30/minute",
      "refused callbacks from one address before its further refused ones are answered 429 unrecorded "
      "(a correctly signed callback is never limited)", "security"),
    S("WEB_CONCURRENCY", "positive", None,
      "web worker processes (gunicorn's own setting; its on_starting hook sets it to the real count); "
      "threat detection's per-worker trigger follows it", "security"),
    S("ENABLE_CARD_PAYMENT_MONITORING", "bool", True, "write card_payment_metrics", "monitoring"),
    S("ENABLE_PERFORMANCE_MONITORING", "bool", True, "write card_payment_performance", "monitoring"),
    S("ENABLE_BUSINESS_METRICS", "bool", True, "hourly card_payment_business_metrics rollups", "monitoring"),
    S("METRICS_BEARER_TOKEN", "secret", None,
      "when set, /metrics needs Authorization: Bearer <token>; in production /metrics refuses anonymous "
      "callers unless this or METRICS_ALLOWED_IPS is set", "monitoring"),
    S("METRICS_ALLOWED_IPS", "ips", None, "comma list of IPs/CIDRs allowed to scrape /metrics without a token",
      "monitoring"),
    S("MONITORING_FLUSH_MS", "int", 250,
      "metrics and stage-timing rows wait up to this long in the worker and are written in one batch "
      "(0 = with each request's own commit)", "monitoring", env_defaults={"testing": 0}),
    S("WEBHOOK_PROCESSING_THRESHOLD", "positive", 5000, "ms", "thresholds"),
    S("PAYMENT_DETECTION_THRESHOLD", "positive", 2000, "ms", "thresholds"),
    S("APPROVAL_PROCESSING_THRESHOLD", "positive", 3000, "ms", "thresholds"),
    S("UI_UPDATE_THRESHOLD", "positive", 2000, "ms", "thresholds"),
    S("END_TO_END_THRESHOLD", "positive", 10000, "ms", "thresholds"),
    S("ERROR_RATE_ALERT_THRESHOLD", "positive", 5, "percent, over ERROR_RATE_WINDOW_SECONDS", "thresholds"),
    S("ERROR_RATE_WINDOW_SECONDS", "positive", 300, "rolling window of the error rate", "thresholds"),
    S("ENABLE_CARD_PAYMENT_FAST_TRACK", "bool", True,
      "false = every paid enrollment goes to manual review (partial rollback)", "payments"),
    S("STALE_PAYMENT_MINUTES", "positive", 15,
      "a payment pending this long is reconciled with getStatus", "payments"),
    S("STALE_PAYMENT_MAX_CHECKS", "positive", 8,
      "getStatus checks of a stale payment (STALE_PAYMENT_MINUTES apart) before it goes to manual review",
      "payments"),
    S("ENABLE_DETAILED_CARD_PAYMENT_LOGGING", "bool", False, "log each stage of each payment", "logging"),
    S("CARD_PAYMENT_LOG_LEVEL", "choice", "info", "log level", "logging",
      choices=("debug", "info", "warning", "error", "critical")),
    S("METRICS_RETENTION_DAYS", "positive", 90, "days card_payment_metrics rows are kept", "retention"),
    S("PERFORMANCE_RETENTION_DAYS", "positive", 90, "days card_payment_performance rows are kept", "retention"),
    S("RESOLVED_ALERT_RETENTION_DAYS", "positive", 365, "days resolved alerts are kept (open ones never go)",
      "retention"),
    S("SECRET_ROTATION_INTERVAL_DAYS", "positive", 90, "a secret older than this raises a reminder", "retention"),
    S("SCHEDULER_ENABLED", "bool", True, "whether this process may run scheduled jobs", "jobs",
      env_defaults={"testing": False}),
    S("SCHEDULER_LEASE_SECONDS", "positive", 30,
      "a scheduler that stops renewing its lease for this long is replaced by a standby", "jobs"),
    S("JOB_RUN_RETENTION_DAYS", "positive", 14, "days job_runs bookkeeping rows are kept", "retention"),
    S("REJECTED_CALLBACK_RETENTION_DAYS", "positive", 30,
      "days refused callback deliveries are kept (accepted ones follow their payments)", "retention"),
    S("LEARNER_LINK_RETENTION_DAYS", "positive", 30,
      "days a learner sign-in link is kept after it expired (it opens nothing then; kept to answer questions about it)",
      "retention"),
    S("ALERT_REPEAT_INTERVAL_MINUTES", "positive", 240, "an open alert is notified again only after this long",
      "alerts"),
    S("ALERT_AUTO_RESOLVE_MINUTES", "positive", 15,
      "a stage-threshold or error-rate alert not seen again for this long resolves itself", "alerts"),
    S("ALERT_RETRY_BASE_SECONDS", "positive", 5, "first retry delay of a failed notification (doubles)", "alerts"),
    S("ALERT_RETRY_MAX_SECONDS", "positive", 900, "longest delay between retries of a notification", "alerts"),
    S("ALERT_DELIVERY_MAX_ATTEMPTS", "positive", 100, "attempts before a notification is given up", "alerts"),
    S("ALERT_CHANNEL_FAILURE_ATTEMPTS", "positive", 3,
      "failed attempts of one notification that raise a channel_delivery_failed alert", "alerts"),
    S("ALERT_SEND_TIMEOUT_SECONDS", "positive", 10, "connect/read timeout of one notification", "alerts"),
    S("ALERT_ALLOW_PRIVATE_NETWORKS", "bool", True,
      "alert URLs may point at loopback/private addresses (SSRF guard off)", "alerts",
      env_defaults={"production": False}),
    S("SANDBOX_GATEWAY_ENABLED", "bool", True, "serve the built-in stand-in for iKhokha", "ikhokha",
      env_defaults={"production": False}),
    S("SANDBOX_CALLBACK_DELAY_SECONDS", "int", 0,
      "seconds the sandbox gateway holds back each callback (to watch the getStatus fallback)", "ikhokha"),
    S("SANDBOX_STATE_FILE", "str", None,
      "where the built-in sandbox keeps its paylinks (default instance/sandbox.sqlite3 in development, "
      "memory in tests), so every gunicorn worker serves the same sandbox", "ikhokha"),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
THRESHOLD_SETTINGS = {
    "webhook_processing": "WEBHOOK_PROCESSING_THRESHOLD",
    "payment_detection": "PAYMENT_DETECTION_THRESHOLD",
    "approval_processing": "APPROVAL_PROCESSING_THRESHOLD",
    "ui_update": "UI_UPDATE_THRESHOLD",
    "end_to_end": "END_TO_END_THRESHOLD",
}
ALERT_CHANNEL_SETTINGS = ("ALERT_WEBHOOK_URL", "ALERT_EMAIL", "ALERT_SLACK_WEBHOOK")
# Production refuses to serve without these (DATABASE_URL must moreover name PostgreSQL).
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "IKHOKHA_API_KEY", "IKHOKHA_API_SECRET", "DATABASE_URL")

# ── Parsing one value ───────────────────────────────────────────────────────────────────────────

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(raw):
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected true or false")


def _parse_int(raw):
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def _parse_positive(raw):
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("expected a positive number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("expected a positive number")
    return int(value) if value.is_integer() else value


def _parse_url(raw):
    value = raw.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError("expected an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("expected an http(s) URL")
    return value.rstrip("/")


def _parse_email(raw):
    addresses = [a.strip() for a in raw.split(",") if a.strip()]
    for address in addresses:
        if email_address(address) != address:
            raise ValueError(f"not an email address: {address!r}")
    return addresses or None


def parse_ip_list(raw):
    """Parse a comma list of IPs and CIDR ranges into ip_network objects."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR range: {item!r}") from None
    return tuple(networks)


def parse_time(raw):
    """Parse an ISO 8601 time that carries a zone; return it in UTC."""
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("expected an ISO 8601 time with a zone") from None
    if value.tzinfo is None:
        raise ValueError("expected an ISO 8601 time with a zone")
    return value.astimezone(timezone.utc)


def normalise_database_url(raw):
    """Return a SQLAlchemy URL, sending postgres:// and postgresql:// to psycopg 3."""
    value = raw.strip()
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix):]
    if not value.startswith(("sqlite:", "postgresql+psycopg://")):
        raise ValueError("expected a sqlite: or postgresql:// URL")
    return value


def _parse_choice(setting, raw):
    value = raw.strip().lower()
    if value not in setting.choices:
        raise ValueError(f"expected one of {', '.join(setting.choices)} (got {value!r})")
    return value


_PARSERS = {
    "str": lambda raw: raw.strip() or None,
    "secret": lambda raw: raw.strip() or None,
    "bool": _parse_bool,
    "int": _parse_int,
    "positive": _parse_positive,
    "url": _parse_url,
    "email": _parse_email,
    "ips": parse_ip_list,
    "time": parse_time,
    "database": normalise_database_url,
}


def parse_value(setting, raw):
    """Parse one raw string for a setting; raise ValueError with a readable reason."""
    if setting.kind == "choice":
        return _parse_choice(setting, raw)
    return _PARSERS[setting.kind](raw)


# ── Reading an environment ──────────────────────────────────────────────────────────────────────


@dataclass
class LoadedSettings:
    """Typed settings plus what the loader noticed while reading them."""

    values: dict
    sources: dict  # name -> the environment variable it came from, or None for a default
    errors: list  # one line per setting that did not parse
    legacy: list  # VITE_ names present in the environment (used, or ignored because the plain name is set)


def _source(environ, name):
    """Return the variable a setting is read from: its plain name, else its legacy name, else None."""
    for candidate in (name, LEGACY_PREFIX + name):
        if environ.get(candidate) not in (None, ""):
            return candidate
    return None


def read_settings(environ=None, env_name=None):
    """Read every setting from an environment mapping, typed, with defaults applied."""
    environ = os.environ if environ is None else environ
    values, sources, errors = {}, {}, []
    env = env_name or "development"
    env_source = _source(environ, "CARDPAY_ENV")
    if env_source and not env_name:
        try:
            env = parse_value(SETTINGS_BY_NAME["CARDPAY_ENV"], environ[env_source])
        except ValueError as exc:
            errors.append(f"{env_source}: {exc}")
    for setting in SETTINGS:
        source = sources[setting.name] = _source(environ, setting.name)
        value = setting.env_defaults.get(env, setting.default)
        if source and setting.name != "CARDPAY_ENV":
            try:
                value = parse_value(setting, environ[source])
            except ValueError as exc:
                errors.append(f"{source}: {exc}")
        values[setting.name] = value
    values["CARDPAY_ENV"] = env
    _derive_defaults(values)
    legacy = [LEGACY_PREFIX + s.name for s in SETTINGS if environ.get(LEGACY_PREFIX + s.name) not in (None, "")]
    return LoadedSettings(values, sources, errors, legacy)


# How the defaults that _derive_defaults and build_config compute read in the generated docs.
DERIVED_DEFAULTS = {
    "DATABASE_URL": "SQLite file instance/cardpay.sqlite3",
    "SECRET_KEY": "generated once into instance/secret_key",
    "IKHOKHA_API_KEY": "the sandbox's own, generated once into instance/sandbox_credentials",
    "IKHOKHA_API_SECRET": "the sandbox's own, generated once into instance/sandbox_credentials",
    "WEBHOOK_ENDPOINT": "PRODUCTION_URL/webhooks/ikhokha",
    "IKHOKHA_WEBHOOK_SECRET": "IKHOKHA_API_SECRET",
    "WEB_CONCURRENCY": "2 x CPU cores + 1, as gunicorn.conf.py starts",
}


def _derive_defaults(values):
    """Fill the defaults that are built from other settings."""
    base = values["PRODUCTION_URL"]
    if isinstance(values["IKHOKHA_API_URL"], str) and "{PRODUCTION_URL}" in values["IKHOKHA_API_URL"]:
        values["IKHOKHA_API_URL"] = values["IKHOKHA_API_URL"].format(PRODUCTION_URL=base)
    values["WEBHOOK_ENDPOINT"] = values["WEBHOOK_ENDPOINT"] or f"{base}/webhooks/ikhokha"
    values["IKHOKHA_WEBHOOK_SECRET"] = values["IKHOKHA_WEBHOOK_SECRET"] or values["IKHOKHA_API_SECRET"]
    values["WEB_CONCURRENCY"] = values["WEB_CONCURRENCY"] or default_web_workers()


def default_web_workers():
    """Return the worker count gunicorn.conf.py starts when WEB_CONCURRENCY is not set: (2 x cores) + 1."""
    return (os.cpu_count() or 1) * 2 + 1


def parse_header_pairs(text):
    """Parse LOG_AGGREGATION_HEADERS ("Name: value" pairs, one a line or separated by ';') into a dict.

    Raise ValueError for a pair without a colon, or a name or value that could split the request.
    """
    headers = {}
    for pair in (p.strip() for p in re.split(r"[;\n]", text or "")):
        if not pair:
            continue
        name, colon, value = pair.partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or re.search(r"[\x00-\x1f\x7f]", value):
            raise ValueError("expected \"Name: value\" pairs separated by ';' or newlines")
        headers[name] = value
    return headers


# ── Problems ────────────────────────────────────────────────────────────────────────────────────


def hint(secret):
    """Return at most the last 4 characters of a secret, for the CLI and admins only."""
    if not secret:
        return "(not set)"
    return "…" + str(secret)[-4:] if len(str(secret)) > 8 else "(set)"


def _is_https(url):
    return url is None or urlsplit(url).scheme == "https"


def problem_settings(line):
    """Return the setting names a problem line is about (the names before its colon, without VITE_)."""
    names = line.split(":", 1)[0].split(",")
    return {name.strip().removeprefix(LEGACY_PREFIX) for name in names}


# Where cardpay sends alerts, logs and events: in production each must be a public https URL.
PUBLIC_URL_SETTINGS = ("ALERT_WEBHOOK_URL", "ALERT_SLACK_WEBHOOK", "MANUAL_INTERVENTION_WEBHOOK",
                       "LOG_AGGREGATION_ENDPOINT", "ACCESS_WEBHOOK_URL")
RATE_LIMIT_SETTINGS = ("ENROLL_RATE_LIMIT", "STATUS_RATE_LIMIT_PER_TOKEN", "STATUS_RATE_LIMIT_PER_IP",
                       "CALLBACK_REFUSAL_RATE_LIMIT")


def email_address(text):
    """Return the address in ``text`` ("a@b.example" or "Name <a@b.example>") or None when it is not one."""
    _, address = parseaddr(text or "")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in local or any(c.isspace() or ord(c) < 32 for c in address):
        return None
    return address


def _scheme_host(url):
    """Return scheme://host of a URL: what a problem line may show of a URL whose path is a secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}"


def _public_url_problems(values):
    from cardpay.core import outbound  # config is imported by cardpay itself; only this check needs outbound

    problems = []
    for name in PUBLIC_URL_SETTINGS:
        if not values[name]:
            continue
        try:
            outbound.check(values[name], values["ALERT_ALLOW_PRIVATE_NETWORKS"])
        except outbound.UnsafeURL as exc:  # its message names the host only, never the path
            problems.append(f"{name}: {_scheme_host(values[name])} is not a public address ({exc})")
    return problems


def _production_problems(loaded):
    values, problems = loaded.values, []
    for name in REQUIRED_IN_PRODUCTION:
        if not values[name]:
            problems.append(f"{name}: required in production")
    if values["DATABASE_URL"] and not values["DATABASE_URL"].startswith("postgresql"):
        problems.append("DATABASE_URL: production needs PostgreSQL (SQLite is for development)")
    if not any(values[name] for name in ALERT_CHANNEL_SETTINGS):
        problems.append(", ".join(ALERT_CHANNEL_SETTINGS) + ": production needs at least one alert channel")
    for setting in SETTINGS:
        # A URL derived from another setting (WEBHOOK_ENDPOINT) is reported through that setting.
        explicit = loaded.sources[setting.name] or setting.default
        if setting.kind == "url" and explicit and not _is_https(values[setting.name]):
            problems.append(f"{setting.name}: production URLs must use https")
    for name in ("IKHOKHA_API_KEY", "IKHOKHA_API_SECRET", "IKHOKHA_WEBHOOK_SECRET"):
        if values[name] in PUBLISHED_SANDBOX_CREDENTIALS:
            problems.append(f"{name}: the sandbox credential may not be used in production")
    if not values["ENABLE_ENHANCED_WEBHOOK_VALIDATION"]:
        problems.append("ENABLE_ENHANCED_WEBHOOK_VALIDATION: may not be false in production")
    if values["SANDBOX_GATEWAY_ENABLED"]:
        problems.append("SANDBOX_GATEWAY_ENABLED: the sandbox gateway may not run in production")
    if values["SECRET_KEY"] and len(values["SECRET_KEY"]) < 32:
        problems.append("SECRET_KEY: shorter than 32 characters")
    return problems + _public_url_problems(values)


def _access_webhook_problems(values):
    """ACCESS_WEBHOOK_URL needs a whsec_ secret that Standard Webhooks receivers can verify with (SPEC §14)."""
    if not values["ACCESS_WEBHOOK_URL"]:
        return []
    secret = values["ACCESS_WEBHOOK_SECRET"]
    if not secret:
        return ["ACCESS_WEBHOOK_SECRET: required while ACCESS_WEBHOOK_URL is set (whsec_ followed by a base64 key)"]
    from cardpay.core.standard_webhooks import parse_secret  # a leaf module: nothing of cardpay comes with it

    try:
        parse_secret(secret)
    except ValueError as exc:
        return [f"ACCESS_WEBHOOK_SECRET: {exc}"]  # the reason names the format, never the value
    return []


def find_problems(loaded):
    """Return one line per problem, "NAME: reason" (never a secret's value)."""
    values, problems = loaded.values, list(loaded.errors)
    if values["CARDPAY_ENV"] == "production":
        problems += _production_problems(loaded)
    if values["ENABLE_WEBHOOK_IP_VERIFICATION"] and not values["WEBHOOK_ALLOWED_IPS"]:
        problems.append("WEBHOOK_ALLOWED_IPS: empty while ENABLE_WEBHOOK_IP_VERIFICATION is on "
                        "(every callback would be refused)")
    if values["IKHOKHA_WEBHOOK_SECRET_PREVIOUS"] and not values["IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES"]:
        problems.append("IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES: required while a previous secret is set")
    if values["TRUSTED_PROXY_COUNT"] < 0:
        problems.append("TRUSTED_PROXY_COUNT: may not be negative")
    sandbox_api = values["IKHOKHA_API_URL"].startswith(values["PRODUCTION_URL"] + "/sandbox/")
    if sandbox_api and not values["SANDBOX_GATEWAY_ENABLED"]:
        problems.append("IKHOKHA_API_URL: points at the built-in sandbox gateway, which SANDBOX_GATEWAY_ENABLED "
                        "turns off")
    if not 0 < values["MAIL_PORT"] < 65536:
        problems.append("MAIL_PORT: expected a TCP port, 1 to 65535")
    if values["MAIL_DEFAULT_SENDER"] and not email_address(values["MAIL_DEFAULT_SENDER"]):
        problems.append("MAIL_DEFAULT_SENDER: not an email address (expected a@b.example or Name <a@b.example>)")
    for name in RATE_LIMIT_SETTINGS:
        try:
            parse_many(values[name] or "")
        except ValueError:
            problems.append(f"{name}: expected limits such as 10/minute;50/hour")
    try:
        parse_header_pairs(values["LOG_AGGREGATION_HEADERS"])
    except ValueError as exc:
        problems.append(f"LOG_AGGREGATION_HEADERS: {exc}")
    problems += _access_webhook_problems(values)
    for setting in SETTINGS:
        value = values[setting.name]
        text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value or "")
        if loaded.sources[setting.name] and PLACEHOLDER in text:
            problems.append(f"{setting.name}: still holds the template's {PLACEHOLDER} placeholder")
    return problems


def find_warnings(loaded):
    """Return one line per setting that serves but weakens a guard in production, "NAME: reason"."""
    values, warnings = loaded.values, []
    if values["CARDPAY_ENV"] != "production":
        return warnings
    if not values["METRICS_BEARER_TOKEN"] and not values["METRICS_ALLOWED_IPS"]:
        warnings.append("METRICS_BEARER_TOKEN, METRICS_ALLOWED_IPS: neither is set, so /metrics refuses "
                        "every scrape in production")
    if not values["RATE_LIMITS_ENABLED"]:
        warnings.append("RATE_LIMITS_ENABLED: false switches off the sign-in throttle in production")
    elif (values["RATE_LIMIT_STORAGE_URL"] or "").startswith("memory://"):
        warnings.append("RATE_LIMIT_STORAGE_URL: memory:// counts per worker process; use redis://... so "
                        "every worker and host shares the counters")
    if not values["ADMIN_REQUIRE_2FA"]:
        warnings.append("ADMIN_REQUIRE_2FA: admins sign in with a password alone")
    return warnings


def fatal_problems(loaded):
    """Return the problems that stop a process from serving: any in production, unparseable values elsewhere."""
    if loaded.values["CARDPAY_ENV"] != "production":
        return list(loaded.errors)
    return find_problems(loaded)


def refuse_to_serve(loaded):
    """Raise ConfigError naming every fatal problem; a serving process calls this before it starts."""
    problems = fatal_problems(loaded)
    if problems:
        raise ConfigError("cardpay cannot start: " + "; ".join(problems))


# ── Files: instance/secret_key, .env, .env.production ───────────────────────────────────────────


def _instance_file(instance_path, name, make):
    """Return the text of instance/<name>, writing ``make()`` into it first if it does not exist yet."""
    path = Path(instance_path) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write the whole file under a private name, then link it into place: link() fails when
        # another worker got there first, and no worker can ever read a half-written file.
        draft = path.with_name(f"{name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def instance_secret_key(instance_path):
    """Return the development SECRET_KEY kept in instance/, creating it once for all workers."""
    return _instance_file(instance_path, "secret_key", lambda: secrets.token_hex(32))


def instance_sandbox_credentials(instance_path):
    """Return (app id, secret) of this install's sandbox gateway, kept in instance/sandbox_credentials.

    Generated once per install (never published), so a deployment that forgot CARDPAY_ENV and runs
    the sandbox does not accept callbacks signed with a secret anyone can read in the repository.
    """
    text = _instance_file(instance_path, "sandbox_credentials",
                          lambda: f"sandbox-{secrets.token_hex(8)}\n{secrets.token_urlsafe(32)}\n")
    app_id, _, secret = text.partition("\n")
    return app_id.strip(), secret.strip()


def _env_name_in(mapping):
    """Return the environment name a mapping asks for through CARDPAY_ENV (or its legacy name)."""
    return (mapping.get("CARDPAY_ENV") or mapping.get(LEGACY_PREFIX + "CARDPAY_ENV") or "").strip().lower()


def load_dotenv_files(root, environ=None):
    """Fill ``environ`` from .env, then from .env.production in production; set variables win.

    The precedence (real environment > .env > .env.production) is the one the ``flask`` command
    already gives .env, so gunicorn and the CLI see the same values. A server on which
    ``.env.production`` exists runs in production unless CARDPAY_ENV says otherwise, so the
    runbook's ``cp .env.production.card-payment .env.production`` is enough to select it.
    """
    from dotenv import dotenv_values

    environ = os.environ if environ is None else environ
    if _env_name_in(environ) == "testing":
        return  # the test suite never reads a developer's or a server's files
    root = Path(root)
    layers = [dotenv_values(root / ".env")] if (root / ".env").is_file() else []
    production_file = root / ".env.production"
    if production_file.is_file():
        production = dotenv_values(production_file)
        chosen = _env_name_in(environ) or _env_name_in(layers[0] if layers else {})
        if (chosen or _env_name_in(production) or "production") == "production":
            layers.append({**production, "CARDPAY_ENV": "production"})
    for layer in layers:
        for key, value in layer.items():
            if value is not None and environ.get(key) in (None, ""):
                environ[key] = value


# ── Flask config classes ────────────────────────────────────────────────────────────────────────


class BaseConfig:
    """Flask settings shared by every environment."""

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # No ping before every checkout: cardpay/core/database.py pings only connections that sat idle.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False}
    MAX_CONTENT_LENGTH = None  # the callback view enforces its own 64 KiB limit and records it
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    # A signed session cookie older than this is refused outright (Flask's default is 31 days); the
    # admin session also ends after ADMIN_SESSION_IDLE_MINUTES and on logout (cardpay/admin/sessions.py).
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    TESTING = False
    DEBUG = False


class DevelopmentConfig(BaseConfig):
    """Local development: SQLite, the sandbox gateway, no credentials."""


class TestingConfig(BaseConfig):
    """The test suite: no scheduler, no dotenv files."""

    TESTING = True


class ProductionConfig(BaseConfig):
    """Production: PostgreSQL, secure cookies, real credentials."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIG_CLASSES = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def _sandbox_credentials(mapping, loaded, instance_path):
    """Outside production: the sandbox's credentials (SANDBOX_APP_ID / SANDBOX_SECRET, given or generated
    into instance/), which are also cardpay's IKHOKHA_API_KEY / _SECRET unless those are set."""
    if not (mapping.get("SANDBOX_APP_ID") and mapping.get("SANDBOX_SECRET")):
        mapping["SANDBOX_APP_ID"], mapping["SANDBOX_SECRET"] = instance_sandbox_credentials(instance_path)
    for name, sandbox_name in (("IKHOKHA_API_KEY", "SANDBOX_APP_ID"), ("IKHOKHA_API_SECRET", "SANDBOX_SECRET")):
        mapping[name] = mapping[name] or mapping[sandbox_name]
    mapping["IKHOKHA_WEBHOOK_SECRET"] = mapping["IKHOKHA_WEBHOOK_SECRET"] or mapping["IKHOKHA_API_SECRET"]
    for name in ("IKHOKHA_API_KEY", "IKHOKHA_API_SECRET", "IKHOKHA_WEBHOOK_SECRET"):
        loaded.values[name] = mapping[name]


def build_config(instance_path, environ=None, overrides=None):
    """Return (flask_config_mapping, loaded_settings) for the active environment.

    ``overrides`` (the mapping given to create_app) wins over the environment: a string for a
    setting is parsed like an environment variable, any other value is taken as already typed.
    """
    overrides = dict(overrides or {})
    environ = dict(os.environ if environ is None else environ)
    typed, flask_only = {}, {}
    for key, value in overrides.items():
        if key not in SETTINGS_BY_NAME:
            flask_only[key] = value
        elif isinstance(value, str):
            environ[key] = value
        else:
            typed[key] = value
    loaded = read_settings(environ)
    loaded.values.update(typed)
    env = loaded.values["CARDPAY_ENV"]
    mapping = {key: getattr(CONFIG_CLASSES[env], key) for key in dir(CONFIG_CLASSES[env]) if key.isupper()}
    mapping.update(loaded.values)
    if not mapping["SECRET_KEY"] and env != "production":
        mapping["SECRET_KEY"] = instance_secret_key(instance_path)
    url = mapping["SQLALCHEMY_DATABASE_URI"] = mapping["DATABASE_URL"] or (
        "sqlite:///" + str(Path(instance_path) / "cardpay.sqlite3"))
    if url.startswith("postgresql"):
        mapping["SQLALCHEMY_ENGINE_OPTIONS"] = {**mapping["SQLALCHEMY_ENGINE_OPTIONS"],
                                                "connect_args": {"connect_timeout": DATABASE_CONNECT_TIMEOUT_SECONDS}}
    mapping.update(flask_only)
    if env != "production":
        _sandbox_credentials(mapping, loaded, instance_path)
    return mapping, loaded
