"""Where the browser tests find Chromium, and the one notice when they cannot."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium, headless and quiet: no first-run UI, no background calls to the outside.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"browser tests skipped: {CHROMIUM} is missing (install it: apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "browser tests skipped: playwright is not installed (pip install -e '.[dev]')"
    return None


def require_chromium() -> None:
    """Skip the calling test module, visibly, when Chromium or Playwright is missing."""
    reason = missing_reason()
    if reason is not None:
        print(f"\n>> {reason}")
        pytest.skip(reason, allow_module_level=True)
