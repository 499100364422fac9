"""Bulk data for bench/scale.py, generated inside PostgreSQL with generate_series (no Python loop).

In the 7-day window: ``rows`` card_payment_performance rows (the five stages in turn, durations
spread up to 1.2 x their thresholds so a few exceed them) and ``rows`` card_payment_metrics rows
(the names the handlers write), plus 20,000 payments with their approvals, mostly succeeded.
Past every retention window (100 to 400 days old): ``expired`` rows split over the two tables.
"""

import psycopg

NOW = "(now() at time zone 'utc')"
STAGES = "ARRAY['webhook_processing','payment_detection','approval_processing','ui_update','end_to_end']"
THRESHOLDS = "ARRAY[5000,2000,3000,2000,10000]"
METRICS = ("ARRAY['requests_finished','requests_finished','callbacks_received','payments_succeeded',"
           "'revenue_cents','approvals_granted','callbacks_rejected','request_errors']")


def performance(conn, count, age):
    """Insert ``count`` stage timings, ``age`` being an SQL interval expression per row."""
    conn.execute(
        f"INSERT INTO card_payment_performance (operation, duration_ms, threshold_ms, exceeded, success, "
        f"payment_id, details, timestamp) "
        f"SELECT s.op, s.d, s.t, s.d > s.t, random() > 0.01, g, '{{}}'::json, {NOW} - ({age}) "
        f"FROM generate_series(1, %s) AS g, LATERAL (SELECT ({STAGES})[1 + g %% 5] AS op, "
        f"({THRESHOLDS})[1 + g %% 5] AS t, random() * 1.2 * ({THRESHOLDS})[1 + g %% 5] * (0.2 + 0.8 * "
        f"(g %% 97 = 0)::int) AS d) AS s", (count,))


def metrics(conn, count, age):
    """Insert ``count`` metric rows with labels, ``age`` being an SQL interval expression per row."""
    conn.execute(
        f"INSERT INTO card_payment_metrics (metric_name, value, labels, timestamp) "
        f"SELECT ({METRICS})[1 + g %% 8], CASE WHEN g %% 8 = 4 THEN 19900 ELSE 1 END, "
        f"json_build_object('outcome', 'processed', 'status', 'SUCCESS'), {NOW} - ({age}) "
        f"FROM generate_series(1, %s) AS g", (count,))


def payments(conn):
    """Spread the window's payments over 7 days: 95% succeeded with an approval, 3% failed, 2% pending."""
    conn.execute(
        f"UPDATE payments SET created_at = {NOW} - random() * interval '7 days', "
        f"status = CASE WHEN id % 100 < 95 THEN 'succeeded' WHEN id % 100 < 98 THEN 'failed' ELSE 'pending' END")
    conn.execute("UPDATE payments SET succeeded_at = created_at + interval '3 seconds', "
                 "access_granted_at = created_at + interval '3 seconds', outcome_known_at = created_at "
                 "WHERE status = 'succeeded'")
    conn.execute("UPDATE payments SET failed_at = created_at + interval '3 seconds' WHERE status = 'failed'")
    conn.execute("UPDATE enrollments e SET status = 'active', access_granted_at = p.access_granted_at "
                 "FROM payments p WHERE p.enrollment_id = e.id AND p.status = 'succeeded'")
    conn.execute("INSERT INTO fast_track_approvals (payment_id, method, outcome, processing_time_ms, created_at) "
                 "SELECT id, 'fast_track', 'approved', 40 + random() * 60, succeeded_at FROM payments "
                 "WHERE status = 'succeeded'")


def generate(url, rows, expired, window_payments=20_000):
    """Fill the bench database; ANALYZE it so the planner sees the real sizes."""
    import common

    common.seed_payments(url, window_payments, tag="window")
    with psycopg.connect(url, autocommit=True) as conn:
        payments(conn)
        performance(conn, rows, "random() * interval '7 days'")
        metrics(conn, rows, "random() * interval '7 days'")
        old = "interval '100 days' + random() * interval '300 days'"
        performance(conn, expired // 2, old)
        metrics(conn, expired - expired // 2, old)
        # The running totals a live deployment would have kept while writing these rows (monitoring/totals).
        conn.execute("INSERT INTO card_payment_metric_totals (metric_name, labels_key, labels, value_sum, count) "
                     "SELECT metric_name, labels::text, (array_agg(labels))[1], sum(value), count(*) "
                     "FROM card_payment_metrics GROUP BY metric_name, labels::text")
        conn.execute("ANALYZE")
