"""Browser fixtures: one headless Debian Chromium per session, a fresh context per test.

Each page's uncaught JavaScript errors fail its test, and every test saves
screenshots under test-artifacts/ (gitignored) for humans to look at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, missing_reason
from tests.conftest import ROOT

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

ARTIFACTS = ROOT / "test-artifacts"
# Long enough for a loaded 2-core CI machine; a passing step returns as soon as the page is ready.
UI_TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reason = missing_reason()
    if reason is not None:
        terminalreporter.write_line(f">> {reason}", yellow=True, bold=True)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def _page(browser: Browser, viewport: dict[str, int]) -> AsyncIterator[Page]:
    from playwright.async_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
async def phone_page(browser: Browser) -> AsyncIterator[Page]:
    async for page in _page(browser, PHONE):
        yield page


@pytest.fixture
async def desktop_page(browser: Browser) -> AsyncIterator[Page]:
    async for page in _page(browser, DESKTOP):
        yield page


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def fits_width(page: Page) -> bool:
    """Readable on this screen: nothing makes the page scroll sideways (wide tables scroll inside)."""
    fits: bool = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    return fits
