"""`nexus listen` over real HTTP: uvicorn servers on loopback ports, httpx clients."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from nexus.webhooks.listener import create_listener_app
from nexus.webhooks.signing import new_webhook_secret, sign, verify

# Generous for a loopback server starting in a thread, yet a hung start fails fast.
STARTUP_TIMEOUT_SECONDS = 10.0

EVENT = {
    "id": "evt_listen1",
    "object": "event",
    "type": "payment_intent.succeeded",
    "created": 1_700_000_000,
    "data": {"object": {"id": "pi_listen1", "object": "payment_intent", "status": "succeeded"}},
    "request": None,
}
BODY = json.dumps(EVENT, separators=(",", ":")).encode()


@dataclass
class Running:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


def _start(app: ASGIApp) -> Running:
    # Bind port 0 ourselves and hand the socket to uvicorn: no race for a free port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    return Running(url=f"http://127.0.0.1:{port}", server=server, thread=thread)


def _stop(running: Running) -> None:
    running.server.should_exit = True
    running.thread.join(timeout=STARTUP_TIMEOUT_SECONDS)


@pytest.fixture
def serve() -> Iterator[list[Running]]:
    """Servers started by a test (append to the list), stopped after it."""
    started: list[Running] = []
    yield started
    for running in started:
        _stop(running)


@dataclass
class Merchant:
    """The merchant's app behind `--forward-to`: records what reaches it."""

    secret: str
    status_code: int = 202
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        self.received.append((body, dict(request.headers)))
        verify(body, request.headers, self.secret)  # a 500 if the signature did not survive
        return PlainTextResponse("merchant ok", status_code=self.status_code)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks", self.receive, methods=["POST"])])


def _signed(secret: str, body: bytes = BODY) -> dict[str, str]:
    return sign(body, str(EVENT["id"]), int(time.time()), [secret])


def test_a_signed_event_is_accepted_and_printed(serve: list[Running]) -> None:
    secret = new_webhook_secret()
    out = io.StringIO()
    serve.append(_start(create_listener_app(secret, None, out=out)))
    response = httpx.post(serve[0].url + "/", content=BODY, headers=_signed(secret))
    assert response.status_code == 200
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("payment_intent.succeeded evt_listen1 pi_listen1 status=succeeded [signature ok]")
    assert secret.removeprefix("whsec_") not in out.getvalue()


def test_any_path_is_accepted(serve: list[Running]) -> None:
    secret = new_webhook_secret()
    serve.append(_start(create_listener_app(secret, None, out=io.StringIO())))
    response = httpx.post(serve[0].url + "/webhooks/nexus", content=BODY, headers=_signed(secret))
    assert response.status_code == 200


def test_tampered_or_unsigned_events_get_400_with_a_reason(serve: list[Running]) -> None:
    secret = new_webhook_secret()
    out = io.StringIO()
    serve.append(_start(create_listener_app(secret, None, out=out)))
    url = serve[0].url + "/"
    tampered = httpx.post(url, content=BODY.replace(b"succeeded", b"canceled"), headers=_signed(secret))
    wrong_secret = httpx.post(url, content=BODY, headers=_signed(new_webhook_secret()))
    unsigned = httpx.post(url, content=BODY, headers={"Content-Type": "application/json"})
    for response in (tampered, wrong_secret, unsigned):
        assert response.status_code == 400
        assert response.text.startswith("bad signature: ")
        assert response.text.count("\n") == 1
    assert "missing" in unsigned.text
    assert out.getvalue().count("rejected: bad signature") == 3
    assert "signature ok" not in out.getvalue()
    assert secret.removeprefix("whsec_") not in out.getvalue() + tampered.text + wrong_secret.text


def test_without_a_secret_it_warns_once_and_prints_events(serve: list[Running]) -> None:
    out = io.StringIO()
    serve.append(_start(create_listener_app(None, None, out=out)))
    for _ in range(2):
        assert httpx.post(serve[0].url + "/", content=BODY).status_code == 200
    assert httpx.post(serve[0].url + "/", content=b"not json").status_code == 400
    lines = out.getvalue().splitlines()
    assert sum("NOT verified" in line for line in lines) == 1
    events = [line for line in lines if "evt_listen1" in line]
    assert len(events) == 2
    assert all("signature ok" not in line for line in events)


def test_escape_sequences_in_a_body_do_not_reach_the_terminal(serve: list[Running]) -> None:
    out = io.StringIO()
    serve.append(_start(create_listener_app(None, None, out=out)))
    body = json.dumps({**EVENT, "type": "evil\x1b[2J\ntype"}).encode()
    assert httpx.post(serve[0].url + "/", content=body).status_code == 200
    assert "\x1b" not in out.getvalue()
    assert len(out.getvalue().splitlines()) == 2  # the warning and the event


def test_forward_to_passes_exact_body_and_headers_and_relays_status(serve: list[Running]) -> None:
    secret = new_webhook_secret()
    merchant = Merchant(secret=secret, status_code=202)
    serve.append(_start(merchant.app()))
    out = io.StringIO()
    serve.append(_start(create_listener_app(secret, serve[0].url + "/hooks", out=out)))
    headers = _signed(secret)
    response = httpx.post(serve[1].url + "/", content=BODY, headers=headers)
    assert response.status_code == 202
    assert response.text == "merchant ok"
    [(body, received_headers)] = merchant.received
    assert body == BODY
    for name in ("x-nexus-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "user-agent"):
        assert received_headers[name] == headers[next(h for h in headers if h.lower() == name)]
    assert out.getvalue().strip().endswith("[signature ok] forwarded=202")


def test_forward_to_relays_an_error_status(serve: list[Running]) -> None:
    secret = new_webhook_secret()
    merchant = Merchant(secret=secret, status_code=503)
    serve.append(_start(merchant.app()))
    serve.append(_start(create_listener_app(secret, serve[0].url + "/hooks", out=io.StringIO())))
    response = httpx.post(serve[1].url + "/", content=BODY, headers=_signed(secret))
    assert response.status_code == 503


def test_forward_to_an_unreachable_app_is_a_502(serve: list[Running]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    secret = new_webhook_secret()
    serve.append(_start(create_listener_app(secret, f"http://127.0.0.1:{closed_port}/", out=io.StringIO())))
    response = httpx.post(serve[0].url + "/", content=BODY, headers=_signed(secret))
    assert response.status_code == 502


def test_tampered_events_are_not_forwarded(serve: list[Running]) -> None:
    secret = new_webhook_secret()
    merchant = Merchant(secret=secret)
    serve.append(_start(merchant.app()))
    serve.append(_start(create_listener_app(secret, serve[0].url + "/hooks", out=io.StringIO())))
    response = httpx.post(serve[1].url + "/", content=BODY + b" ", headers=_signed(secret))
    assert response.status_code == 400
    assert merchant.received == []


@pytest.mark.parametrize(("secret", "forward_to"), [("whsec_not base64!", None), (None, "ftp://example.com")])
def test_bad_configuration_is_refused_up_front(secret: str | None, forward_to: str | None) -> None:
    with pytest.raises(ValueError):
        create_listener_app(secret, forward_to)
