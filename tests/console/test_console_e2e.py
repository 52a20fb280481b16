"""The whole handoff with the real navigator (`navigator serve`): an emergency on the REST channel
opens a handoff; an advocate signs in, claims it, reads the transcript, replies (the reply is a
bot event in Rasa's tracker) and hands back (the bot answers again); then closes it.

A real browser (Debian's chromium through Playwright) then checks the pages work under their CSP
with a keyboard only, on a desk and on a phone, and takes the screenshots of docs/screenshots
(written there when SCREENSHOTS_DIR=docs/screenshots, else to a temporary folder).
"""
from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from infra.config import ROOT
from navigator.setup import model_path
from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NAVIGATOR,
    PASSWORD,
    Browser,
    Stack,
    http,
    require_chromium,
    wait_until,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    stack = Stack(tmp_path_factory.mktemp("console-stack"), env={"HANDOFF_UNCLAIMED_MINUTES": "600"})
    stack.start()
    created = stack.cli("tokens", "create", "e2e")
    assert created.returncode == 0, created.stderr
    stack.token = created.stdout.strip().splitlines()[-1]
    added = subprocess.run([NAVIGATOR, "advocates", "add", "maria", "--password-stdin"], cwd=ROOT, env=stack.env,
                           input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    yield stack
    stack.stop()


def tracker_events(stack, conversation):
    status, tracker = http("GET", f"{stack.rasa}/conversations/{conversation}/tracker", headers=stack.rasa_api_headers())
    assert status == 200
    return tracker["events"]


def handoff_of(stack, conversation):
    found = [h for h in stack.handoffs() if h["conversation_id"] == conversation]
    return found[0] if found else None


def test_emergency_claim_transcript_reply_hand_back_close(stack):
    conversation = f"+1555{uuid.uuid4().int % 10**7:07d}"  # shaped like a Twilio sender id
    stack.say(conversation, "I need a shelter")
    assert "911" in stack.say(conversation, "he has a gun and he's here")
    assert wait_until(lambda: handoff_of(stack, conversation), 2, interval=0.2)
    handoff = handoff_of(stack, conversation)
    assert handoff["priority"] == "emergency" and handoff["channel"] == "rest"
    number = handoff["id"]

    maria = Browser(stack.console)
    assert maria.sign_in("maria")[0] == 303
    status, queue = maria.get("/")
    assert status == 200 and f">#{number} ·" in queue and conversation not in queue

    status, page = maria.get(f"/handoffs/{number}")
    assert status == 200 and "he has a gun and he&#39;s here" in page and "call 911" in page
    assert maria.post(f"/handoffs/{number}/claim")[0] == 303
    assert any(e["event"] == "pause" for e in tracker_events(stack, conversation))

    # Paused: the bot is silent, but what the survivor sends is recorded and shown.
    assert stack.say(conversation, "are you there") == ""
    status, transcript = maria.json(f"/handoffs/{number}/transcript.json")
    assert ("survivor", "are you there") in [(line["who"], line["text"]) for line in transcript["lines"]]

    words = "I'm Maria, an advocate. I'm here with you now."
    assert maria.post(f"/handoffs/{number}/reply", {"text": words})[0] == 303
    bots = [e for e in tracker_events(stack, conversation) if e["event"] == "bot"]
    assert bots[-1]["text"] == words and bots[-1]["metadata"]["advocate"] == "maria"
    status, page = maria.get(f"/handoffs/{number}")
    assert "maria (advocate)" in page and "I&#39;m here with you now." in page

    assert maria.post(f"/handoffs/{number}/handback")[0] == 303
    events = tracker_events(stack, conversation)
    assert [e["event"] for e in events if e["event"] in ("pause", "resume")][-1] == "resume"
    assert "back with the automated helper" in [e for e in events if e["event"] == "bot"][-1]["text"]
    answer = stack.say(conversation, "I need legal help in Omaha, NE")
    assert answer and "Omaha" in answer  # the bot answers again

    assert maria.post(f"/handoffs/{number}/close", {"outcome": "connected"})[0] == 303
    status, row = http("GET", f"{stack.console}/api/handoffs/{number}",
                       headers={"Authorization": f"Bearer {stack.token}"})
    assert (row["status"], row["outcome"], row["claimed_by"]) == ("closed", "connected", "maria")
    status, audit = maria.get("/audit")
    for action in ("Signed in", "Opened the conversation", "Claimed", "Replied", "Handed back to the bot", "Closed"):
        assert action in audit


def test_in_a_browser_with_a_keyboard_only_on_desk_and_phone(stack, tmp_path):
    from playwright import sync_api as playwright

    require_chromium()
    shots = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    if not shots.is_absolute():
        shots = ROOT / shots
    shots.mkdir(parents=True, exist_ok=True)
    held = f"e2e-shot-{uuid.uuid4().hex[:6]}"
    stack.say(held, "he has a gun and he's here")
    stack.say(f"e2e-shot-{uuid.uuid4().hex[:6]}", "I want to talk to a person")
    waiting = f"e2e-shot-{uuid.uuid4().hex[:6]}"
    stack.say(waiting, "i want to kill myself")
    assert wait_until(lambda: handoff_of(stack, waiting) and handoff_of(stack, held), 5, interval=0.2)
    number = handoff_of(stack, held)["id"]

    with playwright.sync_playwright() as p:
        profile = tmp_path / "profile"  # empty user data: nothing from another run
        profile.mkdir()
        browser = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                       viewport={"width": 1100, "height": 800})
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(f"{stack.console}/")
        assert page.url.endswith("/login?next=/")
        assert page.evaluate("document.activeElement.id") == "name"  # the name field has the focus at once
        page.keyboard.type("maria")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{stack.console}/")
        assert page.get_by_role("heading", name=re.compile("Waiting for an advocate")).is_visible()

        # The queue updates itself: a new emergency appears without a reload.
        late = f"e2e-shot-{uuid.uuid4().hex[:6]}"
        stack.say(late, "he has a gun and he's here")
        assert wait_until(lambda: handoff_of(stack, late), 5, interval=0.2)
        late_number = handoff_of(stack, late)["id"]
        page.get_by_role("link", name=re.compile(rf"#{late_number} ")).wait_for(timeout=15000)

        page.goto(f"{stack.console}/handoffs/{number}")
        page.get_by_role("button", name=re.compile("Claim")).focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"done=claimed"))
        page.get_by_label(re.compile("Your reply")).fill("I'm Maria, an advocate. Are you somewhere safe right now?")
        page.get_by_role("button", name="Send").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"done=replied"))
        stack.say(held, "yes I'm at my sister's house")
        page.get_by_text("yes I'm at my sister's house").wait_for(timeout=15000)  # the transcript updates itself
        page.screenshot(path=str(shots / "console-transcript.png"), full_page=True)

        page.goto(f"{stack.console}/")
        page.get_by_role("link", name=re.compile(rf"#{late_number} ")).wait_for()
        page.screenshot(path=str(shots / "console-queue.png"), full_page=True)

        phone = browser.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(f"{stack.console}/")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the screen
        phone.screenshot(path=str(shots / "console-queue-phone.png"), full_page=True)
        browser.close()
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not problems, problems
