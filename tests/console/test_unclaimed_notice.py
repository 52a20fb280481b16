"""A survivor whose handoff nobody claims in HANDOFF_UNCLAIMED_MINUTES is told so once, with the
24/7 lines (utter_handoff_unclaimed, sent by the console's background task through Rasa); not one
who asked not to be written to first, nor one who asked out of hours (they were told then)."""
import datetime as dt
import time

import pytest

from console.audit import AuditEntry
from conversations.handoffs import Handoff, open_handoff
from tests.helpers import ConsoleProcess, RasaStandIn, wait_until


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """A console that tells survivors after 1.2 seconds, checking every 0.5 s."""
    rasa = RasaStandIn()
    console = ConsoleProcess(tmp_path_factory.mktemp("unclaimed"), rasa, HANDOFF_UNCLAIMED_MINUTES="0.02")
    yield console, rasa
    console.stop()
    rasa.stop()


def notices(rasa, conversation):
    return [c for c in rasa.calls if c[1] == f"/conversations/{conversation}/execute"]


def calls_for(rasa, conversation):
    """What the console asked Rasa to do in the conversation (its reads of the tracker left out)."""
    return [c for c in rasa.calls if f"/{conversation}/" in c[1] and c[0] != "GET"]


def test_an_unclaimed_handoff_gets_one_notice_then_listens_again(quick):
    console, rasa = quick
    with console.session() as session:
        handoff_id = open_handoff(session, "waiting-1", "twilio", "emergency", "danger").id
        claimed = open_handoff(session, "held-1", "rest", "emergency", "danger")
        claimed.status, claimed.claimed_by = "claimed", "maria"
    assert not notices(rasa, "waiting-1")  # not before the time is up
    assert wait_until(lambda: notices(rasa, "waiting-1"), 10, interval=0.2)
    time.sleep(2)  # several more rounds of the watch
    assert calls_for(rasa, "waiting-1") == [
        ("POST", "/conversations/waiting-1/execute", {"output_channel": "latest"},
         {"name": "utter_handoff_unclaimed"}),
        ("POST", "/conversations/waiting-1/tracker/events", {},
         {"event": "action", "name": "action_listen"}),
    ]
    assert not [c for c in rasa.calls if "/held-1/" in c[1]]
    with console.session() as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff.status == "open" and handoff.unclaimed_notice_at is not None  # still in the queue
        assert [(e.actor, e.action) for e in session.query(AuditEntry).filter_by(handoff_id=handoff_id)] == \
            [("(console)", "unclaimed_notice")]


def test_a_notice_rasa_could_not_take_is_sent_when_it_can(quick):
    console, rasa = quick
    rasa.failing = True
    with console.session() as session:
        open_handoff(session, "waiting-2", "rest", "request", "request")
    assert wait_until(lambda: [c for c in rasa.calls if "/waiting-2/" in c[1]], 10, interval=0.2)
    time.sleep(1)  # more rounds while Rasa cannot be reached
    rasa.failing = False
    assert wait_until(lambda: any(c[1].endswith("/waiting-2/tracker/events") for c in rasa.calls), 10, interval=0.2)
    time.sleep(1.5)
    assert len([c for c in rasa.calls if "/waiting-2/" in c[1]]) >= 3  # tried, then delivered
    delivered = [c for c in rasa.calls if c[1].endswith("/waiting-2/tracker/events")]
    assert len(delivered) == 1


def test_a_survivor_who_asked_not_to_be_written_first_gets_no_notice(quick):
    console, rasa = quick
    rasa.trackers["quiet-1"] = {"sender_id": "quiet-1", "slots": {"contact_first": False}, "events": []}
    with console.session() as session:
        handoff_id = open_handoff(session, "quiet-1", "twilio", "request", "request").id
    assert wait_until(lambda: [c for c in rasa.calls if c[1] == "/conversations/quiet-1/tracker"], 10, interval=0.2)
    time.sleep(1.5)
    assert calls_for(rasa, "quiet-1") == []
    with console.session() as session:
        assert not session.query(AuditEntry).filter_by(handoff_id=handoff_id).count()


@pytest.fixture
def off_shift(tmp_path):
    """A console whose line is staffed from 3 to 4 hours from now, and never else."""
    start = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(hours=1)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[start.weekday()]
    rasa = RasaStandIn()
    console = ConsoleProcess(tmp_path, rasa, HANDOFF_UNCLAIMED_MINUTES="0.02", STAFFED_TIMEZONE="UTC",
                             STAFFED_HOURS=f"{day} {start:%H}:00-{end:%H}:00")
    yield console, rasa, start
    console.stop()
    rasa.stop()


def test_out_of_hours_only_a_survivor_who_asked_on_shift_hears_the_shift_ended(off_shift):
    console, rasa, shift_starts = off_shift
    last_weeks_shift = (shift_starts - dt.timedelta(days=7, minutes=-30)).replace(tzinfo=None)
    with console.session() as session:
        open_handoff(session, "asked-at-night", "rest", "request", "request")
        open_handoff(session, "asked-on-shift", "rest", "request", "request").created_at = last_weeks_shift
    assert wait_until(lambda: notices(rasa, "asked-on-shift"), 10, interval=0.2)
    time.sleep(1.5)
    assert [c[3]["name"] for c in notices(rasa, "asked-on-shift")] == ["utter_handoff_unclaimed_off_shift"]
    assert notices(rasa, "asked-at-night") == []  # told when the shift starts, when they asked


def test_an_alert_names_the_survivors_language_and_nothing_they_said():
    """The on-call advocate knows to bring Spanish (or an interpreter) from the text alone."""
    from conversations.alerts import alert_text

    assert alert_text(7, "emergency", "es").startswith("Navigator: URGENT handoff #7 (Spanish) is waiting")
    assert "(asked to talk to a person, in Portuguese)" in alert_text(8, "request", "pt")
    assert alert_text(9, "emergency", "en") == alert_text(9, "emergency", None)  # English: as before
    assert "Spanish" not in alert_text(9, "emergency", None)
