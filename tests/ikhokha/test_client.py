"""The iK Pay client: errors a caller can act on; retries only when repeating cannot double a request."""

import threading
import time

import pytest

from cardpay.core.errors import GatewayRejected, GatewayUnavailable
from cardpay.ikhokha import signing
from cardpay.ikhokha.client import IkhokhaClient
from cardpay.ikhokha.sandbox import create_sandbox_app
from tests.conftest import TEST_API_SECRET, TEST_APP_ID, LiveServer, free_port

PAYLOAD = {"amount": 100, "currency": "ZAR", "externalTransactionID": "cp_client", "mode": "live",
           "urls": {"callbackUrl": "http://127.0.0.1:9/cb", "successPageUrl": "http://127.0.0.1:9/ok"}}


def _client(base_url, secret=TEST_API_SECRET, app_id=TEST_APP_ID, **options):
    options.setdefault("timeout", (0.5, 1))
    return IkhokhaClient(base_url, app_id, secret, **options)


def test_gateway_down_is_unavailable_not_declined():
    started = time.monotonic()
    with _client(f"http://127.0.0.1:{free_port()}/api") as client, pytest.raises(GatewayUnavailable,
                                                                                  match="could not be reached"):
        client.create_payment(PAYLOAD)
    assert time.monotonic() - started < 3


def test_bad_credentials_are_rejected(sandbox):
    server = sandbox()
    with _client(server.api, secret="not-our-secret") as client, pytest.raises(GatewayRejected, match="401"):
        client.create_payment(PAYLOAD)
    with _client(server.api, app_id="not-our-app") as client, pytest.raises(GatewayRejected, match="IK-APPID"):
        client.create_payment(PAYLOAD)


def test_connection_refused_is_retried_until_the_gateway_is_up():
    port = free_port()
    servers = []

    def come_up_late():
        time.sleep(0.3)
        servers.append(LiveServer(create_sandbox_app(TEST_APP_ID, TEST_API_SECRET), port=port).start())

    thread = threading.Thread(target=come_up_late)
    started = time.monotonic()
    thread.start()
    try:
        with _client(f"http://127.0.0.1:{port}/sandbox/ikhokha/api", attempts=6) as client:
            answer = client.create_payment(PAYLOAD)
        assert answer["responseCode"] == "00"
        assert time.monotonic() - started >= 0.3  # the first attempt was refused; a retry got through
    finally:
        thread.join()
        for server in servers:
            server.stop()


def test_read_timeout_is_not_retried(receiver):
    slow = receiver(mode="hang", delay=1.5)
    with _client(slow.url, timeout=(0.5, 0.3), attempts=3) as client, pytest.raises(GatewayUnavailable,
                                                                                    match="in time"):
        client.create_payment(PAYLOAD)
    assert len(slow.requests) == 1


def test_dropped_connection_after_sending_is_not_retried_for_a_payment_but_is_for_get_status(receiver):
    dropping = receiver(mode="drop")
    with _client(dropping.url, attempts=3) as client:
        with pytest.raises(GatewayUnavailable, match="may or may not have arrived"):
            client.create_payment(PAYLOAD)
        assert len(dropping.requests) == 1
        with pytest.raises(GatewayUnavailable):
            client.get_status("PL1")
    assert len(dropping.wait_for(4)) == 4  # 1 payment + 3 getStatus attempts


@pytest.mark.parametrize("status, error", [(500, GatewayUnavailable), (503, GatewayUnavailable),
                                           (404, GatewayRejected), (400, GatewayRejected)])
def test_http_errors_map_to_what_the_caller_should_do(receiver, status, error):
    gateway = receiver(statuses=(status,))
    with _client(gateway.url, attempts=1) as client, pytest.raises(error):
        client.get_status("PL1")


def test_answer_without_paylink_is_rejected(receiver):
    gateway = receiver(statuses=(200,))  # answers {"ok": true}: no responseCode, no paylink
    with _client(gateway.url, attempts=1) as client, pytest.raises(GatewayRejected, match="did not create"):
        client.create_payment(PAYLOAD)


def test_requests_are_signed_over_the_url_path_only(receiver):
    gateway = receiver(statuses=(200,))
    with _client(gateway.url + "/public-api/v1/api", attempts=1) as client:
        client.get_status("PL 1/2")
    sent = gateway.requests[0]
    assert sent["path"] == "/public-api/v1/api/getStatus/PL%201%2F2"
    assert sent["headers"]["IK-APPID"] == TEST_APP_ID
    assert sent["headers"]["IK-SIGN"] == signing.sign(TEST_API_SECRET, sent["path"], "")
