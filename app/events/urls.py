"""Which webhook URLs we will call: https to public addresses only (no loopback, private,
link-local or reserved ranges), checked when an endpoint is saved and again before every POST
(DNS can change in between). Development and test may allow loopback (plain http too) with
WEBHOOK_ALLOW_LOOPBACK, so a receiver on 127.0.0.1 works."""

import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import Invalid


class UnsafeUrl(Invalid):
    type = "events.unsafe_url"


def _addresses(host: str, port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl("url", f"The host {host!r} does not resolve.") from None
    return {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}


def check_url(url: str, *, allow_loopback: bool) -> None:
    """422 (field `url`) unless we may POST events to `url`."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl("url", "Must be an absolute https URL.")
    if parts.username or parts.password:
        raise UnsafeUrl("url", "Must not carry credentials.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("url", "Invalid port.") from None
    addresses = _addresses(host, port)
    loopback = all(a.is_loopback for a in addresses)
    if allow_loopback and loopback:
        return
    if parts.scheme != "https":
        raise UnsafeUrl("url", "Must be an https URL.")
    private = sorted(str(a) for a in addresses if not a.is_global)
    if private:
        raise UnsafeUrl("url", f"Resolves to addresses that are not public: {', '.join(private)}.")
