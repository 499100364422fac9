"""Playwright driving Debian's Chromium (/usr/bin/chromium) against cardpay served over loopback.

Headless, with a fresh user-data-dir per test; `make test` (make chromium) installs Chromium when
it is missing. Waits are Playwright's auto-waiting expectations with generous timeouts, never sleeps,
so the tests hold on a loaded 2-core machine.
"""

import os

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
TIMEOUT_MS = 30_000

# Records every value #payment-state's data-state takes, so a test can tell a page that changed by
# itself from one that was reloaded.
STATE_RECORDER = """
window.__paymentStates = [];
document.addEventListener("DOMContentLoaded", function () {
  function note() {
    var el = document.getElementById("payment-state");
    var s = el && el.getAttribute("data-state");
    var seen = window.__paymentStates;
    if (s && seen[seen.length - 1] !== s) { seen.push(s); }
  }
  note();
  new MutationObserver(note).observe(document.documentElement,
    {attributes: true, attributeFilter: ["data-state"], subtree: true, childList: true});
});
"""


@pytest.fixture(scope="session")
def playwright_driver():
    """One Playwright driver per run (each test still gets its own browser and profile)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright_driver, tmp_path):
    """A headless Chromium with a fresh user-data-dir."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
        viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(2 * TIMEOUT_MS)
    context.add_init_script(STATE_RECORDER)
    expect.set_options(timeout=TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def shoot(artifacts_dir, request):
    """Save a full-page screenshot for a person to look at: shoot(page, "step-name")."""
    def save(page, step):
        path = artifacts_dir / f"browser-{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return save
