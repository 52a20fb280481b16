"""A survivor whose handoff nobody claims in HANDOFF_UNCLAIMED_MINUTES is told so once, with the
24/7 lines (utter_handoff_unclaimed, sent by the console's background task through Rasa)."""
import time

import pytest

from navigator.audit import AuditEntry
from navigator.handoffs import Handoff, open_handoff
from tests.console.conftest import RASA_TOKEN, ConsoleProcess, RasaStandIn
from tests.helpers import wait_until


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


def test_an_unclaimed_handoff_gets_one_notice_then_listens_again(quick):
    console, rasa = quick
    with console.session() as session:
        handoff_id = open_handoff(session, "waiting-1", "twilio", "emergency", "danger").id
        claimed = open_handoff(session, "held-1", "rest", "emergency", "danger")
        claimed.status, claimed.claimed_by = "claimed", "maria"
    assert not notices(rasa, "waiting-1")  # not before the time is up
    assert wait_until(lambda: notices(rasa, "waiting-1"), 10, interval=0.2)
    time.sleep(2)  # several more rounds of the watch
    mine = [c for c in rasa.calls if "/waiting-1/" in c[1]]
    assert mine == [
        ("POST", "/conversations/waiting-1/execute", {"token": RASA_TOKEN, "output_channel": "latest"},
         {"name": "utter_handoff_unclaimed"}),
        ("POST", "/conversations/waiting-1/tracker/events", {"token": RASA_TOKEN},
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
    assert wait_until(lambda: notices(rasa, "waiting-2"), 10, interval=0.2)
    rasa.failing = False
    assert wait_until(lambda: any(c[1].endswith("/waiting-2/tracker/events") for c in rasa.calls), 10, interval=0.2)
    time.sleep(1.5)
    assert len(notices(rasa, "waiting-2")) >= 2  # failed, then delivered
    delivered = [c for c in rasa.calls if c[1].endswith("/waiting-2/tracker/events")]
    assert len(delivered) == 1
