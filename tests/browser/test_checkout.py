"""The demo checkout in a real browser: card form, live status, declines, 3-D Secure."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.chromium import require_chromium

require_chromium()

from playwright.async_api import Page, expect  # noqa: E402

from tests.api.gql import GET  # noqa: E402
from tests.browser.conftest import fits_width, screenshot  # noqa: E402
from tests.conftest import GraphQLClient, ServerProcess  # noqa: E402


async def open_checkout(page: Page, server: ServerProcess) -> dict[str, Any]:
    """Load the page and wait until its subscription is live; returns what the shop handed it."""
    async with page.expect_response("**/demo/checkout/session") as answer:
        await page.goto(f"{server.url}/demo/checkout")
    session: dict[str, Any] = await (await answer.value).json()
    await expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    await expect(page.locator("#timeline li[data-status=CREATED]")).to_have_count(1)
    await expect(page.get_by_role("button", name="Pay $20.00")).to_be_enabled()
    return session


async def fill_card(page: Page, number: str) -> None:
    await page.get_by_label("Card number").fill(number)
    await page.get_by_label("Expiry (MM/YY)").fill("12/34")
    await page.get_by_label("Security code (CVC)").fill("123")


async def server_status(server: ServerProcess, session: dict[str, Any]) -> dict[str, Any]:
    """The intent as the API reports it to the same publishable key and client secret."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        client = GraphQLClient(http, session["publishableKey"])
        data = await client.data(GET, {"id": session["paymentIntentId"], "secret": session["clientSecret"]})
    intent: dict[str, Any] = data["paymentIntent"]
    return intent


async def test_pay_with_4242_shows_succeeded_live(phone_page: Page, live_server: ServerProcess) -> None:
    page = phone_page
    session = await open_checkout(page, live_server)
    await screenshot(page, "checkout-ready")
    # The "try these cards" list fills the form.
    await page.get_by_role("button", name="Use card 4242 4242 4242 4242").click()
    await page.get_by_role("button", name="Pay $20.00").click()

    await expect(page.locator("#payment-status")).to_have_attribute("data-status", "SUCCEEDED")
    await expect(page.locator("#payment-success")).to_contain_text("succeeded")
    # PROCESSING is never a mutation's answer: seeing it proves the subscription delivered each version.
    timeline = page.locator("#timeline li")
    await expect(timeline).to_have_count(3)
    assert [await item.get_attribute("data-status") for item in await timeline.all()] == [
        "CREATED",
        "PROCESSING",
        "SUCCEEDED",
    ]
    await expect(page.locator("#payment-error")).to_be_empty()
    assert await fits_width(page)
    await screenshot(page, "checkout-succeeded")
    intent = await server_status(live_server, session)
    assert (intent["status"], intent["amountReceived"]) == ("SUCCEEDED", session["amount"])


async def test_insufficient_funds_shows_readable_decline(phone_page: Page, live_server: ServerProcess) -> None:
    page = phone_page
    session = await open_checkout(page, live_server)
    # Keyboard only: the fields come in reading order and Enter pays.
    await page.get_by_label("Card number").focus()
    await page.keyboard.type("4000 0000 0000 9995")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Expiry (MM/YY)")).to_be_focused()
    await page.keyboard.type("12/34")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Security code (CVC)")).to_be_focused()
    await page.keyboard.type("123")
    await page.keyboard.press("Enter")

    await expect(page.locator("#payment-status")).to_have_attribute("data-status", "FAILED")
    alert = page.get_by_role("alert").filter(has_text="insufficient funds")
    await expect(alert).to_have_text("Your card has insufficient funds. (decline code: insufficient_funds)")
    await expect(page.locator("#timeline li[data-status=FAILED]")).to_have_count(1)
    # A declined intent takes another card.
    await expect(page.get_by_role("button", name="Pay $20.00")).to_be_enabled()
    await screenshot(page, "checkout-declined")
    intent = await server_status(live_server, session)
    assert intent["lastPaymentError"]["declineCode"] == "insufficient_funds"


async def test_three_d_secure_dialog_completes_payment(phone_page: Page, live_server: ServerProcess) -> None:
    page = phone_page
    session = await open_checkout(page, live_server)
    await fill_card(page, "4000 0027 6000 3184")
    await page.get_by_role("button", name="Pay $20.00").click()

    dialog = page.get_by_role("dialog", name="3-D Secure authentication")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#payment-status")).to_have_attribute("data-status", "REQUIRES_ACTION")
    approve = dialog.get_by_role("button", name="Complete authentication")
    await expect(approve).to_be_focused()
    await screenshot(page, "checkout-3ds-challenge")
    await page.keyboard.press("Enter")

    await expect(dialog).to_be_hidden()
    await expect(page.locator("#payment-status")).to_have_attribute("data-status", "SUCCEEDED")
    await expect(page.locator("#timeline li[data-status=REQUIRES_ACTION]")).to_have_count(1)
    await expect(page.locator("#timeline li[data-status=SUCCEEDED]")).to_have_count(1)
    await screenshot(page, "checkout-3ds-succeeded")
    assert (await server_status(live_server, session))["status"] == "SUCCEEDED"


async def test_failed_three_d_secure_explains_and_allows_another_card(
    phone_page: Page, live_server: ServerProcess
) -> None:
    page = phone_page
    session = await open_checkout(page, live_server)
    await fill_card(page, "4000 0027 6000 3184")
    await page.get_by_role("button", name="Pay $20.00").click()
    dialog = page.get_by_role("dialog", name="3-D Secure authentication")
    await dialog.get_by_role("button", name="Fail authentication").click()

    await expect(page.locator("#payment-status")).to_have_attribute("data-status", "FAILED")
    await expect(page.locator("#payment-error")).to_contain_text("payment_intent_authentication_failure")
    await expect(page.get_by_role("button", name="Pay $20.00")).to_be_enabled()
    assert (await server_status(live_server, session))["status"] == "FAILED"


async def test_client_side_checks_stop_a_bad_card(phone_page: Page, live_server: ServerProcess) -> None:
    page = phone_page
    session = await open_checkout(page, live_server)
    await fill_card(page, "4242 4242 4242 4241")
    await page.get_by_label("Expiry (MM/YY)").fill("01/20")
    await page.get_by_role("button", name="Pay $20.00").click()

    number = page.get_by_label("Card number")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await expect(number).to_be_focused()
    await expect(page.locator("#card-number-error")).to_contain_text("not valid")
    await expect(page.locator("#card-expiry-error")).to_have_text("This card has expired.")
    await screenshot(page, "checkout-invalid-card")
    # Nothing reached the API: the intent is untouched.
    intent = await server_status(live_server, session)
    assert (intent["status"], intent["version"]) == ("CREATED", 1)
