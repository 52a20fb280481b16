"""Out of hours, as a survivor meets it on the running navigator: nobody is promised; they hear
that nobody is on shift, when the next shift starts, that an advocate will read the chat then,
and the 24/7 lines; an emergency still gets 911 first and is kept in the queue."""
from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from navigator.setup import model_path
from tests.helpers import Stack, wait_until

pytestmark = pytest.mark.e2e
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.fixture(scope="module")
def off_shift(tmp_path_factory):
    """A line staffed one hour a week, starting three hours from now, in America/Chicago."""
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    chicago = ZoneInfo("America/Chicago")
    start = (dt.datetime.now(chicago) + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(hours=1)
    stack = Stack(tmp_path_factory.mktemp("staffed"), env={
        "STAFFED_HOURS": f"{DAYS[start.weekday()]} {start:%H}:00-{end:%H}:00", "STAFFED_TIMEZONE": "America/Chicago"})
    stack.start()
    created = stack.cli("tokens", "create", "staffed-hours-test")
    stack.token = created.stdout.strip().splitlines()[-1]
    yield stack, start
    stack.stop()


def spoken(start: dt.datetime) -> str:
    return f"{start.hour % 12 or 12}:00 {'PM' if start.hour >= 12 else 'AM'}"


def test_a_request_out_of_hours_hears_when_the_next_shift_starts(off_shift):
    stack, start = off_shift
    conversation = f"night-{uuid.uuid4().hex[:8]}"
    reply = stack.say(conversation, "i want to talk to a person")
    assert "No advocate is on shift right now" in reply and f"at {spoken(start)}" in reply
    assert "1-800-799-7233" in reply and "You are number" not in reply
    assert [h["priority"] for h in stack.handoffs() if h["conversation_id"] == conversation] == ["request"]
    assert "next shift starts" in stack.say(conversation, "how long will it take")


def test_an_emergency_out_of_hours_hears_911_first_and_is_kept(off_shift):
    stack, start = off_shift
    conversation = f"night-{uuid.uuid4().hex[:8]}"
    reply = stack.say(conversation, "he has a gun and he is outside")
    assert reply.index("911") < reply.index("No advocate is on shift right now")
    assert f"at {spoken(start)}" in reply and "I've asked" not in reply
    assert wait_until(lambda: [h for h in stack.handoffs() if h["conversation_id"] == conversation
                               and h["priority"] == "emergency"], 2, interval=0.2)
