"""The hand-over as people see it: a customer on the widget and two agents on the workbench,
in real headless Chromium (Debian's, driven by Playwright), over the distributed stack.

Screenshots of both pages are saved to ``artifacts/screenshots/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import API_KEY
from tests.support.stack import REPO, Stack

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _sign_in(browser: object, gateway: str, key: str):  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()  # type: ignore[attr-defined]
    page.goto(f"{gateway}/workbench")
    page.get_by_test_id("agent-key").fill(key)
    page.get_by_test_id("sign-in").click()
    return page


def test_hand_over_to_an_agent_and_back_in_the_browser(stack: Stack, browser: object) -> None:
    from playwright.sync_api import expect

    gateway = stack.of("gateway")[0].url
    marker = uuid.uuid4().hex[:6]
    customer = browser.new_context().new_page()  # type: ignore[attr-defined]
    customer.goto(f"{gateway}/widget?key={API_KEY}")
    alice = _sign_in(browser, gateway, "alice-key")
    bob = _sign_in(browser, gateway, "bob-key")

    # The customer asks for a human; the widget says so.
    customer.get_by_test_id("message").fill(f"I want to talk to a human agent, kettle {marker}")
    customer.get_by_test_id("send").click()
    expect(customer.get_by_test_id("note").filter(has_text="queue")).to_be_visible()

    # The card appears live in both workbenches.
    alice_ticket = alice.get_by_test_id("ticket").filter(has_text=marker)
    bob_ticket = bob.get_by_test_id("ticket").filter(has_text=marker)
    expect(alice_ticket).to_be_visible()
    expect(bob_ticket).to_be_visible()
    expect(alice_ticket).to_contain_text("urgent")

    # Both open it; Alice claims it; Bob's claim is refused.
    bob_ticket.get_by_test_id("open").click()
    alice_ticket.get_by_test_id("open").click()
    expect(alice.get_by_test_id("card-summary")).to_contain_text(marker)
    alice.get_by_test_id("claim").click()
    expect(alice.get_by_test_id("card-status")).to_contain_text("alice")
    bob.get_by_test_id("claim").click()
    expect(bob.get_by_test_id("problem")).to_contain_text("held by alice")

    # Alice's reply appears in the customer's widget.
    alice.get_by_test_id("reply").fill("Hi, I'm Alice. What happened to your kettle?")
    alice.get_by_test_id("send-reply").click()
    expect(customer.get_by_test_id("agent")).to_contain_text("What happened to your kettle?")
    expect(customer.get_by_test_id("note").filter(has_text="alice")).to_be_visible()

    # The customer's next message reaches Alice, and the bot stays silent.
    bots_before = customer.get_by_test_id("bot").count()
    customer.get_by_test_id("message").fill(f"It stopped heating after two days {marker}")
    customer.get_by_test_id("send").click()
    expect(alice.get_by_test_id("line-user").filter(has_text="stopped heating")).to_be_visible()
    expect(customer.get_by_test_id("send")).to_be_enabled()
    assert customer.get_by_test_id("bot").count() == bots_before

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    customer.screenshot(path=str(SCREENSHOTS / "widget-with-agent.png"), full_page=True)
    alice.screenshot(path=str(SCREENSHOTS / "workbench-claimed.png"), full_page=True)
    bob.screenshot(path=str(SCREENSHOTS / "workbench-refused.png"), full_page=True)

    # Resolving returns the session to the bot.
    alice.get_by_test_id("resolve").click()
    expect(customer.get_by_test_id("note").filter(has_text="left the conversation")).to_be_visible()
    customer.get_by_test_id("message").fill("How long does standard shipping take?")
    customer.get_by_test_id("send").click()
    answer = customer.get_by_test_id("bot").last
    expect(answer).to_contain_text("Shipping Guide")
    expect(answer.get_by_test_id("sources")).to_contain_text("ShippingGuide.md")
    customer.screenshot(path=str(SCREENSHOTS / "widget-back-to-bot.png"), full_page=True)
