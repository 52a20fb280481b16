"""The web chat in a real browser: Debian's Chromium, driven by Playwright, on the demo page of a
running navigator. What a survivor does and sees: ask and read the results, leave with the quick
exit (no trace left in the browser), get an advocate's reply without reloading, keep the chat
through a dropped connection, and do all of it with the keyboard alone."""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright import sync_api as playwright_api

from tests.channels.tcp_proxy import DroppableNetwork
from tests.helpers import http

pytestmark = pytest.mark.e2e
expect = playwright_api.expect

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags this machine's closed network refuses Chromium's background calls.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SESSION_KEY = "navigator-webchat-session"
ANSWER_TIMEOUT_MS = 30_000
EXIT_NAME = re.compile("exit", re.I)


@pytest.fixture(scope="module")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run does it on CI)")
    with playwright_api.sync_playwright() as driver:
        yield driver


@pytest.fixture
def context(playwright, tmp_path):
    """A fresh browser with a new, empty profile (--user-data-dir) for each test."""
    profile = tmp_path / "profile"
    profile.mkdir()
    browser = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
        viewport={"width": 1280, "height": 800})
    yield browser
    browser.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(context, channel_stack):
    """The demo page, with every request and every CSP complaint it makes recorded."""
    page = context.pages[0] if context.pages else context.new_page()
    page.requested_hosts = set()
    page.csp_violations = []
    page.on("request", lambda request: page.requested_hosts.add(urlsplit(request.url).netloc))
    page.on("console", lambda message: page.csp_violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(channel_stack.rasa + "/webchat/demo")
    return page


def message_box(page):
    return page.get_by_role("textbox", name="Type your message")


def conversation(page):
    return page.get_by_role("log")


def ask(page, words: str) -> None:
    message_box(page).fill(words)
    message_box(page).press("Enter")


def screenshot(page, name: str) -> None:
    """Kept for the docs when NAVIGATOR_SCREENSHOTS names a folder (docs/screenshots)."""
    folder = os.environ.get("NAVIGATOR_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name))


def advocate_says(stack, conversation_id: str, words: str) -> None:
    status, body = http("POST", f"{stack.rasa}/conversations/{quote(conversation_id)}/tracker/events"
                        f"?output_channel=latest&execute_side_effects=true&token={stack.rasa_api_token}",
                        {"event": "bot", "text": words})
    assert status == 200, body


def test_type_a_request_and_see_the_nearest_services(page, channel_stack):
    ask(page, "I need a shelter in Boise")
    expect(conversation(page)).to_contain_text("Foothills Quiet House", timeout=ANSWER_TIMEOUT_MS)
    expect(conversation(page)).to_contain_text("(555) 0100-1000")
    expect(conversation(page)).not_to_contain_text("Old Boise Shelter")
    expect(page.get_by_role("link", name="(555) 0100-1000").first).to_have_attribute("href", "tel:55501001000")
    more = page.get_by_role("button", name="More")
    if more.count():  # options are real buttons, and one answers for the person
        more.first.click()
        expect(conversation(page)).to_contain_text("Table Rock Family Shelter", timeout=ANSWER_TIMEOUT_MS)
    screenshot(page, "webchat-demo.png")
    assert page.requested_hosts == {urlsplit(channel_stack.rasa).netloc}  # nothing from another host
    assert page.csp_violations == []


def test_quick_exit_replaces_the_page_and_leaves_no_trace(page, channel_stack, twilio):
    ask(page, "I need legal help in Omaha, NE")
    expect(conversation(page)).to_contain_text("Old Market Survivor Law", timeout=ANSWER_TIMEOUT_MS)
    assert page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    page.get_by_role("button", name=EXIT_NAME).click()
    page.wait_for_url(twilio.url + "/neutral")
    page.go_back()
    assert "/webchat/demo" not in page.url  # Back does not return to the chat
    page.goto(channel_stack.rasa + "/webchat/widget.css")  # the chat's origin, in the same tab, no script
    left = page.evaluate("[sessionStorage.length, localStorage.length, document.cookie]")
    assert left == [0, 0, ""] and page.context.cookies() == []
    page.goto(channel_stack.rasa + "/webchat/demo")
    expect(conversation(page)).not_to_contain_text("Old Market Survivor Law")


def test_an_advocates_reply_appears_without_a_reload(page, channel_stack):
    ask(page, "I want to talk to a person")
    expect(conversation(page)).to_contain_text("advocate", timeout=ANSWER_TIMEOUT_MS)
    page.evaluate("window.notReloaded = true")
    session = page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    advocate_says(channel_stack, session, "Hi, I'm Sam, an advocate. I'm here with you.")
    expect(conversation(page)).to_contain_text("I'm Sam, an advocate", timeout=5_000)
    assert page.evaluate("window.notReloaded") is True


def test_a_dropped_connection_loses_nothing(context, channel_stack):
    network = DroppableNetwork(channel_stack.ports["RASA_PORT"])
    try:
        page = context.new_page()
        page.goto(network.url + "/webchat/demo")
        ask(page, "I want to talk to a person")
        expect(conversation(page)).to_contain_text("advocate", timeout=ANSWER_TIMEOUT_MS)
        session = page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
        network.drop()
        expect(page.get_by_role("status")).to_contain_text("Trying again", timeout=10_000)
        advocate_says(channel_stack, session, "Sam here. Text me when you can.")  # while the tab is cut off
        ask(page, "I need legal help in Omaha, NE")  # typed while cut off
        time.sleep(1)
        network.restore()
        expect(conversation(page)).to_contain_text("Sam here. Text me when you can.", timeout=20_000)
        expect(conversation(page)).to_contain_text("Old Market Survivor Law", timeout=ANSWER_TIMEOUT_MS)
        expect(page.get_by_role("status")).to_have_text("")
        assert conversation(page).inner_text().count("Sam here.") == 1
        assert conversation(page).inner_text().count("I need legal help in Omaha, NE") == 1
        page.reload()  # the same tab keeps its conversation (only its id is stored, for this tab)
        expect(conversation(page)).to_contain_text("Old Market Survivor Law", timeout=10_000)
        expect(conversation(page)).to_contain_text("Sam here.")
        # A device that goes offline is noticed at once, and the chat comes back with it.
        context.set_offline(True)
        expect(page.get_by_role("status")).to_contain_text("Trying again", timeout=5_000)
        context.set_offline(False)
        expect(page.get_by_role("status")).to_have_text("", timeout=10_000)
    finally:
        network.close()


def test_keyboard_alone_can_open_ask_read_and_leave(page, twilio):
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").lower().find("exit") >= 0  # the first stop
    for _ in range(20):
        if page.evaluate("document.activeElement.id") == "nvc-input":
            break
        page.keyboard.press("Tab")
    expect(message_box(page)).to_be_focused()
    page.keyboard.type("I need a shelter in Boise")
    page.keyboard.press("Enter")
    expect(conversation(page)).to_contain_text("Foothills Quiet House", timeout=ANSWER_TIMEOUT_MS)
    # The services arrive one message each; the options come with the last one.
    expect(page.get_by_role("button", name="Talk to a person")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    page.keyboard.press("Shift+Tab")  # back into the answer's options; Enter picks one
    expect(page.locator(":focus")).to_have_text("Talk to a person")
    page.keyboard.press("Enter")
    expect(conversation(page)).to_contain_text("human advocate", timeout=ANSWER_TIMEOUT_MS)
    expect(message_box(page)).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(twilio.url + "/neutral")


def test_fits_a_small_phone_screen(context, channel_stack):
    phone = context.new_page()
    phone.set_viewport_size({"width": 360, "height": 640})
    phone.goto(channel_stack.rasa + "/webchat/demo")
    box, exit_box = message_box(phone).bounding_box(), phone.get_by_role("button", name=EXIT_NAME).bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= 360 and box["y"] + box["height"] <= 640
    assert exit_box["y"] >= 0 and exit_box["y"] + exit_box["height"] <= box["y"]  # never covered by the chat
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    message_box(phone).fill("I need a shelter in Boise")
    message_box(phone).press("Enter")
    expect(conversation(phone)).to_contain_text("Foothills Quiet House", timeout=ANSWER_TIMEOUT_MS)
    screenshot(phone, "webchat-demo-phone.png")
