"""The client's address and scheme behind trusted reverse proxies (``X-Forwarded-*``).

Anyone can send ``X-Forwarded-For``; only a proxy we run may be believed. The headers are
therefore read only when the direct peer of the connection is one of the configured trusted
proxies (``c.ServeApp.trusted_proxies``, none by default): ``X-Forwarded-For`` is walked from
the right (the entry our proxy appended) past every trusted hop, and the first address that
is not a trusted proxy is the client. Entries to its left were written by the client itself
and are ignored. Without trust, the peer's own address is the client's, whatever the headers
say, so rotating them changes nothing (the login limiter counts per real address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from tornado import httputil

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.5", "192.168.0.0/16", "::1"]`` as networks; ``ValueError`` names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network (CIDR)") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """Decides each request's client address and scheme from the configured proxies."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self.networks = parse_networks(networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client_address(self, peer: str, headers: httputil.HTTPHeaders) -> str:
        """The address the request came from, believing only trusted proxies' headers."""
        current = _address(peer)
        if current is None or not self.trusts(current):
            return peer
        hops = [hop for value in headers.get_list("X-Forwarded-For") for hop in value.split(",")]
        if not hops:
            real_ip = _address(headers.get("X-Real-IP", ""))
            return str(real_ip) if real_ip is not None else str(current)
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # garbage where a proxy's entry should be: keep the last sure address
            current = address
            if not self.trusts(address):
                break
        return str(current)

    def apply(self, request: httputil.HTTPServerRequest) -> None:
        """Set ``remote_ip`` and ``protocol`` of a request that came through a trusted proxy."""
        peer = request.remote_ip or ""
        if not self.networks or not self.trusts(_address(peer)):
            return
        request.remote_ip = self.client_address(peer, request.headers)
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            request.protocol = proto
