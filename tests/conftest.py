"""Shared fixtures: a migrated database per run (SQLite, or PostgreSQL when
CARDPAY_TEST_DATABASE_URL names a server), an app per test, a CLI runner, live servers, a fresh
database of a test's own, the `flask` command in-process, and loopback HTTP and SMTP receivers."""

import os
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from flask.cli import FlaskGroup
from sqlalchemy import text
from werkzeug.serving import make_server

from cardpay import create_app
from cardpay.core import clock
from cardpay.core.extensions import db
from tests.receiver_helpers import HttpReceiver, SmtpSink, free_port

PG_ADMIN_URL = os.environ.get("CARDPAY_TEST_DATABASE_URL", "")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TEST_SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
# Fixed sandbox credentials for the suite (development installs generate their own into instance/).
TEST_APP_ID = "test-sandbox-app-id"
TEST_API_SECRET = "test-sandbox-secret-0123456789abcdef"


def _pg_conninfo(url, dbname=None):
    conninfo = url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")
    if dbname:
        base, _, _ = conninfo.rpartition("/")
        conninfo = f"{base}/{dbname}"
    return conninfo


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """Create this run's own database and drop it at the end."""
    if not PG_ADMIN_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'cardpay-test.sqlite3'}"
        return
    name = f"cardpay_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_conninfo(PG_ADMIN_URL, name)
    with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_config(database_url, **overrides):
    """Return the settings mapping tests build apps from."""
    settings = {
        "CARDPAY_ENV": "testing",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "SANDBOX_APP_ID": TEST_APP_ID,
        "SANDBOX_SECRET": TEST_API_SECRET,
        "PRODUCTION_URL": "http://127.0.0.1:5000",
        "SCHEDULER_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
    }
    settings.update(overrides)
    return settings


@pytest.fixture(scope="session")
def migrated_database(database_url):
    """Apply the migrations once per run."""
    from flask_migrate import upgrade

    app = create_app(make_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_all_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


@pytest.fixture
def app_factory(migrated_database):
    """Build apps on this run's database; every table is emptied after the test."""
    built = []

    def factory(**overrides):
        app = create_app(make_config(migrated_database, **overrides))
        built.append(app)
        return app

    yield factory
    clock.reset()
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    cleaner = create_app(make_config(migrated_database))
    with cleaner.app_context():
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def app(app_factory):
    """The default test app (pytest-flask's client fixture uses it)."""
    return app_factory()


@pytest.fixture
def runner(app):
    """A CLI runner for `flask cardpay ...` commands."""
    return app.test_cli_runner()


@pytest.fixture
def is_postgres(migrated_database):
    """Tell whether this run is on PostgreSQL."""
    return migrated_database.startswith("postgresql")


class LiveServer:
    """A real HTTP server on loopback, in a thread, serving a WSGI app."""

    def __init__(self, wsgi_app=None, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.wsgi_app = wsgi_app
        self._server = make_server("127.0.0.1", self.port, self._dispatch, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _dispatch(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def live_app(app_factory):
    """Start cardpay on a real loopback port (sandbox gateway included) and return (app, server)."""
    servers = []

    def start(**overrides):
        server = LiveServer()
        app = app_factory(PRODUCTION_URL=server.url, **overrides)
        server.wsgi_app = app
        servers.append(server.start())
        return app, server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def artifacts_dir():
    """Where tests leave screenshots and other files for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_collection_modifyitems(config, items):
    """Skip tests marked postgres_only when no PostgreSQL server is named."""
    if PG_ADMIN_URL:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set CARDPAY_TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def flask_cli():
    """Run `flask ARGS` in-process through Flask's own command group, on an app built from ``settings``."""

    def invoke(args, settings):
        group = FlaskGroup(create_app=lambda: create_app(settings))
        return CliRunner().invoke(group, args, catch_exceptions=False)

    return invoke


@pytest.fixture
def fresh_database_url(tmp_path):
    """A new, empty database of this test's own: a SQLite file, or a PostgreSQL database created and dropped."""
    if not PG_ADMIN_URL:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")
    name = f"cardpay_fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{admin.rpartition('/')[0]}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def webhook_receiver():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def slack_receiver():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp_server():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


def pytest_terminal_summary(terminalreporter):
    """On SQLite, say plainly that the PostgreSQL-only tests (and the second callback form) did not run, and how to."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "needs PostgreSQL" in str(r.longrepr)]
    if PG_ADMIN_URL or not skipped:
        return
    terminalreporter.write_line(
        f"{len(skipped)} PostgreSQL-only tests were skipped, and the callback tests ran through the general path "
        "only. To run them: CARDPAY_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres make test")


REDIS_TEST_URL = "redis://127.0.0.1:6379/13"  # this suite's own Redis database


@pytest.fixture(params=["memory", "redis"])
def limit_storage(request):
    """Rate-limit settings on memory:// or on the machine's real Redis (keys under a prefix of this test's
    own, deleted afterwards); .keys() lists what the test left in Redis."""
    prefix = f"cardpay-test-{uuid.uuid4().hex[:12]}"
    settings = {"RATE_LIMITS_ENABLED": True, "RATELIMIT_KEY_PREFIX": prefix,
                "RATE_LIMIT_STORAGE_URL": REDIS_TEST_URL if request.param == "redis" else "memory://"}
    if request.param != "redis":
        yield LimitStorage(settings, None)
        return
    import redis

    connection = redis.Redis.from_url(REDIS_TEST_URL)
    yield LimitStorage(settings, connection)
    keys = connection.keys(f"*{prefix}*")
    if keys:
        connection.delete(*keys)
    connection.close()


class LimitStorage:
    """The settings of one rate-limit storage, and a look into Redis when it is the one used."""

    def __init__(self, settings, connection):
        self.settings, self.connection = settings, connection

    def keys(self):
        """The keys this test created in Redis (empty on memory://)."""
        if self.connection is None:
            return []
        return [k.decode() for k in self.connection.keys(f"*{self.settings['RATELIMIT_KEY_PREFIX']}*")]
