"""The demo merchant dashboard in a real browser: a key from the user, live intents, refunds."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from nexus.webhooks.signing import verify
from tests.browser.chromium import require_chromium

require_chromium()

from playwright.async_api import Page, expect  # noqa: E402

from tests.api.flows import create_intent, process_intent  # noqa: E402
from tests.api.gql import GET  # noqa: E402
from tests.browser.conftest import PHONE, fits_width, screenshot  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402
from tests.webhooks.receiver import Receiver  # noqa: E402


async def sign_in(page: Page, server: ServerProcess, secret_key: str) -> None:
    await page.goto(f"{server.url}/demo/dashboard")
    await page.get_by_label("Secret key").fill(secret_key)
    await page.get_by_role("button", name="Use this key").click()
    await expect(page.locator("#merchant")).to_contain_text("Signed in as Test Shop")
    await expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")


async def test_new_intent_appears_live_and_is_refunded(
    desktop_page: Page, live_server: ServerProcess, merchant: dict[str, Any]
) -> None:
    page = desktop_page
    await sign_in(page, live_server, merchant["secretKey"])
    await expect(page.locator("#intents-empty")).to_be_visible()
    # The key stays in this tab's session storage, nowhere else.
    stored = await page.evaluate("[sessionStorage.getItem('nexus.demo.secretKey'), localStorage.length]")
    assert stored == [merchant["secretKey"], 0]

    intent = await create_intent(merchant["client"], amount=4321)
    row = page.locator(f'#intents tbody tr[data-id="{intent["id"]}"]')
    await expect(row).to_have_attribute("data-status", "CREATED")
    processed = await process_intent(merchant["client"], intent["id"])
    assert processed["paymentIntent"]["status"] == "SUCCEEDED"
    await expect(row).to_have_attribute("data-status", "SUCCEEDED")
    await screenshot(page, "dashboard-live-intent")

    await row.get_by_role("button", name=f"Details of {intent['id']}").click()
    detail = page.locator("#detail")
    await expect(detail.get_by_role("heading", name=f"Details of {intent['id']}")).to_be_visible()
    attempts = page.locator("#attempts tbody tr")
    await expect(attempts).to_have_count(1)
    await expect(attempts).to_contain_text("4242")
    await expect(attempts).to_contain_text("NORMAL")
    await expect(page.locator("#intent-events > li")).to_have_count(3)
    await detail.get_by_label("Refund reason").select_option("requested_by_customer")
    await detail.get_by_role("button", name="Refund").click()

    await expect(page.locator("#action-result")).to_contain_text("Refunded $43.21")
    await expect(page.locator("#refunds tbody tr[data-id]")).to_have_count(1)
    await expect(row).to_contain_text("$43.21")
    await expect(detail.get_by_role("button", name="Refund")).to_be_disabled()
    await expect(page.locator("#intent-events > li").first).to_contain_text("refund.created")
    await screenshot(page, "dashboard-refunded")
    await page.set_viewport_size(PHONE)
    assert await fits_width(page)
    await screenshot(page, "dashboard-phone")

    data = await merchant["client"].data(GET, {"id": intent["id"], "secret": None})
    assert data["paymentIntent"]["amountRefunded"] == 4321


async def test_status_filter_and_pagination(
    desktop_page: Page, live_server: ServerProcess, merchant: dict[str, Any]
) -> None:
    page = desktop_page
    created = [await create_intent(merchant["client"], amount=1000 + i) for i in range(11)]
    await process_intent(merchant["client"], created[0]["id"], "4000000000009995")
    await sign_in(page, live_server, merchant["secretKey"])

    rows = page.locator("#intents tbody tr")
    await expect(rows).to_have_count(10)
    await page.get_by_role("button", name="Load more").click()
    await expect(rows).to_have_count(11)
    await expect(page.get_by_role("button", name="Load more")).to_be_hidden()

    await page.get_by_label("Status").select_option("FAILED")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-id", created[0]["id"])


async def test_a_publishable_key_is_refused(
    desktop_page: Page, live_server: ServerProcess, merchant: dict[str, Any]
) -> None:
    page = desktop_page
    await page.goto(f"{live_server.url}/demo/dashboard")
    await page.get_by_label("Secret key").fill(merchant["publishableKey"])
    await page.get_by_role("button", name="Use this key").click()
    await expect(page.locator("#key-error")).to_contain_text("secret key")
    await page.get_by_label("Secret key").fill("sk_test_not-a-real-key")
    await page.get_by_role("button", name="Use this key").click()
    await expect(page.locator("#key-error")).to_contain_text("UNAUTHENTICATED")
    assert await page.evaluate("sessionStorage.getItem('nexus.demo.secretKey')") is None


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()


async def test_webhook_panel_creates_rotates_and_resends(
    desktop_page: Page, live_server: ServerProcess, merchant: dict[str, Any], receiver: Receiver
) -> None:
    page = desktop_page
    await sign_in(page, live_server, merchant["secretKey"])
    name = f"dash-{uuid.uuid4().hex[:8]}"
    url = receiver.endpoint(name)
    await page.get_by_label("Endpoint URL").fill(url)
    await page.get_by_role("button", name="Add endpoint").click()
    first_secret = await shown_secret(page)
    await expect(page.locator("#endpoints tbody tr")).to_contain_text(url)

    intent = await create_intent(merchant["client"])
    await process_intent(merchant["client"], intent["id"])
    delivered = await receiver.wait_for(name, 3)
    # The secret the page showed is the one that signs the deliveries.
    for request in delivered:
        verify(request.body, request.headers, first_secret)

    await page.locator(f'#intents tbody tr[data-id="{intent["id"]}"]').get_by_role("button").click()
    events = page.locator("#intent-events > li")
    await expect(events).to_have_count(3)
    await expect(events.filter(has_text="payment_intent.succeeded")).to_contain_text(f"{url}: succeeded")
    await expect(events.filter(has_text="payment_intent.succeeded")).to_contain_text(": 200 in ")

    await page.get_by_role("button", name="I have copied it").click()
    await expect(page.locator("#endpoint-secret")).to_be_hidden()
    await page.get_by_role("button", name=f"Rotate the secret of {url}").click()
    second_secret = await shown_secret(page)
    assert second_secret != first_secret

    succeeded = events.filter(has_text="payment_intent.succeeded")
    event_id = await succeeded.get_attribute("data-id")
    await succeeded.get_by_role("button", name=f"Resend {event_id}").click()
    await expect(page.locator("#action-result")).to_contain_text(f"Resent {event_id}")
    resent = (await receiver.wait_for(name, 4))[3]
    assert resent.webhook_id == event_id
    # During the rotation both secrets sign.
    verify(resent.body, resent.headers, first_secret)
    verify(resent.body, resent.headers, second_secret)
    await screenshot(page, "dashboard-webhooks")


async def shown_secret(page: Page) -> str:
    value = page.locator("#endpoint-secret-value")
    await expect(value).to_have_text(re.compile(r"^whsec_"))
    return await value.inner_text()


async def test_capture_and_cancel_buttons(
    desktop_page: Page, live_server: ServerProcess, merchant: dict[str, Any]
) -> None:
    page = desktop_page
    manual = await create_intent(merchant["client"], amount=5000, captureMethod="MANUAL")
    await process_intent(merchant["client"], manual["id"])
    untouched = await create_intent(merchant["client"], amount=700)
    await sign_in(page, live_server, merchant["secretKey"])
    detail = page.locator("#detail")

    await page.get_by_role("button", name=f"Details of {manual['id']}").click()
    await expect(detail.get_by_role("button", name="Capture")).to_be_enabled()
    await expect(detail.get_by_role("button", name="Refund")).to_be_disabled()
    await detail.get_by_label("Amount in minor units").fill("3000")
    await detail.get_by_role("button", name="Capture").click()
    await expect(page.locator("#action-result")).to_contain_text("SUCCEEDED")
    await expect(page.locator(f'#intents tbody tr[data-id="{manual["id"]}"]')).to_have_attribute(
        "data-status", "SUCCEEDED"
    )

    await page.get_by_role("button", name=f"Details of {untouched['id']}").click()
    await detail.get_by_role("button", name="Cancel payment").click()
    await expect(page.locator("#action-result")).to_contain_text("CANCELED")
    await expect(detail.get_by_role("button", name="Cancel payment")).to_be_disabled()

    captured = await merchant["client"].data(GET, {"id": manual["id"], "secret": None})
    assert captured["paymentIntent"]["amountReceived"] == 3000
    canceled = await merchant["client"].data(GET, {"id": untouched["id"], "secret": None})
    assert canceled["paymentIntent"]["status"] == "CANCELED"
