"""The web chat in a real browser: Debian's Chromium, driven by Playwright, on the demo page of a
running navigator. What a survivor does and sees: ask and read the results, leave with the quick
exit (no trace left in the browser), get an advocate's reply without reloading, labelled as a
person's, keep the chat through a dropped connection, erase the chat from the navigator's records,
and do all of it with the keyboard alone."""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import yaml
from playwright import sync_api as playwright_api

from infra.config import ROOT
from tests.channels.tcp_proxy import DroppableNetwork
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, http, require_chromium

pytestmark = pytest.mark.e2e
expect = playwright_api.expect

SESSION_KEY = "navigator-webchat-session"
SECRET_KEY = "navigator-webchat-secret"
ANSWER_TIMEOUT_MS = 30_000
EXIT_NAME = re.compile("exit", re.I)
RESPONSES = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]
ADVOCATE_NAME = "sam"  # the advocate's account: the console's, never the survivor's page's


def words(name: str) -> str:
    return RESPONSES[name][0]["text"]


@pytest.fixture(scope="module")
def playwright():
    require_chromium()
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
    page.socket_frames = []  # what the server sent the widget
    page.on("websocket", lambda socket: socket.on(
        "framereceived", lambda payload: page.socket_frames.append(payload if isinstance(payload, str) else "")))
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


def advocate_says(stack, conversation_id: str, text: str) -> None:
    """As the console sends it (console/rasa_api.py `say_as_advocate`): the advocate's account in
    the event's metadata."""
    status, body = http("POST", f"{stack.rasa}/conversations/{quote(conversation_id)}/tracker/events"
                        f"?output_channel=latest&execute_side_effects=true",
                        {"event": "bot", "text": text, "metadata": {"advocate": ADVOCATE_NAME}},
                        headers=stack.rasa_api_headers())
    assert status == 200, body


def tracker_texts(stack, conversation_id: str):
    """What the person and the bot said in the conversation, every session of it, as Rasa keeps it."""
    status, tracker = http("GET", f"{stack.rasa}/conversations/{quote(conversation_id)}/tracker"
                           f"?include_events=ALL", headers=stack.rasa_api_headers())
    assert status == 200, tracker
    return [event.get("text") or "" for event in tracker["events"] if event.get("event") in ("user", "bot")]


def tab_to(page, name: str, most: int = 20) -> None:
    """Press Tab until the button called `name` has the focus."""
    for _ in range(most):
        if page.evaluate("document.activeElement.textContent") == name:
            break
        page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=name, exact=True)).to_be_focused()


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


def test_only_the_tab_that_holds_the_secret_gets_the_chat_back(page, context, channel_stack):
    """The id is shown to advocates and in logs; a browser that has only the id gets an empty chat."""
    ask(page, "I need legal help in Omaha, NE")
    expect(conversation(page)).to_contain_text("Old Market Survivor Law", timeout=ANSWER_TIMEOUT_MS)
    session = page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    assert len(page.evaluate(f"sessionStorage.getItem('{SECRET_KEY}')") or "") >= 43
    page.reload()  # the survivor's own tab: back with its conversation
    expect(conversation(page)).to_contain_text("Old Market Survivor Law", timeout=10_000)

    other = context.new_page()  # another tab, told the id only (as /api/handoffs shows it)
    other.goto(channel_stack.rasa + "/webchat/widget.css")
    other.evaluate(f"sessionStorage.setItem('{SESSION_KEY}', '{session}')")
    other.goto(channel_stack.rasa + "/webchat/demo")
    expect(other.get_by_role("status")).to_have_text("", timeout=10_000)  # connected: the session frame came
    assert other.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") not in (session, None)  # a new one
    ask(other, "hello")  # its answer comes after any history the server sent this tab
    expect(conversation(other).locator(".nvc-from-bot:not(.nvc-welcome)").first).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS)
    expect(conversation(other)).not_to_contain_text("legal help in Omaha")
    expect(conversation(other)).not_to_contain_text("Old Market Survivor Law")


