"""paymentIntentUpdated over WebSockets (gql) and SSE (httpx) against a live server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from websockets.exceptions import ConnectionClosed

from tests.api.flows import create_intent, key
from tests.api.gql import AUTHENTICATE, PROCESS, card
from tests.conftest import ServerProcess
from tests.realtime.clients import INTENT_UPDATED, receive, sse_messages, subscribe, ws_session


async def process_public(merchant: dict[str, Any], intent: dict[str, Any], number: str) -> dict[str, Any]:
    variables = {"input": {"id": intent["id"], "clientSecret": intent["clientSecret"], "card": card(number)}}
    data = await merchant["public"].data(PROCESS, {**variables, "key": key()})
    payload: dict[str, Any] = data["processPaymentIntent"]
    assert payload["userErrors"] == [], payload
    return payload


async def test_frontend_flow_over_websocket(live_server: ServerProcess, merchant: dict[str, Any]) -> None:
    intent = await create_intent(merchant["client"], 2000)
    variables = {"id": intent["id"], "secret": intent["clientSecret"]}
    async with ws_session(live_server.url, merchant["publishableKey"]) as session:
        stream = subscribe(session, INTENT_UPDATED, variables)
        first = (await receive(stream))["paymentIntentUpdated"]
        assert (first["status"], first["version"]) == ("CREATED", 1)
        assert first["clientSecret"] is None  # never to a publishable key
        await process_public(merchant, intent, "4242424242424242")
        later = [(await receive(stream))["paymentIntentUpdated"] for _ in range(2)]
    assert [(m["status"], m["version"]) for m in later] == [("PROCESSING", 2), ("SUCCEEDED", 3)]
    processing, succeeded = later
    assert processing["amountReceived"] == 0 and succeeded["amountReceived"] == 2000


async def test_frontend_flow_over_sse(http: httpx.AsyncClient, merchant: dict[str, Any]) -> None:
    intent = await create_intent(merchant["client"], 1500)
    variables = {"id": intent["id"], "secret": intent["clientSecret"]}
    stream = sse_messages(http, merchant["publishableKey"], INTENT_UPDATED, variables)
    first = await receive(stream)
    assert first["data"]["paymentIntentUpdated"]["status"] == "CREATED"
    await process_public(merchant, intent, "4242424242424242")
    later = [(await receive(stream))["data"]["paymentIntentUpdated"] for _ in range(2)]
    await stream.aclose()
    assert [(m["status"], m["version"]) for m in later] == [("PROCESSING", 2), ("SUCCEEDED", 3)]


async def test_three_d_secure_shows_requires_action_then_succeeds(
    live_server: ServerProcess, merchant: dict[str, Any]
) -> None:
    intent = await create_intent(merchant["client"], 3000)
    variables = {"id": intent["id"], "secret": intent["clientSecret"]}
    async with ws_session(live_server.url, merchant["publishableKey"]) as session:
        stream = subscribe(session, INTENT_UPDATED, variables)
        assert (await receive(stream))["paymentIntentUpdated"]["status"] == "CREATED"
        payload = await process_public(merchant, intent, "4000002760003184")
        assert payload["paymentIntent"]["status"] == "REQUIRES_ACTION"
        seen = [(await receive(stream))["paymentIntentUpdated"] for _ in range(2)]
        auth = {"input": {"id": intent["id"], "clientSecret": intent["clientSecret"], "succeed": True}}
        done = await merchant["public"].data(AUTHENTICATE, auth)
        assert done["authenticatePaymentIntent"]["paymentIntent"]["status"] == "SUCCEEDED"
        seen += [(await receive(stream))["paymentIntentUpdated"] for _ in range(2)]
    statuses = [m["status"] for m in seen]
    assert statuses == ["PROCESSING", "REQUIRES_ACTION", "PROCESSING", "SUCCEEDED"]
    assert [m["version"] for m in seen] == [2, 3, 4, 5]


async def test_bad_key_closes_with_4403(live_server: ServerProcess) -> None:
    for bad in ("sk_test_not_a_real_key", "", "pk_test_" + "0" * 40):
        with pytest.raises(TransportConnectionFailed) as failed:
            async with ws_session(live_server.url, bad):
                pass
        closed = failed.value.__cause__
        assert isinstance(closed, ConnectionClosed) and closed.rcvd is not None
        assert closed.rcvd.code == 4403


async def test_foreign_intent_is_not_found_never_data(
    live_server: ServerProcess, http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    intent = await create_intent(merchant["client"])
    other = await _other_merchant(http)
    attempts = [
        (other["secretKey"], {"id": intent["id"]}),  # another merchant's secret key
        (merchant["publishableKey"], {"id": intent["id"], "secret": "pi_wrong_secret_x"}),  # wrong clientSecret
        (merchant["publishableKey"], {"id": intent["id"]}),  # no clientSecret
        (merchant["secretKey"], {"id": "pi_does_not_exist"}),
    ]
    for api_key, variables in attempts:
        async with ws_session(live_server.url, api_key) as session:
            with pytest.raises(TransportQueryError) as refused:
                await receive(subscribe(session, INTENT_UPDATED, variables))
        assert refused.value.errors is not None
        assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
        assert not refused.value.data
    over_sse = await receive(sse_messages(http, other["secretKey"], INTENT_UPDATED, {"id": intent["id"]}))
    assert over_sse["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert not over_sse.get("data")


async def test_graphiql_style_connection_streams(live_server: ServerProcess, merchant: dict[str, Any]) -> None:
    """GraphiQL merges its Headers tab into connection_init and connects from the same origin."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"{live_server.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "subscriptionUrl" in page.text
    intent = await create_intent(merchant["client"])
    headers = {"Origin": live_server.url}
    async with ws_session(live_server.url, merchant["secretKey"], payload_name="Authorization", headers=headers) as s:
        first = await receive(subscribe(s, INTENT_UPDATED, {"id": intent["id"]}))
    assert first["paymentIntentUpdated"]["clientSecret"] == intent["clientSecret"]


async def test_revoked_key_stops_the_stream(live_server: ServerProcess, merchant: dict[str, Any]) -> None:
    intent = await create_intent(merchant["client"])
    roll = """mutation { rollApiKey(input: {kind: SECRET, expireCurrentInSeconds: 0}) { key userErrors { code } } }"""
    async with ws_session(live_server.url, merchant["secretKey"]) as session:
        stream = subscribe(session, INTENT_UPDATED, {"id": intent["id"]})
        assert (await receive(stream))["paymentIntentUpdated"]["version"] == 1
        rolled = await merchant["client"].data(roll)
        assert rolled["rollApiKey"]["key"].startswith("sk_test_")
        with pytest.raises(TransportQueryError) as stopped:
            await receive(stream)
    assert stopped.value.errors is not None
    assert stopped.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def _other_merchant(http: httpx.AsyncClient) -> dict[str, Any]:
    from tests.conftest import SIGNUP

    response = await http.post(
        "/graphql", json={"query": SIGNUP, "variables": {"input": {"name": "Other", "email": f"{key()[:8]}@o.test"}}}
    )
    payload: dict[str, Any] = response.json()["data"]["signupMerchant"]
    return payload
