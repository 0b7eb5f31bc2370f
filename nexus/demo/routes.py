"""Demo pages: a checkout and a merchant dashboard that use the public GraphQL API only.

The server side here plays the merchant's back end, as a real shop's would: it owns a
demo merchant and creates one payment intent per checkout session, and hands the
browser only what Stripe.js gets — the publishable key and the intent's client secret.
Everything the pages do after that goes through POST/WS /graphql like any frontend.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nexus.domain.status import CaptureMethod
from nexus.services import merchants, payment_intents
from nexus.state import AppState

# What the demo shop sells: one order of 20.00 USD, enough above every minimum.
DEMO_AMOUNT = 2000
DEMO_CURRENCY = "usd"
DEMO_MERCHANT_NAME = "Nexus Demo Shop"
# Pages load only our own files and talk only to our own origin (no third-party code).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class DemoMerchant:
    """The shop this process plays. Its secret key is not kept: the back end needs only the id."""

    merchant_id: str
    publishable_key: str


class DemoShop:
    """Creates the demo merchant once per process (kept in memory only, never logged)."""

    def __init__(self, holder: dict[str, AppState]) -> None:
        self._holder = holder
        self._merchant: DemoMerchant | None = None
        self._lock = asyncio.Lock()

    async def merchant(self) -> DemoMerchant:
        async with self._lock:
            if self._merchant is None:
                state = self._holder["state"]
                signup = await merchants.signup(
                    state.sessions, DEMO_MERCHANT_NAME, f"demo+{uuid.uuid4().hex[:8]}@nexus.test", None
                )
                assert signup.publishable_key is not None  # a fresh signup always shows its keys
                self._merchant = DemoMerchant(signup.merchant.id, signup.publishable_key)
            return self._merchant

    async def new_session(self) -> dict[str, object]:
        """A fresh payment intent for one checkout: what a merchant back end hands its page."""
        shop = await self.merchant()
        result = await payment_intents.create(
            self._holder["state"].sessions,
            shop.merchant_id,
            DEMO_AMOUNT,
            DEMO_CURRENCY,
            CaptureMethod.AUTOMATIC,
            "Demo order",
            {"source": "demo-checkout"},
            f"demo-checkout-{uuid.uuid4().hex}",
        )
        return {
            "publishableKey": shop.publishable_key,
            "paymentIntentId": result.intent.id,
            "clientSecret": result.client_secret,
            "amount": result.intent.amount,
            "currency": result.intent.currency,
        }


def _page(path: Path) -> Response:
    return FileResponse(path, media_type="text/html", headers=PAGE_HEADERS)


def demo_routes(holder: dict[str, AppState], static_dir: Path) -> list[Route | Mount]:
    shop = DemoShop(holder)

    async def index(request: Request) -> Response:
        return _page(static_dir / "index.html")

    async def checkout(request: Request) -> Response:
        return _page(static_dir / "checkout.html")

    async def checkout_session(request: Request) -> Response:
        # POST: it creates an intent, so no browser prefetch or crawler makes one by accident.
        return JSONResponse(await shop.new_session(), headers={"Cache-Control": "no-store"})

    async def dashboard(request: Request) -> Response:
        return _page(static_dir / "dashboard.html")

    async def to_index(request: Request) -> Response:
        return RedirectResponse("/demo/")

    return [
        Route("/demo", to_index),
        Route("/demo/", index),
        Route("/demo/checkout", checkout),
        Route("/demo/checkout/session", checkout_session, methods=["POST"]),
        Route("/demo/dashboard", dashboard),
        Mount("/demo/static", StaticFiles(directory=static_dir), name="demo-static"),
    ]
