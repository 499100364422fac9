"""The iK Pay API client: create a payment link, look up a payment's status.

Errors tell a caller what to do: GatewayUnavailable (iKhokha down, timed out, 5xx, unreadable
answer: try again later, the payment is not declined) versus GatewayRejected (iKhokha answered
and refused: our request or credentials are wrong). A connection failure is retried only when
nothing can have reached iKhokha (refused, unresolvable, connect timeout), or for getStatus, which
is safe to repeat; a read timeout or a dropped connection after sending a payment request is not
retried, because the paylink may have been created.

requests and tenacity are imported when a client is made, not at every worker's start: a worker that
only takes callbacks never calls iKhokha.
"""

import json
import logging
from urllib.parse import quote, urlsplit

from cardpay.core.errors import GatewayRejected, GatewayUnavailable
from cardpay.ikhokha import signing

log = logging.getLogger(__name__)
CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 10


def never_reached(exc):
    """Tell whether a connection error happened before any byte of the request left us."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def status_of(answer):
    """Read a getStatus record's status: SUCCESS or FAILURE, and PENDING for anything else or none."""
    status = str(answer.get("status") or "").upper()
    return status if status in ("SUCCESS", "FAILURE") else "PENDING"


class IkhokhaClient:
    """A signed client for one iK Pay application; close it (or use ``with``) when done."""

    def __init__(self, base_url, app_id, secret, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), attempts=3):
        import requests

        self.base_url = base_url.rstrip("/")
        self.app_id = app_id or ""
        self.secret = secret or ""
        self.timeout = timeout
        self.attempts = attempts
        self.session = requests.Session()

    @classmethod
    def from_config(cls, config, **options):
        """Build a client from the app's settings (``timeout`` and ``attempts`` may be overridden)."""
        return cls(config["IKHOKHA_API_URL"], config["IKHOKHA_API_KEY"], config["IKHOKHA_API_SECRET"], **options)

    def close(self):
        """Release the connection pool."""
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def create_payment(self, payload):
        """Ask for a paylink; return iKhokha's answer (paylinkUrl, paylinkID, ...) when responseCode is 00."""
        body = json.dumps(payload, separators=(",", ":"))
        answer = self._call("POST", "/payment", body)
        if str(answer.get("responseCode")) != "00" or not answer.get("paylinkUrl") or not answer.get("paylinkID"):
            raise GatewayRejected(f"iKhokha did not create the payment: {answer.get('message') or 'no paylink'}",
                                  details={"responseCode": answer.get("responseCode")})
        if urlsplit(str(answer["paylinkUrl"])).scheme not in ("http", "https"):
            raise GatewayRejected("iKhokha answered with a paylinkUrl that is not a web address")
        return answer

    def get_status(self, paylink_id):
        """Return iKhokha's status record for a paylink ("status": SUCCESS, FAILURE or PENDING)."""
        return self._call("GET", f"/getStatus/{quote(str(paylink_id), safe='')}", "")

    def _call(self, method, endpoint, body):
        url = self.base_url + endpoint
        path = urlsplit(url).path
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "IK-APPID": self.app_id, "IK-SIGN": signing.sign(self.secret, path, body)}
        response = self._send(method, url, headers, body)
        if response.status_code >= 500:
            raise GatewayUnavailable(f"iKhokha answered {response.status_code}; try again shortly")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400:
            reason = answer.get("message") if isinstance(answer, dict) else None
            raise GatewayRejected(f"iKhokha refused the request ({response.status_code}): "
                                  f"{reason or 'no reason given'}", details={"http_status": response.status_code})
        if not isinstance(answer, dict):
            raise GatewayUnavailable("iKhokha's answer was not a JSON object")
        return answer

    def _send(self, method, url, headers, body):
        import requests
        from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

        retryable = (lambda exc: isinstance(exc, requests.ConnectionError)) if method == "GET" else (
            lambda exc: isinstance(exc, requests.ConnectionError) and never_reached(exc))

        @retry(retry=retry_if_exception(retryable), stop=stop_after_attempt(self.attempts),
               wait=wait_exponential(multiplier=0.2, max=2), reraise=True)
        def attempt():
            return self.session.request(method, url, data=body.encode("utf-8") if body else None,
                                        headers=headers, timeout=self.timeout, allow_redirects=False)

        try:
            return attempt()
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.ConnectTimeout) or never_reached(exc):
                log.warning("iKhokha unreachable at %s (%d attempts)", urlsplit(url).netloc, self.attempts)
                raise GatewayUnavailable("iKhokha could not be reached; try again shortly") from None
            raise GatewayUnavailable("the connection to iKhokha broke before it answered; "
                                     "the request may or may not have arrived") from None
        except requests.Timeout:
            raise GatewayUnavailable("iKhokha did not answer in time; try again shortly") from None
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"iKhokha request failed: {type(exc).__name__}") from None
