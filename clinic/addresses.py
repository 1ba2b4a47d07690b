"""The client's address, as far as the deployment can vouch for it.

X-Forwarded-For is written by whoever sends the request: it is believed only
when the request came through a proxy the site trusts (DJANGO_TRUSTED_PROXIES,
or the one proxy in front of the app when DJANGO_BEHIND_TLS_PROXY is on), and
then only up to the first hop that is not one of those proxies. Anything that
is not an address (a name, a port, garbage) is ignored, never an error.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> str | None:
    """The address in `text` in its normal written form, or None."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in _networks(tuple(settings.CLE_TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str | None:
    """The address the audit and the sign-in lockout attribute the request to."""
    peer = _address(request.META.get("REMOTE_ADDR", "") or "")
    if peer is None:
        return None
    one_hop = settings.CLE_BEHIND_PROXY and not settings.CLE_TRUSTED_PROXIES
    if not (one_hop or _trusted(peer)):
        return peer
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    # Walk from the nearest hop: each trusted proxy vouches for the one before it.
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer  # a hop we cannot read: the last address we can vouch for
        if one_hop or not _trusted(address):
            return address
    return peer


def axes_client_ip(request: HttpRequest) -> str | None:
    """django-axes' AXES_CLIENT_IP_CALLABLE: the same address as the audit."""
    return client_ip(request)
