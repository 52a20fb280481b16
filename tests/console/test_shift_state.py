"""The queue tells advocates whether anyone is on shift (conversations/shifts.py), and so what
survivors who write now are told: on shift until when, off shift until when (and whether their
requests wait or are not kept), staffed 24/7, or never staffed. On the page and in /queue.json,
which the page's script uses to keep the line up to date."""
from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

import pytest

from console.accounts import add_advocate
from console.render import shift_status
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Browser, ConsoleProcess, require_chromium

ZONE = "America/Chicago"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
UTC = dt.timezone.utc


def clock(moment: dt.datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'PM' if moment.hour >= 12 else 'AM'}"


def hours_around(start: dt.datetime, end: dt.datetime) -> str:
    """STAFFED_HOURS for one shift from `start` to `end` (local, less than a day apart)."""
    return f"{DAYS[start.weekday()]} {start:%H:%M}-{end:%H:%M}"


@pytest.fixture(scope="module")
def start_console(tmp_path_factory, rasa):
    started = []

    def start(**env: str) -> Browser:
        console = ConsoleProcess(tmp_path_factory.mktemp("shifts"), rasa, HANDOFF_UNCLAIMED_MINUTES="600", **env)
        started.append(console)
        with console.session() as session:
            add_advocate(session, "maria", PASSWORD)
        browser = Browser(console.base)
        assert browser.sign_in("maria")[0] == 303
        return browser

    yield start
    for console in started:
        console.stop()


def shown(browser: Browser) -> tuple[str, dict]:
    """The line on the queue page, and the shift of /queue.json."""
    status, page = browser.get("/")
    assert status == 200
    line = page.split('id="shift-state"', 1)[1].split(">", 1)[1].split("</p>", 1)[0]
    status, queue = browser.json("/queue.json")
    assert status == 200
    return html.unescape(line), queue["shift"]


def test_on_shift_the_queue_says_until_when(start_console):
    now = dt.datetime.now(ZoneInfo(ZONE)).replace(second=0, microsecond=0)
    start, end = now - dt.timedelta(hours=3), now + dt.timedelta(hours=3)
    browser = start_console(STAFFED_HOURS=hours_around(start, end), STAFFED_TIMEZONE=ZONE)
    day = "" if end.date() == now.date() else DAYS[end.weekday()] + " "
    expected = f"On shift until {day}{clock(end)} (America/Chicago)"
    assert shown(browser) == (expected, {"state": "on", "text": expected})


def test_off_shift_the_queue_says_when_the_next_shift_starts_and_that_requests_are_not_kept(start_console):
    now = dt.datetime.now(ZoneInfo(ZONE)).replace(second=0, microsecond=0)
    start, end = now - dt.timedelta(hours=3), now - dt.timedelta(hours=2)  # it ended: next week's is next
    browser = start_console(STAFFED_HOURS=hours_around(start, end), STAFFED_TIMEZONE=ZONE, AFTER_HOURS_HANDOFFS="drop")
    expected = (f"Off shift. The next shift starts {DAYS[start.weekday()]} {clock(start)} (America/Chicago). "
                "Survivors who write now are told nobody is on shift, given the 24/7 lines, and their requests "
                "are not kept (emergencies always are).")
    line, shift = shown(browser)
    assert line == expected and shift == {"state": "off", "text": expected}


def test_never_staffed_and_the_default_24_7(start_console):
    assert shown(start_console(STAFFED_HOURS="never")) == (
        "Never staffed: every handoff waits for review",
        {"state": "never", "text": "Never staffed: every handoff waits for review"})
    assert shown(start_console()) == ("Staffed 24/7", {"state": "always", "text": "Staffed 24/7"})


# --- the wording, at fixed moments, without a process ----------------------------------------

@pytest.fixture
def staffed(monkeypatch):
    for name in ("STAFFED_HOURS", "STAFFED_TIMEZONE", "AFTER_HOURS_HANDOFFS"):
        monkeypatch.delenv(name, raising=False)

    def set_hours(hours: str, zone: str = ZONE, after_hours: str = "") -> None:
        monkeypatch.setenv("STAFFED_HOURS", hours)
        monkeypatch.setenv("STAFFED_TIMEZONE", zone)
        monkeypatch.setenv("AFTER_HOURS_HANDOFFS", after_hours)
    return set_hours


def chicago(text: str) -> dt.datetime:
    """A naive UTC time, as the console's clock gives it, for a Chicago wall-clock time."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(ZONE)).astimezone(UTC).replace(tzinfo=None)


def test_the_wording_on_shift_today_and_overnight(staffed):
    staffed("Mon-Fri 09:00-17:00; Fri 22:00-06:00")
    assert shift_status(chicago("2024-03-08 10:00")) == {"state": "on",
                                                         "text": "On shift until 5:00 PM (America/Chicago)"}
    assert shift_status(chicago("2024-03-08 23:00"))["text"] == "On shift until Sat 6:00 AM (America/Chicago)"


def test_the_wording_off_shift_later_today_and_over_the_weekend_when_requests_wait(staffed):
    staffed("Mon-Fri 09:00-17:00")
    tail = ("Survivors who write now are told nobody is on shift, given the 24/7 lines, and their requests wait "
            "for the shift.")
    assert shift_status(chicago("2024-03-08 07:00"))["text"] == (
        f"Off shift. The next shift starts at 9:00 AM (America/Chicago). {tail}")
    assert shift_status(chicago("2024-03-08 18:00")) == {
        "state": "off", "text": f"Off shift. The next shift starts Mon 9:00 AM (America/Chicago). {tail}"}


def test_noon_and_midnight_are_12_pm_and_12_am(staffed):
    staffed("Mon 00:00-12:00", "UTC")
    assert shift_status(dt.datetime(2024, 3, 11, 1, 0))["text"] == "On shift until 12:00 PM (UTC)"
    assert shift_status(dt.datetime(2024, 3, 10, 13, 0))["text"].startswith(
        "Off shift. The next shift starts Mon 12:00 AM (UTC).")


def test_a_bad_setting_is_shown_to_advocates_not_raised(staffed):
    staffed("Mon 09:00-25:00")
    assert shift_status() == {"state": "error", "text": 'The staffed hours cannot be read (STAFFED_HOURS: '
                                                        '"Mon 09:00-25:00": 25:00 is not a time of day). '
                                                        'Fix the setting and restart.'}
    staffed("24/7", after_hours="maybe")
    assert shift_status()["state"] == "error"


# --- the page's script keeps the line up to date ---------------------------------------------



def test_the_line_follows_queue_json_as_text(start_console, tmp_path):
    """When a shift starts or ends, the open page changes its line at the next update; what
    /queue.json says goes in as text, never as HTML."""
    from playwright import sync_api as playwright

    require_chromium()
    base = start_console(STAFFED_HOURS="never").base
    changed = {"state": "on", "text": "On shift until <b>5:00 PM</b> (UTC)"}

    def shift_starts(route):
        answer = route.fetch()
        queue = answer.json()
        route.fulfill(response=answer, json={**queue, "shift": changed})

    with playwright.sync_playwright() as p:
        profile = tmp_path / "profile"
        profile.mkdir()
        browser = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{base}/login")
        page.get_by_label("Name").fill("maria")
        page.get_by_label("Password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/")
        line = page.locator("#shift-state")
        assert line.text_content() == "Never staffed: every handoff waits for review"
        page.route("**/queue.json", shift_starts)
        playwright.expect(line).to_have_class("shift shift-on", timeout=20000)  # at the next update (5 s)
        assert line.text_content() == changed["text"] and line.locator("b").count() == 0
        browser.close()
    assert not problems, problems
