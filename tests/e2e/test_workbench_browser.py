"""The hand-over as people see it: a customer on the widget and two agents on the workbench,
in real headless Chromium (Debian's, driven by Playwright), over the distributed stack.

Both pages run under their Content-Security-Policy here, and any violation (or uncaught error)
fails the test. Screenshots of both pages are saved to ``artifacts/screenshots/`` (not
committed).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ALICE_KEY, API_KEY, BOB_KEY, issue_key
from tests.support.services import missing
from tests.support.stack import REPO, Stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / "artifacts" / "screenshots"
# How Chromium reports a blocked script, style or HTML-string sink on the console.
VIOLATIONS = ("Content Security Policy", "requires 'Trusted")
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
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _watched_page(browser: Any, problems: list[str]) -> Any:
    """A fresh page whose CSP violations and uncaught errors are added to ``problems``."""
    page = browser.new_context().new_page()

    def on_console(message: Any) -> None:
        if message.type == "error" and any(v in message.text for v in VIOLATIONS):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return page


def _customer(browser: Any, gateway: str, problems: list[str]) -> Any:
    """The widget, with the key typed into its settings field as a customer's app would."""
    page = _watched_page(browser, problems)
    page.goto(f"{gateway}/widget")
    page.get_by_text("Connection settings", exact=True).click()
    page.get_by_test_id("api-key").fill(API_KEY)
    return page


def _sign_in(browser: Any, gateway: str, key: str, problems: list[str]) -> Any:
    page = _watched_page(browser, problems)
    page.goto(f"{gateway}/workbench")
    page.get_by_test_id("agent-key").fill(key)
    page.get_by_test_id("sign-in").click()
    return page


def test_hand_over_to_an_agent_and_back_in_the_browser(stack: Stack, browser: object) -> None:
    from playwright.sync_api import expect

    gateway = stack.of("gateway")[0].url
    marker = uuid.uuid4().hex[:6]
    problems: list[str] = []
    customer = _customer(browser, gateway, problems)
    alice = _sign_in(browser, gateway, ALICE_KEY, problems)
    bob = _sign_in(browser, gateway, BOB_KEY, problems)

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
    # Alice may turn the exchange into an FAQ draft, prefilled and editable.
    expect(alice.get_by_test_id("draft-question")).to_have_value(re.compile(marker))
    expect(alice.get_by_test_id("draft-answer")).to_have_value(re.compile("your kettle"))
    alice.get_by_test_id("draft-answer").fill("Kettles that stop heating are replaced free.")
    alice.get_by_test_id("save-draft").click()
    expect(alice.get_by_test_id("draft-status")).to_contain_text("Saved as draft-")
    alice.screenshot(path=str(SCREENSHOTS / "workbench-draft.png"), full_page=True)
    # The customer may score the agent, and rate the bot's answers.
    score = customer.get_by_test_id("csat")
    expect(score).to_contain_text("How did alice do?")
    score.get_by_label("4 out of 5").click()
    expect(score).to_contain_text("Thank you")
    customer.get_by_test_id("message").fill("How long does standard shipping take?")
    customer.get_by_test_id("send").click()
    answer = customer.get_by_test_id("bot").last
    expect(answer).to_contain_text("Shipping Guide")
    expect(answer.get_by_test_id("sources")).to_contain_text("ShippingGuide.md")
    answer.get_by_test_id("rate-up").click()
    expect(answer.get_by_test_id("rate-up")).to_have_attribute("aria-pressed", "true")
    answer.get_by_test_id("rate-down").click()  # changed their mind
    expect(answer.get_by_test_id("rate-down")).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_test_id("rate-up")).to_have_attribute("aria-pressed", "false")
    customer.screenshot(path=str(SCREENSHOTS / "widget-back-to-bot.png"), full_page=True)
    assert problems == []  # everything above ran under the pages' CSP, with no violation


