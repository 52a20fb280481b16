"""A texter who floods the SMS line is slowed down kindly, once, and the line stays cheap: the
messages over the limit are not answered one by one (each SMS costs the agency)."""
from __future__ import annotations

import time

import pytest

from tests.channels.test_twilio_line import RESPONSES, new_phone, text

pytestmark = pytest.mark.e2e


def test_a_flood_of_texts_gets_one_kind_slow_down_with_the_24_7_lines(channel_stack, twilio):
    phone = new_phone()
    for number in range(25):
        assert text(channel_stack, phone, f"hi {number}")[0] == 200
    limited = RESPONSES["utter_rate_limited"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(twilio.to(phone)) < 11:
        time.sleep(0.3)
    time.sleep(3)  # let the rest of the flood be handled
    bodies = [sms.body for sms in twilio.to(phone)]
    assert sum(limited in body for body in bodies) == 1
    assert "911" in limited
    assert len(bodies) <= 12  # about the burst of 10 answered, one slow-down, nothing for the rest
