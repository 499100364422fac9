"""Never-pruned metric totals: what retention removed from card_payment_metrics, per metric and label set.

A Prometheus counter must never go down, but retention deletes card_payment_metrics rows after
METRICS_RETENTION_DAYS. So before a batch is deleted (jobs/retention, and PostgreSQL's
cleanup_old_card_payment_metrics() the same way) its sums are added to card_payment_metric_totals in
the same transaction, and /metrics reports totals plus the rows still there. A series is identified
by its labels as stored JSON text, the same text in both paths.
"""

import json

from sqlalchemy import Text, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite

from cardpay.core.extensions import db
from cardpay.models import CardPaymentMetric, CardPaymentMetricTotal


def series_key():
    """SQL for a metric row's series identity: its labels as stored text."""
    return cast(CardPaymentMetric.labels, Text)


def fold(condition):
    """Add the rows matching ``condition`` to the totals, in the current transaction (before they are deleted)."""
    key = series_key()
    rows = db.session.execute(select(CardPaymentMetric.metric_name, key, func.sum(CardPaymentMetric.value),
                                     func.count()).where(condition).group_by(CardPaymentMetric.metric_name, key)).all()
    if not rows:
        return 0
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    table = CardPaymentMetricTotal.__table__
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["metric_name", "labels_key"],
        set_={"value_sum": table.c.value_sum + statement.excluded.value_sum,
              "count": table.c.count + statement.excluded.count})
    db.session.execute(statement, [{"metric_name": name, "labels_key": text or "{}",
                                    "labels": json.loads(text) if text else {}, "value_sum": float(total or 0),
                                    "count": int(n)} for name, text, total, n in rows])
    return sum(int(n) for *_, n in rows)


def read():
    """Return [(metric_name, labels text, value_sum)] of every series retention has folded."""
    return db.session.execute(select(CardPaymentMetricTotal.metric_name, CardPaymentMetricTotal.labels_key,
                                     CardPaymentMetricTotal.value_sum)).all()