def test_a_support_lead_reads_the_outcomes_page(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    gateway = stack.of("gateway")[0].url
    tenant = f"outcomes-{uuid.uuid4().hex[:6]}"
    admin = {"X-API-Key": issue_key(stack, tenant, "admin")}
    page_text = b"# Gift wrapping\n\nGift wrapping costs $4 per item at checkout."
    uploaded = httpx.post(
        f"{gateway}/api/v1/knowledge-bases/default/documents",
        files={"file": ("Gifts.md", page_text)},
        headers=admin,
        timeout=60,
    )
    assert uploaded.status_code == 201, uploaded.text
    asked = [
        "How much does gift wrapping cost?",
        "Do you offer engraving on watches?",
        "do you offer ENGRAVING on watches",
        "I want to talk to a human agent",
    ]
    for question in asked:
        answer = httpx.post(
            f"{gateway}/api/v1/chat", json={"message": question}, headers=admin, timeout=30
        )
        assert answer.status_code == 200, answer.text

    drafted = httpx.post(
        f"{gateway}/api/v1/knowledge-bases/default/drafts",
        json={"question": asked[1], "answer": "Yes, for $10."},
        headers=admin,
        timeout=30,
    )
    assert drafted.status_code == 201, drafted.text

    problems: list[str] = []
    page = _watched_page(browser, problems)
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(f"{gateway}/workbench/analytics")
    page.get_by_test_id("admin-key").fill(admin["X-API-Key"])
    page.get_by_test_id("load").click()
    expect(page.get_by_test_id("figure-Conversations")).to_have_text("4")
    expect(page.get_by_test_id("figure-Containment")).to_have_text("75%")
    expect(page.get_by_test_id("figure-Handed to agents")).to_have_text("1")
    gap = page.get_by_test_id("gap").first
    expect(gap).to_contain_text("Do you offer engraving on watches?")
    expect(gap.locator("td.count")).to_have_text("2")
    expect(gap).to_contain_text("draft")  # the gap links its draft
    assert page.locator("#chart rect").count() == 1  # today's one hand-off
    assert page.locator("#chart circle").count() == 1  # today's containment
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "workbench-outcomes.png"), full_page=True)

    # The lead rewords the draft and publishes it; the bot answers from it from now on.
    draft = page.get_by_test_id("draft").first
    draft.get_by_label("Answer").fill("Yes: watch engraving costs $10 and takes 3 days.")
    draft.get_by_test_id("publish").click()
    expect(page.get_by_test_id("draft").first).to_contain_text("Published as FAQ-")
    expect(page.get_by_test_id("gap").first).to_contain_text("published")
    answer = httpx.post(
        f"{gateway}/api/v1/chat", json={"message": asked[1]}, headers=admin, timeout=30
    ).json()
    assert "$10" in answer["reply"] and answer["data"]["sources"][0].startswith("FAQ-")

    page.get_by_test_id("admin-key").fill(ALICE_KEY)  # an agent's key reads no figures
    page.get_by_test_id("load").click()
    expect(page.get_by_test_id("problem")).to_contain_text("admin")
    assert problems == []


def test_the_pages_are_served_with_a_strict_policy(stack: Stack) -> None:
    gateway = stack.of("gateway")[0].url
    for page in ("/widget", "/workbench", "/workbench/analytics"):
        headers = httpx.get(f"{gateway}{page}", timeout=10).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe" not in policy and "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    script = httpx.get(f"{gateway}/web/widget.js", timeout=10)
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{gateway}/web/..%2Fpages.py", timeout=10).status_code == 404


def test_the_widget_ignores_a_key_in_its_address(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    gateway = stack.of("gateway")[0].url
    problems: list[str] = []
    page = _watched_page(browser, problems)
    page.goto(f"{gateway}/widget?key={API_KEY}")
    expect(page.get_by_test_id("note")).to_contain_text("not read from the address")
    assert "key=" not in page.url  # gone from the address bar and the history entry
    page.get_by_test_id("message").fill("How long does standard shipping take?")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("note").last).to_contain_text("Invalid or missing API key")
    page.get_by_text("Connection settings", exact=True).click()
    page.get_by_test_id("api-key").fill(API_KEY)
    page.get_by_test_id("message").fill("How long does standard shipping take?")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("bot").last).to_contain_text("Shipping Guide")
    assert problems == []


def test_injected_code_does_not_run_and_other_sites_cannot_frame_the_pages(
    stack: Stack, browser: Any
) -> None:
    gateway = stack.of("gateway")[0].url
    problems: list[str] = []
    page = _watched_page(browser, problems)
    page.goto(f"{gateway}/widget")
    ran = page.evaluate(
        """() => {
            try {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.body.append(script);
            } catch (refused) {}
            try {
                document.createElement("div").innerHTML = "<img src=x onerror=alert(1)>";
                return [window.injected === true, "markup accepted"];
            } catch (refused) {
                return [window.injected === true, refused.name];
            }
        }"""
    )
    assert ran == [False, "TypeError"]  # inline script blocked; HTML strings refused
    assert any("requires 'TrustedScript'" in p for p in problems)  # reported as violations

    for target in ("/widget", "/workbench"):
        framer = browser.new_context().new_page()
        framer.set_content(f'<iframe src="{gateway}{target}"></iframe>')
        framer.wait_for_load_state()
        # frame-ancestors 'none': the browser shows its own error page in the frame instead.
        assert framer.frames[-1].url.startswith("chrome-error://"), framer.frames[-1].url
