"""Browser tests: the website and JupyterLab in the distribution's Chromium, driven by Playwright.

They are marked ``browser`` and left out of ``pytest tests`` (``-m "not browser"`` in pyproject);
``make browser-test`` runs them. Playwright drives the Chromium found on the PATH (``chromium``,
``chromium-browser``, ``google-chrome``) or named by ``FMBOOK_CHROMIUM``; the tests never download a
browser (``playwright install`` is not needed and not used). Without a browser they skip, saying how
to get one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_BROWSER = ("no Chromium found: install the distribution's (`sudo apt-get install -y chromium` on "
              "Debian/Ubuntu) or set FMBOOK_CHROMIUM=/path/to/chromium; `playwright install` is not used")


def chromium_path() -> str | None:
    """The Chromium executable to drive, or None."""
    named = os.environ.get("FMBOOK_CHROMIUM", "").strip()
    if named:
        return named if Path(named).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (the distribution's), closed after the session."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed "
                                   "(it is in requirements-lock.txt: `make install`)")
    exe = chromium_path()
    if exe is None:
        pytest.skip(NO_BROWSER)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    """Where screenshots go: build/site-shots/ (FMBOOK_SHOTS_DIR to change)."""
    path = Path(os.environ.get("FMBOOK_SHOTS_DIR", ROOT / "build" / "site-shots"))
    path.mkdir(parents=True, exist_ok=True)
    return path
