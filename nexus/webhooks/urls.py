"""Which URLs a merchant may register as a webhook endpoint, and where they may lead.

Two checks, because they answer different questions:

- `validate_webhook_url` is syntax only (scheme, host, length, no credentials)
  and never touches the network.
- `ensure_public_destination` resolves the host and refuses loopback, private,
  link-local and other non-public addresses (server-side request forgery: a
  webhook must not let a merchant make the gateway POST into its own network).
  Call it when an endpoint is created or its URL changes AND again before every
  delivery: DNS answers can change after creation, so a name that was public
  may point at 127.0.0.1 or 169.254.169.254 tomorrow. Even so, the HTTP client
  resolves the name once more when it connects; only connecting to the
  address checked here would close that last window (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import SplitResult, urlsplit

# The longest URL that browsers, proxies and servers reliably accept (and the
# length Stripe's dashboard allows); also bounds what one endpoint row stores.
MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})
# Resolving a name normally takes milliseconds; a resolver that has not
# answered within 5 s (the glibc default per-try timeout) is treated as
# failing, so a mutation or a dispatcher slot is never held up for long.
DNS_TIMEOUT_SECONDS = 5.0

IPAddress = IPv4Address | IPv6Address


class InvalidWebhookUrl(ValueError):
    """A webhook URL the gateway refuses; `message` is safe to show the merchant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_webhook_url(url: str) -> str:
    """The URL, stripped, if it is an acceptable http(s) webhook URL; else InvalidWebhookUrl."""
    candidate = url.strip()
    if not candidate:
        raise InvalidWebhookUrl("URL is empty")
    if len(candidate) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or not char.isprintable() for char in candidate):
        raise InvalidWebhookUrl("URL contains whitespace or control characters")
    parts = _split(candidate)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise InvalidWebhookUrl("URL must use http or https")
    # Credentials in the URL would be stored and shown in clear, and "user@"
    # is a classic way to disguise the real host ("https://bank.com@evil.example").
    if "@" in parts.netloc:
        raise InvalidWebhookUrl("URL must not contain credentials (user:password@)")
    if not parts.hostname:
        raise InvalidWebhookUrl("URL must have a host")
    return candidate


async def ensure_public_destination(url: str, allow_private: bool) -> None:
    """Raise InvalidWebhookUrl unless every address the URL's host resolves to is public.

    With `allow_private` (development, `NEXUS_WEBHOOK_ALLOW_PRIVATE`) nothing is
    resolved: local targets such as `nexus listen` are the point there.
    """
    if allow_private:
        return
    parts = _split(validate_webhook_url(url))
    host = parts.hostname or ""
    addresses = await _resolve(host, parts.port)
    # ANY, not all: the client may connect to whichever address it likes.
    if any(_is_forbidden(address) for address in addresses):
        # The address stays out of the message: echoing what our resolver sees
        # would leak internal DNS to whoever registers the URL.
        raise InvalidWebhookUrl("URL host resolves to a private, loopback or reserved address")


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        _ = parts.port  # reading the port validates it: ValueError when not 0-65535
    except ValueError:
        raise InvalidWebhookUrl("URL is malformed") from None
    return parts


async def _resolve(host: str, port: int | None) -> list[IPAddress]:
    literal = _parse_address(host)
    if literal is not None:
        return [literal]  # a literal IP needs no DNS, and must not depend on it
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=DNS_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError):
        # socket.gaierror is an OSError
        raise InvalidWebhookUrl("URL host could not be resolved") from None
    if not infos:
        raise InvalidWebhookUrl("URL host could not be resolved")
    # An unparseable answer becomes the unspecified address: refused, fail closed.
    return [_parse_address(str(info[4][0])) or IPv4Address(0) for info in infos]


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_forbidden(address: IPAddress) -> bool:
    if isinstance(address, IPv6Address):
        # ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d: judge that host alone
        # (the ::ffff:0:0/96 block itself is flagged reserved, public or not).
        if address.ipv4_mapped is not None:
            return _is_forbidden(address.ipv4_mapped)
        # 6to4 (2002::/16) tunnels to the embedded IPv4 host, so judge it too.
        if address.sixtofour is not None and _is_forbidden(address.sixtofour):
            return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        # is_global also catches what the flags above miss, such as the
        # carrier-grade NAT block 100.64.0.0/10, shared inside a provider.
        or not address.is_global
    )
