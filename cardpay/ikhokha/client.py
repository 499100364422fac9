"""The iK Pay API client: create a payment link, look up a payment's status.

Errors tell a caller what to do: GatewayUnavailable (iKhokha down, timed out, 5xx, unreadable
answer: try again later, the payment is not declined) versus GatewayRejected (iKhokha answered
and refused: our request or credentials are wrong). Only connection failures are retried, since
nothing reached iKhokha then; a read timeout is not retried because the request may have landed.
"""

import json
import logging
from urllib.parse import urlsplit

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from cardpay.errors import GatewayRejected, GatewayUnavailable
from cardpay.ikhokha import signing

log = logging.getLogger(__name__)
CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 10


class IkhokhaClient:
    """A signed client for one iK Pay application."""

    def __init__(self, base_url, app_id, secret, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), attempts=3,
                 session=None):
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id or ""
        self.secret = secret or ""
        self.timeout = timeout
        self.attempts = attempts
        self.session = session or requests.Session()

    @classmethod
    def from_config(cls, config):
        """Build a client from the app's settings."""
        return cls(config["IKHOKHA_API_URL"], config["IKHOKHA_API_KEY"], config["IKHOKHA_API_SECRET"])

    def create_payment(self, payload):
        """Ask for a paylink; return iKhokha's answer (paylinkUrl, paylinkID, ...) when responseCode is 00."""
        body = json.dumps(payload, separators=(",", ":"))
        answer = self._call("POST", "/payment", body)
        if str(answer.get("responseCode")) != "00" or not answer.get("paylinkUrl") or not answer.get("paylinkID"):
            raise GatewayRejected(f"iKhokha did not create the payment: {answer.get('message') or 'no paylink'}",
                                  details={"responseCode": answer.get("responseCode")})
        return answer

    def get_status(self, paylink_id):
        """Return iKhokha's status record for a paylink ("status": SUCCESS, FAILURE or PENDING)."""
        return self._call("GET", f"/getStatus/{paylink_id}", "")

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
            raise GatewayUnavailable("iKhokha's answer could not be read") from None
        if response.status_code >= 400:
            raise GatewayRejected(f"iKhokha refused the request ({response.status_code}): "
                                  f"{answer.get('message', 'no reason given') if isinstance(answer, dict) else ''}")
        if not isinstance(answer, dict):
            raise GatewayUnavailable("iKhokha's answer was not a JSON object")
        return answer

    def _send(self, method, url, headers, body):
        @retry(retry=retry_if_exception_type(requests.ConnectionError), stop=stop_after_attempt(self.attempts),
               wait=wait_exponential(multiplier=0.2, max=2), reraise=True)
        def attempt():
            return self.session.request(method, url, data=body.encode("utf-8") if body else None,
                                        headers=headers, timeout=self.timeout, allow_redirects=False)

        try:
            return attempt()
        except requests.ConnectionError:
            log.warning("iKhokha unreachable at %s after %d attempts", urlsplit(url).netloc, self.attempts)
            raise GatewayUnavailable("iKhokha could not be reached; try again shortly") from None
        except requests.Timeout:
            raise GatewayUnavailable("iKhokha did not answer in time; try again shortly") from None
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"iKhokha request failed: {type(exc).__name__}") from None
