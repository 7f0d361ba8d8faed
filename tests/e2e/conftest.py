"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Playwright never downloads a browser here; it launches /usr/bin/chromium. Django's async-safety
check is relaxed because Playwright's sync API runs an event loop in the test thread.

The Microsoft 365 and JUST.SFA emulators run over TLS in background threads of the test process,
from one data directory, so they share one CA and ``SFACAL_CA_BUNDLE`` makes the product trust both.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = "/usr/bin/chromium"
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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API marks an event loop as running in the main thread for
    # as long as it is open, which would break later tests that call asyncio.run().
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """A factory of pages, each in its own browser context (own cookies), phone- or desk-sized."""
    contexts: list[Any] = []

    def make(*, phone: bool = False, lang: str = "ja") -> Any:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = browser.new_context(viewport=viewport, locale="ja-JP" if lang == "ja" else "en-US")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.console_errors = errors  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def emulator_dir(tmp_path: Path) -> Path:
    """One data directory for both emulators: one CA (``ca.pem``) that the product trusts."""
    return tmp_path / "emulators"


@pytest.fixture
def m365(emulator_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Microsoft 365 emulator (Entra ID token endpoints + Graph), trusted by the product."""
    emulator = pytest.importorskip("sfacal.emulators.m365")
    from sfacal.engine import loop

    # Graph throttles some items of a large one-mailbox batch (the emulator's batch_throttle), and id
    # changes are switched on: every change gives an event a new default id, so only the immutable
    # ids the product asks for keep working.
    knobs = {"batch_throttle": True, "rest_ids_change_on_update": True}
    with emulator.running_emulator(emulator_dir, knobs=knobs) as handle:
        monkeypatch.setenv("SFACAL_CA_BUNDLE", str(handle.ca_pem))
        loop.forget_services()
        try:
            yield handle
        finally:
            loop.forget_services()  # no cached Graph client outlives its emulator


@pytest.fixture
def justsfa(emulator_dir: Path, m365: Any) -> Iterator[Any]:
    """The JUST.SFA emulator (records API, webhooks, control API), on the same CA as ``m365``."""
    emulator = pytest.importorskip("sfacal.emulators.justsfa")
    with emulator.running_emulator(emulator_dir) as handle:
        assert handle.ca_pem == m365.ca_pem
        yield handle


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and shutil.which("chromium") is not None
