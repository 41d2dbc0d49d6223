"""The client's address, the one way every part of the venue reads it.

Behind nginx or a load balancer the TCP peer (``REMOTE_ADDR`` / ``scope["client"]``) is the
proxy, so per-IP rate limits, API-key IP allow-lists, login lockouts and the audit log would all
see one address for everyone. ``X-Forwarded-For`` carries the real one, but anybody can send
that header, so it is read only when the peer is one of ``settings.TRUSTED_PROXIES``
(addresses or CIDR networks; empty means trust nobody). The header is then walked from the
right, skipping hops that are themselves trusted proxies: the first untrusted hop is the client.
Hops further left were written by the client and are ignored.

Daphne runs without ``--proxy-headers`` on purpose: that option believes the header from any
peer, which would let anyone pick their own address.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``TRUSTED_PROXIES`` entries as networks; a bad entry is a configuration error, not a
    silently ignored line (a typo would otherwise put every client behind one address)."""
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {entry!r} is not an IP address or network") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(entries)


def _parse_ip(value: str | None) -> IPAddress | None:
    """An address from a header hop or a peer: tolerates a port and IPv6 brackets, and turns
    IPv4-mapped IPv6 (``::ffff:1.2.3.4``) into plain IPv4 so one client has one spelling."""
    if not value:
        return None
    value = value.strip().strip('"')
    if value.startswith("["):  # [2001:db8::1]:443
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # 203.0.113.5:51234
        value = value.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def resolve(peer: str | None, forwarded_for: Iterable[str]) -> str | None:
    """The client's address given the TCP peer and the ``X-Forwarded-For`` header values (in
    the order received). None when the peer is unknown (e.g. a Unix socket without a proxy)."""
    trusted = tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ())
    return _resolve(peer, tuple(forwarded_for), trusted)


# A request reads its address several times (the address's rate limit, the key's allow-list, its
# first use from an address), and behind the gateway every request of a client brings the same
# peer and header: parsing them with ``ipaddress`` each time was 2% of a web process's CPU under
# order load. Bounded: headers made up to churn it only cost their own parse.
@lru_cache(maxsize=4096)
def _resolve(peer: str | None, forwarded_for: tuple[str, ...], trusted: tuple[str, ...]) -> str | None:
    networks = _trusted(trusted)

    def is_trusted(ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in networks)

    peer_ip = _parse_ip(peer)
    if peer_ip is None:
        return None
    if not is_trusted(peer_ip):
        return str(peer_ip)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    closest = peer_ip  # the nearest address we have reason to believe
    for hop in reversed(hops):
        ip = _parse_ip(hop)
        if ip is None:
            # Garbage in the chain: nothing to its left can be believed, and the garbage itself
            # is not an address; the trusted proxy that passed it on is the best we know.
            return str(closest)
        if not is_trusted(ip):
            return str(ip)
        closest = ip
    return str(closest)  # every hop is one of ours: the request came from inside


def client_ip(request) -> str | None:
    """The client's address for a Django request (HTTP, under Daphne or the test client)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    return resolve(request.META.get("REMOTE_ADDR"), [forwarded] if forwarded else [])


def client_ip_from_scope(scope: dict) -> str | None:
    """The client's address for an ASGI scope (WebSocket consumers): the same rule as
    ``client_ip``, reading the peer from ``scope["client"]`` and the raw headers."""
    client = scope.get("client") or (None, None)
    forwarded = [value.decode("latin-1") for name, value in scope.get("headers") or ()
                 if name.lower() == b"x-forwarded-for"]
    return resolve(client[0], forwarded)
