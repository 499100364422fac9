"""The SSRF guard for alert, notification and log-shipping URLs, and the one way cardpay POSTs to them.

Only http and https. The host is resolved once and every address it resolves to is checked: loopback,
private, link-local, reserved, multicast, unspecified and other non-global addresses are refused unless
ALERT_ALLOW_PRIVATE_NETWORKS (resolution also catches encodings like http://2130706433/ or
http://0x7f.1/, IPv4-mapped IPv6 is judged by its IPv4 address, and 6to4 and Teredo addresses by
the IPv4 addresses they wrap). The request then connects to the
address that was checked, keeping the Host header and the TLS server name, so a DNS answer that changes
between check and connect cannot redirect it. Redirects are never followed.

urllib3 is imported by the first POST, not at every worker's start: a worker that only takes callbacks
may never send one.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    """A URL the guard refuses to send to."""


class SendFailed(Exception):
    """A POST that did not end in a 2xx answer."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to say in Host and the request line."""

    scheme: str
    host: str
    port: int
    addresses: tuple
    path: str

    @property
    def address(self):
        """Return the first checked address (the one tried first)."""
        return self.addresses[0]

    @property
    def host_header(self):
        """Return the Host header value, with the port when it is not the scheme's default."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _judge(ip):
    """Return why one address is not public, or None."""
    for label in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
        if getattr(ip, "is_" + label):
            return f"{ip} is a {label.replace('_', '-')} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def refused_reason(address):
    """Return why an IP address may not be contacted, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        # 6to4 (2002::/16) and Teredo (2001::/32) carry an IPv4 address that a relay may deliver to;
        # Python 3.11's is_private does not look inside, so judge every wrapped address too.
        wrapped = [ip.sixtofour] if ip.sixtofour is not None else list(ip.teredo or ())
        for inner in wrapped:
            reason = _judge(inner)
            if reason:
                return f"{ip} wraps {reason}"
    return _judge(ip)


def check(url, allow_private=False):
    """Resolve and check a URL; return the Target to connect to or raise UnsafeURL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"malformed URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("only http and https URLs are allowed")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"cannot resolve {parts.hostname} ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        # Every answer must be public: a name that resolves to one public and one private address could
        # otherwise be steered to the private one.
        for address in addresses:
            reason = refused_reason(address)
            if reason:
                raise UnsafeURL(f"refused: {parts.hostname} resolves to {reason}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, tuple(a.split("%", 1)[0] for a in addresses), path)


def post(url, body, headers, *, allow_private=False, timeout=10.0):
    """POST bytes to a guarded URL without following redirects; return the status or raise SendFailed."""
    import urllib3

    target = check(url, allow_private)
    error = None
    for address in target.addresses:  # only addresses that passed the check, in resolver order
        try:
            response = _post_to(target, address, body, headers, timeout)
            break
        except urllib3.exceptions.NewConnectionError as exc:
            error = exc  # e.g. an IPv6 answer on a host without IPv6: try the next checked address
        except urllib3.exceptions.HTTPError as exc:
            raise SendFailed(f"could not reach {target.host_header}: {type(exc).__name__}") from None
    else:
        raise SendFailed(f"could not reach {target.host_header}: {type(error).__name__}")
    if 300 <= response.status < 400:
        raise SendFailed(f"HTTP {response.status}: redirect not followed")
    if response.status >= 300:
        raise SendFailed(f"HTTP {response.status}")
    return response.status


def _post_to(target, address, body, headers, timeout):
    import certifi
    import urllib3

    options = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, target.port, server_hostname=target.host,
                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
                                           ca_certs=certifi.where(), **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, **options)
    try:
        return pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": target.host_header},
                            redirect=False, retries=False, assert_same_host=False)
    finally:
        pool.close()
