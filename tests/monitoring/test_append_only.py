"""Append-only rows kept as plain values share the fate of their session: written by its commit, dropped by
its rollback, kept through a SAVEPOINT's rollback."""

from sqlalchemy import func, select

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import AuditLog, CardPaymentMetric
from cardpay.monitoring import append_only


def _metric(name):
    return append_only.add(CardPaymentMetric, metric_name=name, value=1.0, labels={}, timestamp=clock.now())


def _names():
    return sorted(db.session.execute(select(CardPaymentMetric.metric_name)).scalars())


def test_rows_are_written_by_the_commit_and_dropped_by_the_rollback(app):
    with app.app_context():
        _metric("rolled_back")
        assert append_only.pending(CardPaymentMetric)[0]["metric_name"] == "rolled_back"
        db.session.rollback()
        assert append_only.pending() == []
        _metric("committed")
        db.session.commit()
        assert _names() == ["committed"] and append_only.pending() == []


def test_a_savepoint_rolled_back_keeps_what_was_added_before_it(app):
    with app.app_context():
        _metric("before")
        savepoint = db.session.begin_nested()
        _metric("inside")
        savepoint.rollback()
        db.session.commit()
        assert _names() == ["before", "inside"]  # values are not undone by a SAVEPOINT, as documented


def test_several_rows_of_several_tables_go_out_in_one_commit(app):
    with app.app_context():
        for n in range(3):
            _metric(f"m{n}")
        append_only.add(AuditLog, timestamp=clock.now(), actor="ops", action="test", target_type=None,
                        target_id=None, outcome="ok", reason=None, details={}, ip=None)
        db.session.commit()
        assert _names() == ["m0", "m1", "m2"]
        assert db.session.execute(select(func.count()).select_from(AuditLog)).scalar() == 1


def test_a_failed_flush_inside_a_savepoint_keeps_the_rows(app):
    """An insert that loses a race inside a SAVEPOINT (services/alerts) must not take the request's rows with it."""
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        _metric("before")
        try:
            with db.session.begin_nested():
                db.session.add(CardPaymentMetric(metric_name=None, value=1.0, labels={}, timestamp=clock.now()))
        except IntegrityError:
            pass
        db.session.commit()
        assert _names() == ["before"]
