"""Webhook URL syntax checks and the refusal of non-public destinations (SSRF)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from nexus.webhooks.urls import (
    MAX_URL_LENGTH,
    InvalidWebhookUrl,
    ensure_public_destination,
    validate_webhook_url,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/webhooks",
        "http://example.com",
        "HTTPS://Example.com:8443/hooks?x=1",
        "http://93.184.216.34/hook",
        "http://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert validate_webhook_url(url) == url


def test_url_is_stripped() -> None:
    assert validate_webhook_url("  https://example.com/hook\n") == "https://example.com/hook"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "example.com/hook",
        "http://",
        "https:///path-only",
        "https://user:password@example.com/hook",
        "https://bank.example@evil.example/hook",
        "https://example.com:99999/hook",
        "http://[::1/hook",
        "https://exa mple.com/hook",
        "https://example.com/\x00hook",
        "https://example.com/" + "a" * MAX_URL_LENGTH,
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        validate_webhook_url(url)


def test_invalid_url_is_a_value_error_with_a_message() -> None:
    with pytest.raises(ValueError) as caught:
        validate_webhook_url("ftp://example.com")
    assert isinstance(caught.value, InvalidWebhookUrl)
    assert caught.value.message == str(caught.value)


NON_PUBLIC = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://[::1]/hook",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://100.64.0.1/hook",
    "http://[2002:7f00:1::1]/hook",
    "http://localhost:4242/hook",
    "http://2130706433/hook",
]


@pytest.mark.parametrize("url", NON_PUBLIC)
async def test_non_public_destinations_are_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match="private"):
        await ensure_public_destination(url, allow_private=False)


@pytest.mark.parametrize("url", NON_PUBLIC)
async def test_non_public_destinations_are_allowed_when_private_is_allowed(url: str) -> None:
    await ensure_public_destination(url, allow_private=True)


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("DNS was consulted for a literal IP")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_dns")
@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",
        "https://[2606:2800:220:1:248:1893:25c8:1946]:8443/",
        "http://[::ffff:93.184.216.34]/",
    ],
)
async def test_public_literal_ips_are_accepted_without_dns(url: str) -> None:
    await ensure_public_destination(url, allow_private=False)


def _resolving_to(monkeypatch: pytest.MonkeyPatch, addresses: list[str]) -> None:
    """Make DNS answer with `addresses`, as a merchant's zone could at any time."""

    def answer(host: str, port: Any, *_args: Any, **_kwargs: Any) -> list[Any]:
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 443)) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", answer)


async def test_a_name_resolving_to_public_addresses_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
    await ensure_public_destination("https://hooks.example.com/", allow_private=False)


async def test_any_private_answer_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, ["93.184.216.34", "10.1.2.3"])
    with pytest.raises(InvalidWebhookUrl):
        await ensure_public_destination("https://hooks.example.com/", allow_private=False)


async def test_the_refusal_does_not_reveal_the_resolved_address(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, ["10.1.2.3"])
    with pytest.raises(InvalidWebhookUrl) as caught:
        await ensure_public_destination("https://internal.example.com/", allow_private=False)
    assert "10.1.2.3" not in caught.value.message


async def test_an_unresolvable_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, [])
    with pytest.raises(InvalidWebhookUrl, match="resolved"):
        await ensure_public_destination("https://nowhere.invalid/", allow_private=False)


async def test_a_malformed_url_is_refused_before_resolving() -> None:
    with pytest.raises(InvalidWebhookUrl):
        await ensure_public_destination("ftp://93.184.216.34/", allow_private=False)
