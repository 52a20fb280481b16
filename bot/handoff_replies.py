"""Which words tell a survivor what came of asking for a person: the one decision shared by the
actions (bot/actions/handoff.py) and the Rasa server's fallback, which answers an emergency when
the action server cannot (bot/channels/fallback.py).

The words only promise what is true. "I've asked an advocate" only when the handoff is in the
queue; how long only as a place in line; out of hours, that nobody is on shift and when the next
shift starts; when the queue could not be reached, that it could not, with the 24/7 lines. Every
word lives in domain.yml; this module only names the responses.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from conversations.handoff_requests import Asked
from conversations.shifts import ShiftState, SpokenTime, spoken_time

# What the survivor hears first in an emergency, by the safety component's `danger_type`.
EMERGENCY_RESPONSES = {
    "self_harm": "utter_emergency_self_harm",
    "medical": "utter_emergency_medical",
    "danger": "utter_emergency_danger",
}
DEFAULT_DANGER = "danger"
# After an emergency whose handoff is waiting: a clear way to say no advocate (never a bare "no").
CAN_DECLINE = "utter_emergency_can_say_no"
# Nobody on shift, by (after an emergency?, is the next shift's start known?).
OFF_SHIFT = {
    (True, True): "utter_advocate_off_shift",
    (True, False): "utter_advocate_off_shift_later",
    (False, True): "utter_handoff_off_shift",
    (False, False): "utter_handoff_off_shift_later",
}
DAYS = {
    "today": "utter_part_day_today", "tomorrow": "utter_part_day_tomorrow", "monday": "utter_part_day_monday",
    "tuesday": "utter_part_day_tuesday", "wednesday": "utter_part_day_wednesday",
    "thursday": "utter_part_day_thursday", "friday": "utter_part_day_friday",
    "saturday": "utter_part_day_saturday", "sunday": "utter_part_day_sunday",
}


@dataclasses.dataclass(frozen=True)
class AdvocateReply:
    """A response to say, and what it needs filled in."""

    response: str
    place: int = 0  # {place}: the place in line
    when: Optional[SpokenTime] = None  # {when}: the start of the next shift
    can_decline: bool = False  # CAN_DECLINE follows


def emergency_response(category: Optional[str]) -> str:
    return EMERGENCY_RESPONSES.get(category or DEFAULT_DANGER, EMERGENCY_RESPONSES[DEFAULT_DANGER])


def after_asking(asked: Asked, shift: ShiftState, emergency: bool) -> AdvocateReply:
    """What to say once the conversation was put in front of an advocate (or could not be)."""
    if not asked.stored:
        return AdvocateReply("utter_advocate_not_reached_emergency" if emergency else "utter_advocate_not_reached")
    if asked.claimed:
        return AdvocateReply("utter_advocate_has_chat")
    if not shift.on_shift:
        return AdvocateReply(OFF_SHIFT[emergency, shift.until is not None], when=spoken(shift), can_decline=emergency)
    if emergency:
        return AdvocateReply("utter_advocate_asked_emergency", can_decline=True)
    return AdvocateReply("utter_handoff_requested", place=asked.place_in_line)


def not_kept_after_hours(shift: ShiftState) -> AdvocateReply:
    """A request for a person out of hours, when the agency keeps none (AFTER_HOURS_HANDOFFS=drop)."""
    if shift.until is None:
        return AdvocateReply("utter_handoff_off_shift_not_kept_later")
    return AdvocateReply("utter_handoff_off_shift_not_kept", when=spoken(shift))


NOBODY_ASKED = {"reading": "utter_iamabot", "queue": "utter_queue_nobody_asked", "declined": "utter_no_advocate_asked"}


def status_now(asked: Optional[Asked], shift: ShiftState, question: str) -> AdvocateReply:
    """"Is a person reading?" (`question` "reading"), "how long / where am I in line?" ("queue")
    or "no advocate" with none waiting ("declined"), answered truthfully for the conversation's
    handoff as it is now (None: none)."""
    if asked is None:
        return AdvocateReply(NOBODY_ASKED[question])
    if asked.claimed:
        return AdvocateReply("utter_advocate_has_chat")
    if not shift.on_shift:
        if shift.until is None:
            return AdvocateReply("utter_queue_off_shift_later")
        return AdvocateReply("utter_queue_off_shift", when=spoken(shift))
    return AdvocateReply("utter_iamabot_advocate_asked" if question == "reading" else "utter_queue_place",
                         place=asked.place_in_line)


def spoken(shift: ShiftState) -> Optional[SpokenTime]:
    return spoken_time(shift.until) if shift.until is not None else None


def moment_responses(when: SpokenTime) -> tuple[str, str, dict]:
    """How to say `when` with the domain's pieces: the day's piece, then the moment's piece
    (filled with {day}, {hour}, {minute})."""
    moment = "utter_part_moment_pm" if when.pm else "utter_part_moment_am"
    return DAYS[when.day], moment, {"hour": when.hour, "minute": f"{when.minute:02d}"}
