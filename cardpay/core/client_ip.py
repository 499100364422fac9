"""Which address a callback came from, honouring TRUSTED_PROXY_COUNT, and whether it is allowed.

With no trusted proxy (0) the socket peer is the client and X-Forwarded-For is ignored entirely:
anyone can write that header. With N trusted proxies, each appended the address it received the
request from, so the client is the N-th entry from the right; entries further left were written
by the client itself and are never believed.
"""

import ipaddress


def resolve(remote_addr, forwarded_for, trusted_proxy_count):
    """Return the client address given the socket peer and the X-Forwarded-For header values."""
    if trusted_proxy_count <= 0:
        return remote_addr
    entries = [part.strip() for value in forwarded_for for part in value.split(",") if part.strip()]
    if len(entries) < trusted_proxy_count:
        # Fewer hops than proxies: the header is not what our proxies write, so trust the peer.
        return remote_addr
    return entries[-trusted_proxy_count]


def of_request():
    """Return the current request's client address, seen through TRUSTED_PROXY_COUNT proxies."""
    from flask import current_app, request

    return resolve(request.remote_addr, request.headers.getlist("X-Forwarded-For"),
                   current_app.config["TRUSTED_PROXY_COUNT"])


def is_allowed(address, networks):
    """Tell whether an address lies in one of the allowed networks (an unparseable one never does)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    candidates = [ip]
    if ip.version == 6 and ip.ipv4_mapped:
        candidates.append(ip.ipv4_mapped)
    return any(candidate in network for candidate in candidates for network in networks or ())
