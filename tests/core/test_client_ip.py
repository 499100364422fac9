"""Which address a callback is judged by: only what our own proxies wrote is believed."""

import pytest

from cardpay.core import client_ip
from config import parse_ip_list

ALLOWED = parse_ip_list("203.0.113.0/24, 2001:db8::/32")


@pytest.mark.parametrize("peer, forwarded, proxies, expected", [
    ("10.0.0.1", ["203.0.113.9"], 0, "10.0.0.1"),  # no proxy: the header is the caller's word
    ("10.0.0.1", ["1.1.1.1, 203.0.113.9"], 1, "203.0.113.9"),
    ("10.0.0.1", ["1.1.1.1", "203.0.113.9"], 1, "203.0.113.9"),  # two header lines are one list
    ("10.0.0.2", ["203.0.113.9, 198.51.100.7, 10.0.0.1"], 2, "198.51.100.7"),
    ("10.0.0.1", [], 1, "10.0.0.1"),  # fewer hops than proxies: fall back to the peer
    ("10.0.0.1", ["203.0.113.9"], 2, "10.0.0.1"),
])
def test_client_is_the_entry_our_outermost_proxy_appended(peer, forwarded, proxies, expected):
    assert client_ip.resolve(peer, forwarded, proxies) == expected


@pytest.mark.parametrize("address, allowed", [
    ("203.0.113.77", True), ("::ffff:203.0.113.77", True), ("2001:db8::5", True),
    ("198.51.100.7", False), ("not-an-ip", False), ("", False), (None, False),
])
def test_allowlist_accepts_only_addresses_in_its_ranges(address, allowed):
    assert client_ip.is_allowed(address, ALLOWED) is allowed
