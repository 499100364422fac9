"""GET /health and /health/config, plus the legacy Netlify function paths."""

import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

import config as cardpay_config
from cardpay import clock
from cardpay.extensions import db
from cardpay.models import JobRun, WebhookEvent

bp = Blueprint("health", __name__)


def _probe_database():
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception:  # noqa: BLE001 - any failure means "unreachable" to a load balancer
        db.session.rollback()
        current_app.logger.warning("health: database probe failed", exc_info=True)
        return {"ok": False, "error": "database unreachable"}


def _last_time(column):
    value = db.session.execute(select(func.max(column))).scalar()
    return clock.as_utc(value)


def _age_seconds(value):
    return round((clock.now() - value).total_seconds(), 1) if value else None


@bp.get("/health")
@bp.get("/.netlify/functions/health-check")
def health():
    """Answer 200 when the database answers, 503 when it does not; scheduler and callbacks are informative."""
    database = _probe_database()
    body = {"status": "ok" if database["ok"] else "unavailable", "time": clock.iso(clock.now()),
            "checks": {"database": database}}
    if database["ok"]:
        last_job = _last_time(JobRun.finished_at)
        last_callback = _last_time(WebhookEvent.received_at)
        body["checks"]["scheduler"] = {"last_job_finished_at": clock.iso(last_job),
                                       "age_seconds": _age_seconds(last_job)}
        body["checks"]["last_callback"] = {"received_at": clock.iso(last_callback),
                                           "age_seconds": _age_seconds(last_callback)}
    return jsonify(body), 200 if database["ok"] else 503


@bp.get("/health/config")
@bp.get("/.netlify/functions/config-check")
def config_check():
    """Report which settings are set and valid, as booleans only (no values, no hints)."""
    loaded = current_app.extensions["cardpay_settings"]
    problems = cardpay_config.find_problems(loaded)
    failing = {line.split(":", 1)[0] for line in problems}
    settings = {}
    for setting in cardpay_config.SETTINGS:
        bad = any(setting.name in names for names in failing)
        settings[setting.name] = {"set": loaded.sources[setting.name] is not None, "valid": not bad}
    body = {"status": "ok" if not problems else "invalid", "environment": loaded.values["CARDPAY_ENV"],
            "valid": not problems, "problem_count": len(problems), "settings": settings}
    return jsonify(body), 200

from cardpay.health import metrics  # noqa: E402,F401  (registers /metrics on this blueprint)
