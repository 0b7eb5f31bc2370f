"""GraphiQL at /graphql in a real browser: a query, a mutation and a subscription, with the
API key given in GraphiQL's Headers (which it also sends in connection_init on the WebSocket)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from tests.browser.chromium import require_chromium

require_chromium()

from playwright.async_api import Page, Route, expect  # noqa: E402

from tests.api.flows import create_intent, process_intent  # noqa: E402
from tests.browser.conftest import screenshot  # noqa: E402
from tests.browser.graphiql_assets import Asset, mirror  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402

# Waiting for the server to register a subscription: seconds on a loaded machine at worst.
SUBSCRIBE_WAIT_S = 15.0


@pytest.fixture(scope="module")
def assets(live_server: ServerProcess) -> Iterator[dict[str, Asset]]:
    html = httpx.get(f"{live_server.url}/graphql", headers={"Accept": "text/html"}, timeout=30).text
    try:
        found = mirror(html)
    except FileNotFoundError as error:
        pytest.skip(f"GraphiQL's assets are unavailable offline: {error}")
    yield found


async def open_graphiql(page: Page, server: ServerProcess, assets: dict[str, Asset], query: str, key: str) -> None:
    async def serve(route: Route) -> None:
        asset = assets.get(route.request.url)
        if asset is None:
            await route.abort()
            return
        # crossorigin + integrity: the browser needs CORS headers to check the hash.
        await route.fulfill(
            path=str(asset.path), content_type=asset.content_type, headers={"Access-Control-Allow-Origin": "*"}
        )

    await page.route("https://unpkg.com/**", serve)
    # The page decodes its parameters with decodeURIComponent: spaces must be %20, not "+".
    params = urlencode({"q": query, "headers": json.dumps({"Authorization": f"Bearer {key}"})}, quote_via=quote)
    await page.goto(f"{server.url}/graphql?{params}")
    await expect(page.locator(".graphiql-container .graphiql-query-editor")).to_be_visible()


async def run(page: Page) -> None:
    await page.get_by_role("button", name=re.compile("Execute query")).click()


def response(page: Page) -> Any:
    return page.locator(".graphiql-response")


async def test_query_and_mutation_with_key_header(
    desktop_page: Page, live_server: ServerProcess, merchant: dict[str, Any], assets: dict[str, Asset]
) -> None:
    page = desktop_page
    await open_graphiql(page, live_server, assets, "query { me { id name } }", merchant["secretKey"])
    await run(page)
    await expect(response(page)).to_contain_text(merchant["id"])
    await screenshot(page, "graphiql-query")

    mutation = (
        'mutation { createPaymentIntent(input: {amount: 2500, currency: "usd"}, idempotencyKey: "graphiql-1") '
        "{ paymentIntent { id status amount } userErrors { code } } }"
    )
    await open_graphiql(page, live_server, assets, mutation, merchant["secretKey"])
    await run(page)
    await expect(response(page)).to_contain_text('"status": "CREATED"')
    listed = await merchant["client"].data("{ paymentIntents(first: 5) { nodes { amount } } }")
    assert [node["amount"] for node in listed["paymentIntents"]["nodes"]] == [2500]


def subscribers(server: ServerProcess) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    match = re.search(r"^nexus_realtime_subscribers (\S+)$", text, re.MULTILINE)
    assert match, "nexus_realtime_subscribers missing from /metrics"
    return float(match.group(1))


async def wait_for_subscribers(server: ServerProcess, above: float) -> None:
    deadline = time.monotonic() + SUBSCRIBE_WAIT_S
    while subscribers(server) <= above:
        assert time.monotonic() < deadline, "GraphiQL's subscription never reached the server"
        await asyncio.sleep(0.05)


async def test_subscription_over_websocket(
    desktop_page: Page, live_server: ServerProcess, merchant: dict[str, Any], assets: dict[str, Asset]
) -> None:
    page = desktop_page
    query = 'subscription { events(types: ["payment_intent.succeeded"]) { type data } }'
    await open_graphiql(page, live_server, assets, query, merchant["secretKey"])
    before = subscribers(live_server)
    await run(page)
    await wait_for_subscribers(live_server, before)

    intent = await create_intent(merchant["client"], amount=3100)
    await process_intent(merchant["client"], intent["id"])
    await expect(response(page)).to_contain_text("payment_intent.succeeded")
    await expect(response(page)).to_contain_text(intent["id"])
    await screenshot(page, "graphiql-subscription")
