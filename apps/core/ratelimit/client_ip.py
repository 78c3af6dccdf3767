"""The client's address, as rate limits and the login lockout count it.

``REMOTE_ADDR`` (the TCP peer) is the client unless that peer is one of
``LEXECON_TRUSTED_PROXIES`` (addresses or networks). Only then is ``X-Forwarded-For`` read, from
the right: each trusted proxy appends the address it received the request from, so the first
address from the right that is not a trusted proxy is the client. Whatever a client writes into
the header itself stands to the left of that and is never used; a header sent straight to us by a
client that is not a trusted proxy is ignored altogether. A malformed entry ends the walk at the
last trusted hop (the proxy then stands for its client).

IPv6 clients are counted per /64 (:func:`client_bucket`): one host commonly holds a whole /64, so
counting single addresses would give it billions of allowances.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _address(text: str) -> Address | None:
    """An address from a header entry; ``1.2.3.4:80`` and ``[::1]:80`` lose their port."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(request) -> str | None:
    """The client's address (see the module docstring); None when ``REMOTE_ADDR`` is not an
    address at all (missing, or a Unix socket's peer)."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    networks = _networks(tuple(settings.LEXECON_TRUSTED_PROXIES))
    if not networks or not _trusted(peer, networks):
        return str(peer)
    hop = peer
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(entry)
        if address is None:
            break
        hop = address
        if not _trusted(address, networks):
            break
    return str(hop)


def client_bucket(request) -> str | None:
    """What a per-address budget counts: the client's address, for IPv6 its /64 network address
    (still a valid address, so django-axes can store it as one); None without an address."""
    address = client_address(request)
    if address is None:
        return None
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False).network_address)
    return address
