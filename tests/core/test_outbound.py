"""Alert URLs cannot be pointed at cardpay's own network: loopback, private, link-local and encoded
addresses are refused when ALERT_ALLOW_PRIVATE_NETWORKS is off, and redirects are never followed."""

import pytest

from cardpay.alerting import alerts, channels, outbox
from cardpay.core import outbound
from cardpay.core.extensions import db
from cardpay.models import AlertDelivery
from tests.receiver_helpers import HttpReceiver


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook",
    "http://10.0.0.8/hook",
    "http://10.255.1.2:8080/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://2130706433/hook",          # 127.0.0.1 written as one decimal number
    "http://0x7f000001/hook",          # ... as hex
    "http://0177.0.0.1/hook",          # ... as octal
    "http://[::ffff:169.254.169.254]/",  # IPv4-mapped IPv6
    "http://localhost:9/hook",
    "http://192.168.1.1/",
    "http://0.0.0.0/",
])
def test_private_and_encoded_addresses_are_refused(url):
    with pytest.raises(outbound.UnsafeURL, match="refused"):
        outbound.check(url, allow_private=False)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1/", "http:///x"])
def test_only_http_and_https_urls_with_a_host_are_allowed(url):
    with pytest.raises(outbound.UnsafeURL):
        outbound.check(url, allow_private=True)


def test_a_public_address_passes_and_is_the_address_connected_to():
    target = outbound.check("https://8.8.8.8:8443/path?q=1")
    assert (target.address, target.port, target.path, target.host_header) == ("8.8.8.8", 8443, "/path?q=1",
                                                                               "8.8.8.8:8443")


def test_delivery_to_a_loopback_receiver_is_refused_in_production_mode(app_factory, webhook_receiver):
    app = app_factory(ALERT_WEBHOOK_URL=webhook_receiver.url, ALERT_ALLOW_PRIVATE_NETWORKS=False)
    with app.app_context():
        alerts.raise_alert("approval_failed", "critical", "approval failed", fingerprint="ssrf-test")
        db.session.commit()
        assert outbox.deliver_due()["failed"] == 1
        row = db.session.query(AlertDelivery).one()
        assert row.status == "pending" and "loopback" in row.last_error
    assert webhook_receiver.requests == []


def test_a_redirect_is_not_followed(app_factory):
    inner = HttpReceiver().start()
    outer = HttpReceiver(status=302, headers={"Location": inner.url}).start()
    try:
        app = app_factory(ALERT_WEBHOOK_URL=outer.url)
        with app.app_context():
            with pytest.raises(channels.ChannelError, match="redirect not followed"):
                channels.send(app.config, "webhook", {"type": "test", "severity": "info", "fingerprint": "f",
                                                      "message": "m", "status": "test", "timestamp": "t"})
        assert len(outer.requests) == 1
        assert inner.requests == []
    finally:
        inner.stop()
        outer.stop()


def test_redirect_to_a_private_address_is_not_followed_by_the_outbox(app_factory):
    outer = HttpReceiver(status=307, headers={"Location": "http://10.0.0.1/steal"}).start()
    try:
        app = app_factory(ALERT_WEBHOOK_URL=outer.url)
        with app.app_context():
            alerts.raise_alert("approval_failed", "critical", "approval failed", fingerprint="redirect-test")
            db.session.commit()
            outbox.deliver_due()
            row = db.session.query(AlertDelivery).one()
            assert row.status == "pending" and row.last_error == "HTTP 307: redirect not followed"
    finally:
        outer.stop()


def test_the_host_header_keeps_the_name_while_the_checked_address_is_used():
    receiver = HttpReceiver().start()
    try:
        outbound.post(f"http://localhost:{receiver.port}/hook", b"{}", {"Content-Type": "application/json"},
                  allow_private=True)
        assert receiver.requests[0]["headers"]["Host"] == f"localhost:{receiver.port}"
    finally:
        receiver.stop()


@pytest.mark.parametrize("address", [
    "2002:7f00:0001::",                        # 6to4 wrapping 127.0.0.1
    "2002:a9fe:a9fe::",                        # 6to4 wrapping 169.254.169.254
    "2002:0a00:0001::1",                       # 6to4 wrapping 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",    # Teredo whose client is 127.0.0.1
    "2001:0:a9fe:a9fe::f5ff:fffe",             # Teredo whose server is 169.254.169.254
])
def test_6to4_and_teredo_addresses_are_judged_by_the_ipv4_they_wrap(address):
    assert "wraps" in outbound.refused_reason(address)


def test_6to4_wrapping_a_public_address_is_allowed():
    assert outbound.refused_reason("2002:0808:0808::1") is None
