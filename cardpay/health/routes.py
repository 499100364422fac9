"""GET /health and /health/config, plus the legacy Netlify function paths."""

import logging
import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

import config as cardpay_config
from cardpay.core import clock, log_fields
from cardpay.core.extensions import db
from cardpay.models import JobRun, WebhookEvent

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _probe_database():
    """Run SELECT 1 and time it; a failure is logged here and reported without detail to the client."""
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "unreachable" to a load balancer
        db.session.rollback()
        log.warning("health: database probe failed", exc_info=True)
        return {"ok": False, "error": "database unreachable"}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _last_time(column):
    return clock.as_utc(db.session.execute(select(func.max(column))).scalar())


def _age_seconds(value):
    return round((clock.now() - value).total_seconds(), 1) if value else None


def _activity_checks():
    """Report when a scheduled job last finished and when the last callback arrived (informative only)."""
    last_job = _last_time(JobRun.finished_at)
    last_callback = _last_time(WebhookEvent.received_at)
    return {
        "scheduler": {"last_job_finished_at": clock.iso(last_job), "age_seconds": _age_seconds(last_job)},
        "last_callback": {"received_at": clock.iso(last_callback), "age_seconds": _age_seconds(last_callback)},
    }


@bp.get("/health")
@bp.get("/.netlify/functions/health-check")
def health():
    """Answer 200 when the database answers, 503 when it does not; scheduler and callbacks are informative."""
    database = _probe_database()
    checks = {"database": database}
    if database["ok"]:
        try:
            checks.update(_activity_checks())
        except SQLAlchemyError:
            # The server answers but cardpay's tables are not there: as useless as no database.
            db.session.rollback()
            log.warning("health: database answers but its schema is not usable", exc_info=True)
            database.update(ok=False, error="database schema missing or out of date (run flask db upgrade)")
    body = {"status": "ok" if database["ok"] else "unavailable", "time": clock.iso(clock.now()),
            "environment": current_app.config["CARDPAY_ENV"], "version": log_fields.VERSION, "checks": checks}
    if not database["ok"]:
        body.update(error="database_unavailable", message=f"cardpay cannot use its database: {database['error']}.")
        return jsonify(body), 503
    return jsonify(body), 200


@bp.get("/health/config")
@bp.get("/.netlify/functions/config-check")
def config_check():
    """Report which settings are set and valid, as booleans only (no values, no hints)."""
    loaded = current_app.extensions["cardpay_settings"]
    problems = cardpay_config.find_problems(loaded)
    failing = set().union(*map(cardpay_config.problem_settings, problems))
    settings = {setting.name: {"set": loaded.sources[setting.name] is not None, "valid": setting.name not in failing}
                for setting in cardpay_config.SETTINGS}
    body = {"status": "ok" if not problems else "invalid", "environment": loaded.values["CARDPAY_ENV"],
            "valid": not problems, "problem_count": len(problems), "settings": settings}
    return jsonify(body), 200

