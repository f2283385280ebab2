"""Webhooks: JSON POSTs signed with HMAC-SHA256, only to public addresses (checked again at every delivery)."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

import httpx

from core.alerts import DeliveryError
from core.metrics import timed

SIGNATURE_HEADER = "X-AQI-Signature"
MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(DeliveryError):
    """The URL is not https, or its host resolves to a private, loopback, link-local or reserved address."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _networks(allow_networks: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n.strip(), strict=False) for n in allow_networks.split(",") if n.strip()]


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address reached


def _is_public(address: Address) -> bool:
    """Public, also for the IPv4 address an IPv6 one carries (mapped, 6to4, NAT64): `64:ff9b::7f00:1` is 127.0.0.1."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None)
        if embedded is not None:
            address = embedded
    return address.is_global and not (address.is_multicast or address.is_reserved)


def resolve_target(url: str, allow_networks: str = "") -> tuple[str, int, list[Address]]:
    """(host, port, addresses) of a webhook URL whose every address is public (or in `allow_networks`).

    RefusedTarget otherwise: not https (http only to allowed networks), credentials in the URL, an unresolvable
    host, or any private, loopback, link-local, reserved or multicast address.
    """
    if len(url) > MAX_URL_LENGTH:
        raise RefusedTarget(f"the webhook URL is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RefusedTarget("the webhook URL must be https://host/…")
    if parts.username or parts.password:
        raise RefusedTarget("the webhook URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError):
        raise RefusedTarget(f"the webhook host {parts.hostname!r} does not resolve") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    allowed = _networks(allow_networks)
    for address in addresses:
        in_allowed = any(address in network for network in allowed)
        if not in_allowed and not _is_public(address):
            raise RefusedTarget(f"the webhook host {parts.hostname!r} resolves to a non-public address")
        if parts.scheme == "http" and not in_allowed:
            raise RefusedTarget("the webhook URL must be https://")
    return parts.hostname, port, addresses


@timed("alerts", "webhook_post")
def post_json(url: str, payload: dict, secret: str | None, timeout_s: float, *, allow_networks: str = "") -> None:
    """POST `payload` as JSON, signed in X-AQI-Signature when `secret` is given; DeliveryError on a refused
    address, a timeout, a connection failure or any status but 2xx (redirects are not followed).

    The host is resolved and checked here, and the request goes to the checked address (TLS still verifies the
    name), so a DNS answer changed after subscribing (rebinding) cannot reach a private address.
    """
    host, port, addresses = resolve_target(url, allow_networks)
    parts = urlsplit(url)
    pinned = addresses[0]
    netloc = f"[{pinned}]" if pinned.version == 6 else str(pinned)
    target = parts._replace(netloc=f"{netloc}:{port}").geturl()
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "Host": parts.netloc, "User-Agent": "aqi-alerts/1"}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, int(time.time()), body)
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
            response = client.post(target, content=body, headers=headers, extensions=extensions)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {host}: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"webhook {host}: HTTP {response.status_code}")
