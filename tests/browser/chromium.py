"""Headless Chromium for the browser tests and `make screenshots`: Debian's `chromium`
driven by Playwright from PyPI (never `playwright install`: no browser download here)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} not found: apt-get install -y chromium (.ci/run installs it in CI)"
    try:
        import playwright.sync_api  # noqa: F401  (only asking whether it is installed)
    except ImportError:
        return "playwright is not installed: .venv/bin/pip install -e '.[test]'"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
