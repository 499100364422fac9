"""The Prometheus collector behind GET /metrics: cardpay's figures read from the database at scrape time.

Under gunicorn each worker is a separate process, so in-memory counters would show whichever worker
answered the scrape. Every figure here is read from tables all workers write, so any worker reports
the same totals: counters and the stage histogram from the running totals (monitoring/totals: one
row per series, kept as rows are written, never lowered by retention), approvals from
fast_track_approvals, gauges from the alerts, the outbox and the review queue. The figures of each
process (receiver failures, rows dropped) are added to the totals as they change, so they sum over
every worker and do not multiply with worker restarts. Scrape one target per deployment: every
worker and host reports the same database-backed totals.

monitoring/scrape serves the route and decides who may read it; it loads this module (and
prometheus_client with it) on the first scrape, so a worker that only takes callbacks never imports it.
"""

import logging

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString
from sqlalchemy import func, select

from cardpay.core.extensions import db
from cardpay.models import (
    AlertDelivery,
    CardPaymentAlert,
    FastTrackApproval,
    ManualIntervention,
)
from cardpay.models.monitoring import SEVERITIES, STAGES
from cardpay.monitoring import totals, worker_buffer

log = logging.getLogger(__name__)
VERSION = "0.2.0"  # keep in step with setup.cfg
# The per-process figures (totals' names), summed over every worker that ever ran: (exported name, help).
PROCESS_COUNTERS = (
    ("process_receiver_failures", "cardpay_process_receiver_failures", "Signal receivers that raised"),
    ("process_monitoring_commit_failures", "cardpay_process_monitoring_commit_failures",
     "Monitoring commits that failed"),
    ("process_monitoring_rows_dropped", "cardpay_process_monitoring_rows_dropped",
     "Buffered monitoring rows dropped after failed flushes"),
    ("process_monitoring_flush_failures", "cardpay_process_monitoring_flush_failures",
     "Flushes of buffered monitoring rows that failed"),
    ("process_log_records_dropped", "cardpay_process_log_records_dropped",
     "Log records dropped by the aggregation shipper"),
)


