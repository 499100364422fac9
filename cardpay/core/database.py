"""The database: engine tuning per dialect, and the few session moves every package makes the same way.

SQLite gets WAL, a busy timeout and serialised write transactions; PostgreSQL connections are pinged
before use only when they sat idle in the pool. ``insert_or_lose`` / ``insert_or_get`` are how a row
guarded by a unique constraint is created when another worker may create it at the same instant, and
``rollback_quietly`` ends a unit of work that failed, even when the connection itself is gone.
"""

import logging
import time

from sqlalchemy import event, select
from sqlalchemy.exc import DisconnectionError, IntegrityError

from cardpay.core.extensions import db

log = logging.getLogger(__name__)


def _tune_sqlite(engine):
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on the busy
        # timeout instead of one failing with "database is locked" when it upgrades its lock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# A connection back in use within this long is taken as alive: under load no request pays a ping's
# round trip. One that dies while in use (the server restarted) fails its statement; SQLAlchemy then
# discards every connection of the pool, so a callback is answered 503 once per worker and retried.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine):
    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure means the connection is not usable
            raise DisconnectionError("the pooled connection did not answer a ping") from exc  # the pool reconnects


def init_app(app):
    """Bind the database and tune its engine."""
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)
        else:
            _ping_idle_connections(db.engine)


def is_postgresql():
    """Tell whether the bound database is PostgreSQL."""
    return db.engine.dialect.name == "postgresql"


def insert_or_lose(row):
    """Insert ``row`` inside a SAVEPOINT; tell whether it went in (False: a unique key says another got there first)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


def insert_or_get(model, lookup, **values):
    """Return the row of ``model`` matching ``lookup``, inserting it when missing (a racing insert is read back)."""
    query = select(model).filter_by(**lookup)
    row = db.session.execute(query).scalar()
    if row is not None:
        return row
    row = model(**lookup, **values)
    return row if insert_or_lose(row) else db.session.execute(query).scalar_one()


def rollback_quietly():
    """Roll the session back; when even that fails (the connection died), discard the session. Never raises."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection must not turn an answer into a 500
        log.warning("rollback failed; the session is discarded")
        db.session.remove()
