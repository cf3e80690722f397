"""Debian's Chromium for the browser tests and benchmarks (driven by Playwright, whose own
browser download does not work here; ``make chromium`` installs the package)."""

from __future__ import annotations

from typing import Final

CHROMIUM: Final = "/usr/bin/chromium"
"""The browser binary of Debian's ``chromium`` package."""

CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Headless, in a container (no sandbox, no GPU), with nothing of its own on the network."""