def test_an_advocates_reply_appears_without_a_reload_labelled_as_a_persons(page, channel_stack):
    ask(page, "I want to talk to a person")
    expect(conversation(page)).to_contain_text("advocate", timeout=ANSWER_TIMEOUT_MS)
    page.evaluate("window.notReloaded = true")
    session = page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    reply = "Hi, I'm an advocate. I'm here with you."
    advocate_says(channel_stack, session, reply)
    advocate_label, helper_label = words("utter_part_webchat_advocate"), words("utter_part_webchat_helper")

    def the_reply_is_labelled_as_an_advocates():
        message = conversation(page).locator(".nvc-message", has_text=reply)
        expect(message).to_have_count(1, timeout=5_000)
        expect(message).to_contain_text(advocate_label)
        expect(message).not_to_contain_text(helper_label)
        expect(message.get_by_text(advocate_label)).to_be_visible()  # seen, not only heard
        # A visibly different style from the bot's own messages.
        bot = conversation(page).locator(".nvc-message", has_text=helper_label).first
        style = "e => getComputedStyle(e).backgroundColor + ' ' + getComputedStyle(e).borderLeftWidth"
        assert message.evaluate(style) != bot.evaluate(style)
        assert conversation(page).get_by_text(advocate_label).count() == 1  # only the advocate's message
        assert not re.search(rf"\b{ADVOCATE_NAME}\b", page.content(), re.I)  # not who the advocate is

    the_reply_is_labelled_as_an_advocates()
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "webchat-advocate.png")
    page.reload()  # and in the history the widget gets back
    expect(conversation(page)).to_contain_text(reply, timeout=10_000)
    the_reply_is_labelled_as_an_advocates()
    assert page.socket_frames and not any(re.search(rf"\b{ADVOCATE_NAME}\b", frame, re.I)
                                          for frame in page.socket_frames)


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


def test_erase_by_keyboard_asks_first_and_then_erases_the_chat_for_good(page, channel_stack):
    erase, question = words("utter_part_webchat_erase"), words("utter_part_webchat_erase_question")
    yes, no = words("utter_part_webchat_erase_yes"), words("utter_part_webchat_erase_no")
    ask(page, "I need legal help in Omaha, NE")
    expect(conversation(page)).to_contain_text("Old Market Survivor Law", timeout=ANSWER_TIMEOUT_MS)
    session = page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    page.keyboard.press("Tab")
    tab_to(page, erase)
    confirm = page.get_by_role("alertdialog", name=question)
    expect(confirm).to_be_hidden()
    page.keyboard.press("Enter")
    expect(confirm).to_be_visible()  # in the chat: no browser pop-up to answer
    expect(confirm.get_by_role("button", name=no, exact=True)).to_be_focused()  # the safe answer first
    screenshot(page, "webchat-erase.png")
    page.keyboard.press("Enter")  # Keep
    expect(confirm).to_be_hidden()
    expect(page.get_by_role("button", name=erase, exact=True)).to_be_focused()
    expect(conversation(page)).to_contain_text("Old Market Survivor Law")
    assert page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") == session
    assert any("Old Market Survivor Law" in text for text in tracker_texts(channel_stack, session))

    page.keyboard.press("Enter")
    expect(confirm).to_be_visible()
    page.keyboard.press("Shift+Tab")
    expect(confirm.get_by_role("button", name=yes, exact=True)).to_be_focused()
    page.keyboard.press("Enter")  # Erase
    expect(conversation(page)).to_contain_text(words("utter_part_webchat_erased"), timeout=10_000)
    expect(conversation(page)).not_to_contain_text("Old Market Survivor Law")
    expect(conversation(page)).not_to_contain_text("legal help in Omaha")
    expect(confirm).to_be_hidden()
    texts = tracker_texts(channel_stack, session)
    assert not any("Old Market Survivor Law" in text or "legal help in Omaha" in text for text in texts)
    expect(page.get_by_role("status")).to_have_text("", timeout=10_000)  # a new conversation is ready
    new_session = page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    assert new_session != session

    page.reload()
    expect(page.get_by_role("status")).to_have_text("", timeout=10_000)
    time.sleep(1)  # the history comes right after the session
    expect(conversation(page)).not_to_contain_text("Old Market Survivor Law")
    assert conversation(page).locator(".nvc-message:not(.nvc-welcome)").count() == 0  # an empty chat
    ask(page, "I need legal help in Omaha, NE")  # and it goes on, as a new conversation
    expect(conversation(page)).to_contain_text("Old Market Survivor Law", timeout=ANSWER_TIMEOUT_MS)
    assert page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") == new_session


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
