"""Engine tuning per database: SQLite gets WAL, a busy timeout and serialised write transactions;
PostgreSQL connections are pinged before use only when they sat idle in the pool.
"""

import time

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from cardpay.core.extensions import db


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
