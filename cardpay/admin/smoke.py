"""Smoke checks of a running deployment over real HTTP: what an operator checks by hand after a deploy.

Home page, /health, /health/config, the callback endpoint (reachable, and refusing an unsigned
call with a 4xx), and the dashboard and admin API refusing anyone who is not signed in.
"""

import json
from dataclasses import dataclass

USER_AGENT = "cardpay-verify-deployment"
# A callback without IK-APPID / IK-SIGN: a deployment that accepts it would accept forgeries.
UNSIGNED_CALLBACK = {"paylinkID": "verify-deployment-unsigned", "status": "SUCCESS",
                     "externalTransactionID": "verify-deployment", "responseCode": "00"}


@dataclass
class Check:
    """One smoke check: what was seen, what was expected, and whether it passed."""

    name: str
    value: str
    target: str
    passed: bool


def _get(session, url, timeout, **kwargs):
    return session.get(url, timeout=timeout, allow_redirects=False, **kwargs)


def _json(response):
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return {}


def _home(session, base, timeout):
    r = _get(session, base + "/", timeout)
    return Check("home page", f"HTTP {r.status_code}", "HTTP 200", r.status_code == 200)


def _health(session, base, timeout):
    r = _get(session, base + "/health", timeout)
    status = _json(r).get("status")
    return Check("health", f"HTTP {r.status_code} {status}", "HTTP 200 ok", r.status_code == 200 and status == "ok")


def _config(session, base, timeout):
    r = _get(session, base + "/health/config", timeout)
    body = _json(r)
    shown = f"HTTP {r.status_code}, {body.get('problem_count', '?')} problems"
    return Check("configuration", shown, "HTTP 200, valid", r.status_code == 200 and body.get("valid") is True)


def _webhook(session, base, timeout):
    r = session.post(base + "/webhooks/ikhokha", data=json.dumps(UNSIGNED_CALLBACK), timeout=timeout,
                     headers={"Content-Type": "application/json"}, allow_redirects=False)
    # 404/405 mean the endpoint is not there at all; any other 4xx is a refusal of the unsigned call.
    refused = 400 <= r.status_code < 500 and r.status_code not in (404, 405)
    return Check("webhook rejects unsigned call", f"HTTP {r.status_code} {_json(r).get('error', '')}".strip(),
                 "4xx refusal", refused)


def _dashboard(session, base, timeout):
    r = _get(session, base + "/admin/card-payment-monitoring", timeout)
    location = r.headers.get("Location", "")
    guarded = r.status_code == 401 or (r.status_code in (302, 303) and "/admin/login" in location)
    return Check("dashboard behind login", f"HTTP {r.status_code}", "redirect to login or 401", guarded)


def _admin_api(session, base, timeout):
    r = _get(session, base + "/admin/api/metrics/summary", timeout)
    return Check("admin API behind login", f"HTTP {r.status_code}", "HTTP 401", r.status_code == 401)


CHECKS = (("home page", _home), ("health", _health), ("configuration", _config),
          ("webhook rejects unsigned call", _webhook), ("dashboard behind login", _dashboard),
          ("admin API behind login", _admin_api))


def run(base_url, timeout=10.0):
    """Run every smoke check against base_url; an unreachable endpoint is a failed check, not a crash."""
    import requests  # here, not at every worker's start: only the smoke-test command uses it

    results = []
    with requests.Session() as session:
        session.headers["User-Agent"] = USER_AGENT
        for name, check in CHECKS:
            try:
                results.append(check(session, base_url.rstrip("/"), timeout))
            except requests.RequestException as exc:
                results.append(Check(name, f"unreachable: {type(exc).__name__}", "reachable", False))
    return results
