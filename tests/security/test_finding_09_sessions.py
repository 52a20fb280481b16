"""Finding 9: console sessions outlived what should end them.

The attacks: (1) an advocate walks away from a console left open on the queue or a
conversation; its background polling (every 5 s) counted as use, so the session never went
idle and whoever sat down within 12 hours had the console, survivors' words on screen.
(2) An advocate leaves, or a password leaks: the operator runs `navigator advocates disable`
(which said "their console sessions have ended") or `set-password`, but a session opened
before stayed good: after a new password at once, after a disable as soon as the account was
enabled again.

What must happen: only what the advocate does restarts the idle clock, so after `idle` with
nothing but polling the next poll is refused (401) and the page goes to sign-in; a disable or a
new password ends every open session of the account, for good.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess

import pytest
from sqlalchemy import select

from console.accounts import Advocate
from console.sessions import AdvocateSession
from conversations.handoffs import open_handoff
from infra.config import ROOT
from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NAVIGATOR,
    PASSWORD,
    Browser,
    console_with_advocates,
    require_chromium,
)

IDLE_MINUTES = 30  # the default CONSOLE_SESSION_IDLE_MINUTES
NEW_PASSWORD = "a brand new long password"


@pytest.fixture(scope="module")
def console(tmp_path_factory, rasa):
    process = console_with_advocates(tmp_path_factory.mktemp("sessions"), rasa, ("ana", "ben", "cleo", "dev", "eve"),
                                     HANDOFF_UNCLAIMED_MINUTES="600")
    with process.session() as session:
        process.handoff_id = open_handoff(session, "conv-sessions", "rest", "emergency", "danger").id
    yield process
    process.stop()


def time_passes(console, name: str, minutes: float) -> None:
    """`minutes` go by for the sessions of advocate `name`: they started, and were last used, that much earlier."""
    earlier = dt.timedelta(minutes=minutes)
    with console.session() as session:
        advocate_id = session.execute(select(Advocate.id).where(Advocate.name == name)).scalar_one()
        for row in session.execute(select(AdvocateSession).where(AdvocateSession.advocate_id == advocate_id)).scalars():
            row.created_at, row.last_seen_at = row.created_at - earlier, row.last_seen_at - earlier


def signed_in(console, name: str) -> Browser:
    browser = Browser(console.base)
    assert browser.sign_in(name)[0] == 303 and browser.get("/")[0] == 200
    return browser


def cli(console, *args: str, password: str = "") -> str:
    result = subprocess.run([NAVIGATOR, *args], cwd=ROOT, env={**os.environ, "DATABASE_URL": console.url},
                            input=password + "\n", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_polling_alone_does_not_keep_an_idle_session_alive(console):
    ana = signed_in(console, "ana")
    transcript = f"/handoffs/{console.handoff_id}/transcript.json"
    answers = []
    for _ in range(3):  # 10 minutes at a time, the page polling all along
        time_passes(console, "ana", IDLE_MINUTES / 3)
        answers.append((ana.json("/queue.json")[0], ana.json(transcript)[0]))
    assert answers == [(200, 200), (200, 200), (401, 401)]
    assert ana.get("/")[0] == 303 and ana.headers["Location"].startswith("/login")


def test_what_the_advocate_does_keeps_the_session_alive(console):
    eve = signed_in(console, "eve")
    time_passes(console, "eve", IDLE_MINUTES * 2 / 3)
    assert eve.get("/")[0] == 200  # a page the advocate opened
    time_passes(console, "eve", IDLE_MINUTES * 2 / 3)
    status, _ = eve.request("GET", "/queue.json", headers={"X-Console-Activity": "1"})  # typed since the last poll
    assert status == 200
    time_passes(console, "eve", IDLE_MINUTES * 2 / 3)
    assert eve.json("/queue.json")[0] == 200


def test_disabling_an_advocate_ends_their_open_sessions_for_good(console):
    desk, phone = signed_in(console, "ben"), signed_in(console, "ben")
    assert "their console sessions have ended" in cli(console, "advocates", "disable", "ben")
    assert desk.get("/")[0] == 303  # its next request is signed out
    cli(console, "advocates", "enable", "ben")
    assert phone.get("/")[0] == 303 and phone.json("/queue.json")[0] == 401  # enabled again: still ended
    assert signed_in(console, "ben")  # a new sign-in works


def test_a_new_password_ends_every_open_session_of_the_account(console):
    desk, phone = signed_in(console, "cleo"), signed_in(console, "cleo")
    said = cli(console, "advocates", "set-password", "cleo", "--password-stdin", password=NEW_PASSWORD)
    assert "their console sessions have ended" in said
    assert desk.get("/")[0] == 303 and phone.json("/queue.json")[0] == 401
    assert Browser(console.base).sign_in("cleo")[0] == 401  # the old password is no good either
    assert Browser(console.base).sign_in("cleo", NEW_PASSWORD)[0] == 303
    with console.session() as session:  # nothing of the ended sessions is left after that sign-in
        cleo = session.execute(select(Advocate.id).where(Advocate.name == "cleo")).scalar_one()
        assert session.query(AdvocateSession).filter_by(advocate_id=cleo).count() == 1


def test_an_idle_page_in_a_browser_goes_to_sign_in(console):
    from playwright import sync_api as playwright

    require_chromium()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{console.base}/handoffs/{console.handoff_id}")
        page.fill("#name", "dev")
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{console.base}/handoffs/{console.handoff_id}")
        page.get_by_text("No messages yet.").wait_for()
        time_passes(console, "dev", IDLE_MINUTES + 1)  # nobody touched the page; it kept polling
        page.wait_for_url(re.compile(rf"/login\?next=%2Fhandoffs%2F{console.handoff_id}$"), timeout=20000)
        assert page.get_by_role("button", name=re.compile("Sign in")).is_visible()
        assert page.get_by_text("No messages yet.").count() == 0  # the conversation is off the screen
        browser.close()
    assert errors == []
