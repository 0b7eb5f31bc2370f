"""Webhook signatures: our headers against the official Standard Webhooks
library and an independent HMAC, and our verifier against forgeries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from nexus.webhooks.signing import (
    TOLERANCE_SECONDS,
    SignatureVerificationError,
    new_webhook_secret,
    secret_key_bytes,
    sign,
    verify,
)

EVENT = {
    "id": "evt_1",
    "object": "event",
    "type": "payment_intent.succeeded",
    "data": {"object": {"id": "pi_1", "object": "payment_intent", "status": "succeeded", "amount": 1000}},
    "request": None,
}
# Compact and non-ASCII, as a real body may be: the bytes are what is signed.
BODY = json.dumps({**EVENT, "description": "café ☕"}, separators=(",", ":"), ensure_ascii=False).encode()
EVENT_ID = "evt_1"


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


@pytest.fixture
def now() -> int:
    return int(time.time())


def test_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_webhook_secret(), new_webhook_secret()
    assert first.startswith("whsec_")
    assert len(secret_key_bytes(first)) == 32
    assert base64.b64encode(secret_key_bytes(first)).decode() == first.removeprefix("whsec_")
    assert first != second


@pytest.mark.parametrize("bad", ["", "whsec_", "sk_test_abc", "whsec_not base64!"])
def test_malformed_secret_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        secret_key_bytes(bad)
    if bad.removeprefix("whsec_"):
        assert bad not in str(caught.value)


def test_headers_carry_both_schemes_and_metadata(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    key = secret_key_bytes(secret)
    expected_hex = hmac.new(key, f"{now}.".encode() + BODY, hashlib.sha256).hexdigest()
    expected_b64 = base64.b64encode(
        hmac.new(key, f"{EVENT_ID}.{now}.".encode() + BODY, hashlib.sha256).digest()
    ).decode()
    assert headers["X-Nexus-Signature"] == f"t={now},v1={expected_hex}"
    assert headers["webhook-id"] == EVENT_ID
    assert headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"] == f"v1,{expected_b64}"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "NexusGateway-Webhooks/1.0"


def test_standard_webhooks_library_verifies_our_headers(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_standard_webhooks_library_verifies_each_secret_during_rotation(now: int) -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    headers = sign(BODY, EVENT_ID, now, [old, new])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert headers["X-Nexus-Signature"].count("v1=") == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(BODY, headers)


def test_standard_webhooks_library_rejects_a_tampered_body(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"1000", b"9000"), headers)


def test_verify_accepts_a_good_signature(secret: str, now: int) -> None:
    verify(BODY, sign(BODY, EVENT_ID, now, [secret]), secret, now=now)


def test_verify_accepts_either_secret_during_rotation(now: int) -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    headers = sign(BODY, EVENT_ID, now, [old, new])
    verify(BODY, headers, old, now=now)
    verify(BODY, headers, new, now=now)


def test_verify_looks_headers_up_case_insensitively(secret: str, now: int) -> None:
    headers = {name.upper(): value for name, value in sign(BODY, EVENT_ID, now, [secret]).items()}
    verify(BODY, headers, secret, now=now)


def test_verify_accepts_one_scheme_alone(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    nexus_only = {"X-Nexus-Signature": headers["X-Nexus-Signature"]}
    standard_only = {name: value for name, value in headers.items() if name.startswith("webhook-")}
    verify(BODY, nexus_only, secret, now=now)
    verify(BODY, standard_only, secret, now=now)


def test_verify_rejects_a_tampered_body(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    with pytest.raises(SignatureVerificationError):
        verify(BODY.replace(b"1000", b"9000"), headers, secret, now=now)


def test_signature_is_over_the_exact_bytes(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    same_json_other_spacing = json.dumps(json.loads(BODY), ensure_ascii=False).encode()
    assert json.loads(same_json_other_spacing) == json.loads(BODY)
    with pytest.raises(SignatureVerificationError):
        verify(same_json_other_spacing, headers, secret, now=now)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(same_json_other_spacing, headers)


def test_verify_rejects_a_wrong_secret(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    with pytest.raises(SignatureVerificationError):
        verify(BODY, headers, new_webhook_secret(), now=now)


def test_verify_rejects_when_either_scheme_is_forged(secret: str, now: int) -> None:
    good = sign(BODY, EVENT_ID, now, [secret])
    forged = sign(BODY, EVENT_ID, now, [new_webhook_secret()])
    for name in ("X-Nexus-Signature", "webhook-signature"):
        with pytest.raises(SignatureVerificationError):
            verify(BODY, {**good, name: forged[name]}, secret, now=now)


def test_verify_rejects_another_event_id_or_timestamp(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    with pytest.raises(SignatureVerificationError):
        verify(BODY, {**headers, "webhook-id": "evt_2"}, secret, now=now)
    moved = headers["X-Nexus-Signature"].replace(f"t={now}", f"t={now + 1}")
    with pytest.raises(SignatureVerificationError):
        verify(BODY, {**headers, "X-Nexus-Signature": moved}, secret, now=now)


def test_verify_rejects_a_timestamp_older_than_five_minutes(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now - TOLERANCE_SECONDS - 1, [secret])
    with pytest.raises(SignatureVerificationError, match="old"):
        verify(BODY, headers, secret, now=now)


def test_verify_rejects_a_timestamp_too_far_in_the_future(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now + TOLERANCE_SECONDS + 1, [secret])
    with pytest.raises(SignatureVerificationError, match="future"):
        verify(BODY, headers, secret, now=now)


def test_verify_accepts_timestamps_at_the_edge_of_tolerance(secret: str, now: int) -> None:
    assert TOLERANCE_SECONDS == 300
    for timestamp in (now - TOLERANCE_SECONDS, now + TOLERANCE_SECONDS):
        verify(BODY, sign(BODY, EVENT_ID, timestamp, [secret]), secret, now=now)


def test_verify_honours_a_custom_tolerance(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now - 10, [secret])
    with pytest.raises(SignatureVerificationError):
        verify(BODY, headers, secret, tolerance=5, now=now)


@pytest.mark.parametrize(
    "dropped",
    [
        ("X-Nexus-Signature", "webhook-id", "webhook-timestamp", "webhook-signature"),
        ("webhook-id",),
        ("webhook-timestamp",),
        ("webhook-signature",),
    ],
)
def test_verify_rejects_missing_headers(secret: str, now: int, dropped: tuple[str, ...]) -> None:
    headers = {name: value for name, value in sign(BODY, EVENT_ID, now, [secret]).items() if name not in dropped}
    with pytest.raises(SignatureVerificationError, match="missing"):
        verify(BODY, headers, secret, now=now)


@pytest.mark.parametrize(
    "nexus_header",
    ["", "garbage", "t=123", "v1=abc", "t=12a,v1=abc", "t=1,t=2,v1=abc", "t=²,v1=abc"],
)
def test_verify_rejects_malformed_nexus_headers(secret: str, now: int, nexus_header: str) -> None:
    with pytest.raises(SignatureVerificationError):
        verify(BODY, {"X-Nexus-Signature": nexus_header}, secret, now=now)


def test_verify_rejects_non_ascii_and_unknown_version_signatures(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    with pytest.raises(SignatureVerificationError):
        verify(BODY, {**headers, "webhook-signature": "v1,é v2,abc"}, secret, now=now)


def test_errors_never_contain_the_secret(secret: str, now: int) -> None:
    headers = sign(BODY, EVENT_ID, now, [secret])
    attempts = [
        (BODY + b" ", headers, secret),
        (BODY, headers, new_webhook_secret()),
        (BODY, {}, secret),
        (BODY, sign(BODY, EVENT_ID, now - 3600, [secret]), secret),
    ]
    for body, attempt_headers, attempt_secret in attempts:
        with pytest.raises(SignatureVerificationError) as caught:
            verify(body, attempt_headers, attempt_secret, now=now)
        message = str(caught.value)
        for leaked in (secret, secret.removeprefix("whsec_"), attempt_secret.removeprefix("whsec_")):
            assert leaked not in message


def test_sign_needs_a_secret(now: int) -> None:
    with pytest.raises(ValueError):
        sign(BODY, EVENT_ID, now, [])
