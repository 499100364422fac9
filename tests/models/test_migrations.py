"""Migrations: up and down on a fresh database, through the API and the real `flask db` command; the models
never drift from them; on PostgreSQL row level security and the retention function come with them."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade

from cardpay import create_app
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import CardPaymentAlert, CardPaymentMetric
from tests.config_helpers import run_flask, schema_drift

SPEC_TABLES = {
    "courses", "learners", "enrollments", "payments", "webhook_events", "fast_track_approvals",
    "card_payment_metrics", "card_payment_performance", "card_payment_alerts", "card_payment_business_metrics",
    "alert_deliveries", "manual_interventions", "audit_logs", "admin_users", "secret_rotations",
}
SPEC_RLS_TABLES = {"card_payment_metrics", "card_payment_performance", "card_payment_alerts",
                   "card_payment_business_metrics", "fast_track_approvals", "audit_logs", "webhook_events"}
TEST_KEY = "migration-test-secret-key-0123456789abcdef"


def fresh_app(url):
    return create_app({"CARDPAY_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": TEST_KEY})


def inspect_database(url):
    """Return (table names, alembic revisions) of the database at ``url``."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        tables = set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            revisions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        return tables, revisions
    finally:
        engine.dispose()


def cleanup_function_exists(connection):
    return connection.execute(sa.text(
        "SELECT count(*) FROM pg_proc WHERE proname = 'cleanup_old_card_payment_metrics'")).scalar() > 0


def test_upgrade_then_downgrade_to_base_on_a_fresh_database(fresh_database_url):
    app = fresh_app(fresh_database_url)
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert SPEC_TABLES <= tables and "alembic_version" in tables
        assert schema_drift(db.engine, db.metadata) == []
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                assert not cleanup_function_exists(connection)
        upgrade()  # and the way back up still works after a full downgrade
        assert SPEC_TABLES <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()


@pytest.mark.slow
def test_the_flask_db_command_upgrades_and_downgrades(fresh_database_url):
    env = {"CARDPAY_ENV": "testing", "DATABASE_URL": fresh_database_url, "SECRET_KEY": TEST_KEY}
    up = run_flask(["db", "upgrade"], env)
    assert up.returncode == 0, up.stderr
    tables, revisions = inspect_database(fresh_database_url)
    with fresh_app(fresh_database_url).app_context():
        heads = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_heads()
    assert SPEC_TABLES <= tables and revisions == heads
    down = run_flask(["db", "downgrade", "base"], env)
    assert down.returncode == 0, down.stderr
    assert inspect_database(fresh_database_url) == ({"alembic_version"}, [])


def test_the_models_match_the_migrated_database(app):
    with app.app_context():
        assert schema_drift(db.engine, db.metadata) == [], "models and migrations differ: add a revision"


def test_the_drift_check_catches_a_model_change_without_a_revision(app):
    drifted = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        if table.name != "secret_rotations":  # a model deleted without a revision that drops its table
            table.to_metadata(drifted)
    drifted.tables["courses"].append_column(sa.Column("drift_probe", sa.Integer, nullable=True))
    with app.app_context():
        changes = schema_drift(db.engine, drifted)
    kinds = {(change[0], change[2] if change[0] == "add_column" else change[1].name) for change in changes
             if isinstance(change, tuple)}
    assert ("add_column", "courses") in kinds
    assert ("remove_table", "secret_rotations") in kinds


@pytest.mark.postgres_only
def test_row_level_security_is_on_exactly_where_the_spec_says(app, is_postgres):
    if not is_postgres:
        pytest.skip("row level security exists on PostgreSQL only")
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'")).all()
        secured = {name for name, on in rows if on}
        every_card_payment_table = {name for name, _ in rows if name.startswith("card_payment_")}
        assert secured == every_card_payment_table | {"fast_track_approvals", "audit_logs", "webhook_events"}
        assert SPEC_RLS_TABLES <= secured
        policies = connection.execute(sa.text(
            "SELECT tablename, policyname, cmd, roles FROM pg_policies WHERE schemaname = current_schema()")).all()
    by_table = {}
    for table, name, command, roles in policies:
        by_table.setdefault(table, {})[name] = (command, list(roles))
    assert set(by_table) == secured
    for table in secured:
        assert by_table[table]["cardpay_app_all"][0] == "ALL"
        assert by_table[table]["cardpay_reporting_read"] == ("SELECT", ["cardpay_reporting"])


@pytest.mark.postgres_only
def test_the_retention_function_deletes_only_what_is_past_its_window(app, is_postgres):
    if not is_postgres:
        pytest.skip("the SQL retention function exists on PostgreSQL only")
    now = clock.now()
    with app.app_context():
        db.session.add_all([
            CardPaymentMetric(metric_name="old", timestamp=now - timedelta(days=91)),
            CardPaymentMetric(metric_name="recent", timestamp=now - timedelta(days=89)),
            CardPaymentAlert(alert_type="t", severity="info", message="old resolved", fingerprint="a",
                             resolved=True, resolved_at=now - timedelta(days=366), timestamp=now - timedelta(days=400)),
            CardPaymentAlert(alert_type="t", severity="info", message="old open", fingerprint="b",
                             resolved=False, timestamp=now - timedelta(days=400)),
        ])
        db.session.commit()
        summary = db.session.execute(sa.text("SELECT cleanup_old_card_payment_metrics()")).scalar()
        db.session.commit()
        assert summary == {"card_payment_metrics": 1, "card_payment_performance": 0, "card_payment_alerts": 1,
                           "audit_logs": 0, "webhook_events": 0, "learner_sign_in_links": 0}
        assert [m.metric_name for m in CardPaymentMetric.query.all()] == ["recent"]
        assert [a.message for a in CardPaymentAlert.query.all()] == ["old open"]