class CardpayCollector:
    """Collect every cardpay figure from the database (plus per-process counters) for one scrape."""

    def collect(self):
        """Yield the metric families; a database failure yields cardpay_database_up 0 instead."""
        up = GaugeMetricFamily("cardpay_database_up", "1 when the figures below could be read from the database")
        try:
            families = list(self._database_families())
            up.add_metric([], 1)
        except Exception:  # noqa: BLE001 - a scrape must answer even when the database does not
            db.session.rollback()
            log.exception("/metrics could not read the database")
            families = []
            up.add_metric([], 0)
        yield up
        build = GaugeMetricFamily("cardpay_build_info", "Which cardpay version this process runs (always 1)",
                                  labels=["version"])
        build.add_metric([VERSION], 1)
        yield build
        yield from families

    def _database_families(self):
        sums = self._metric_sums()
        yield self._counter("cardpay_callbacks", "Callbacks received, by result and outcome (or rejection reason)",
                            ["result", "outcome"],
                            [(("accepted", lab.get("outcome")), v) for lab, v in sums.get("callbacks_received", [])]
                            + [(("rejected", lab.get("reason")), v) for lab, v in sums.get("callbacks_rejected", [])])
        yield self._counter("cardpay_payments", "Payments that reached an outcome", ["status"],
                            [(("succeeded",), v) for _, v in sums.get("payments_succeeded", [])]
                            + [(("failed",), v) for _, v in sums.get("payments_failed", [])])
        yield self._counter("cardpay_revenue_cents", "Revenue of succeeded payments, in cents", ["currency"],
                            [((lab.get("currency"),), v) for lab, v in sums.get("revenue_cents", [])])
        yield self._counter("cardpay_requests", "Callback and checkout requests answered", ["endpoint", "status_class"],
                            [((lab.get("endpoint"), lab.get("status_class")), v)
                             for lab, v in sums.get("requests_finished", [])])
        yield self._counter("cardpay_request_errors", "Callback and checkout requests that ended in an error",
                            ["endpoint"], [((lab.get("endpoint"),), v) for lab, v in sums.get("request_errors", [])])
        yield self._counter("cardpay_alerts_raised", "Alerts raised, repeats included", ["alert_type", "severity"],
                            [((lab.get("alert_type"), lab.get("severity")), v)
                             for lab, v in sums.get("alerts_raised", [])])
        yield self._counter("cardpay_approvals", "Approvals and approval attempts, by method and outcome",
                            ["method", "outcome"], [((method, outcome), n) for method, outcome, n in db.session.execute(
                                select(FastTrackApproval.method, FastTrackApproval.outcome, func.count())
                                .group_by(FastTrackApproval.method, FastTrackApproval.outcome)).all()])
        yield from self._stage_families(sums)
        yield from self._process_families(sums)
        yield self._gauge("cardpay_alerts_open", "Open alerts by severity", ["severity"], self._open_alerts())
        yield self._gauge("cardpay_alert_deliveries", "Alert notifications in the outbox by channel and status",
                          ["channel", "status"], [((channel, status), n) for channel, status, n in db.session.execute(
                              select(AlertDelivery.channel, AlertDelivery.status, func.count())
                              .group_by(AlertDelivery.channel, AlertDelivery.status)).all()])
        yield self._gauge("cardpay_manual_interventions_open", "Items waiting in the manual-review queue", [],
                          [((), db.session.execute(select(func.count(ManualIntervention.id)).where(
                              ManualIntervention.status == "open")).scalar())])
        db.session.commit()  # end the read transaction; a scrape holds nothing open

    def _metric_sums(self):
        """Return {metric name: [(labels, total)]}: the running totals, this worker's own figures added first."""
        totals.add_process_figures(db.session, worker_buffer.process_figures())
        db.session.commit()
        return totals.read()

    def _stage_families(self, sums):
        def per_stage(name):
            return {labels.get("operation"): total for labels, total in sums.get(name, [])}

        count, total_ms, over = per_stage("stage_count"), per_stage("stage_sum_ms"), per_stage("stage_exceeded")
        buckets = {}
        for labels, n in sums.get("stage_bucket", []):
            buckets.setdefault(labels.get("operation"), {})[labels.get("le")] = n
        histogram = HistogramMetricFamily("cardpay_stage_duration_seconds",
                                          "Duration of each payment stage", labels=["operation"])
        exceeded = CounterMetricFamily("cardpay_stage_threshold_exceeded", "Stage timings over their threshold",
                                       labels=["operation"])
        for stage in STAGES:
            bounds = [(floatToGoString(bound), int(buckets.get(stage, {}).get(floatToGoString(bound), 0)))
                      for bound in totals.STAGE_BUCKETS_SECONDS]
            histogram.add_metric([stage], bounds + [("+Inf", int(count.get(stage, 0)))],
                                 float(total_ms.get(stage, 0)) / 1000.0)
            exceeded.add_metric([stage], int(over.get(stage, 0)))
        yield histogram
        yield exceeded

    def _open_alerts(self):
        counts = dict(db.session.execute(select(CardPaymentAlert.severity, func.count()).where(
            CardPaymentAlert.resolved.is_(False)).group_by(CardPaymentAlert.severity)).all())
        return [((severity,), counts.get(severity, 0)) for severity in SEVERITIES]

    def _process_families(self, sums):
        for name, exported, documentation in PROCESS_COUNTERS:
            yield self._counter(exported, f"{documentation}, summed over every worker", [],
                                [((), sum(total for _, total in sums.get(name, [])))])

    @staticmethod
    def _counter(name, documentation, labels, pairs):
        return _family(CounterMetricFamily(name, documentation, labels=labels), pairs)

    @staticmethod
    def _gauge(name, documentation, labels, pairs):
        return _family(GaugeMetricFamily(name, documentation, labels=labels), pairs)


def _family(family, pairs):
    """Fill a family from ((label values...), value) pairs, summing pairs that share label values."""
    totals = {}
    for label_values, value in pairs:
        key = tuple(str(v) for v in label_values)
        totals[key] = totals.get(key, 0.0) + float(value or 0)
    for key, value in sorted(totals.items()):
        family.add_metric(list(key), value)
    return family


def exposition():
    """Return the answer to a scrape: every figure, in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CardpayCollector())
    return Response(generate_latest(registry), mimetype=None, content_type=CONTENT_TYPE_LATEST)
