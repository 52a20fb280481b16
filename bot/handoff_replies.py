"""Which words tell a survivor what came of asking for a person: the one decision shared by the
actions (bot/actions/handoff.py) and the Rasa server's fallback, which answers an emergency when
the action server cannot (bot/channels/fallback.py).

The words only promise what is true. "I've asked an advocate" only when the handoff is in the
queue; how long only as a place in line; out of hours, that nobody is on shift and when the next
shift starts; when the queue could not be reached, that it could not, with the 24/7 lines. Every
word lives in domain.yml, and every response's name in bot.dialogue; this module only chooses.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from bot.dialogue import (
    UTTER_ADVOCATE_ASKED_EMERGENCY,
    UTTER_ADVOCATE_HAS_CHAT,
    UTTER_ADVOCATE_NOT_REACHED,
    UTTER_ADVOCATE_NOT_REACHED_EMERGENCY,
    UTTER_ADVOCATE_OFF_SHIFT,
    UTTER_ADVOCATE_OFF_SHIFT_LATER,
    UTTER_EMERGENCY_DANGER,
    UTTER_EMERGENCY_MEDICAL,
    UTTER_EMERGENCY_SELF_HARM,
    UTTER_HANDOFF_OFF_SHIFT,
    UTTER_HANDOFF_OFF_SHIFT_LATER,
    UTTER_HANDOFF_OFF_SHIFT_NOT_KEPT,
    UTTER_HANDOFF_OFF_SHIFT_NOT_KEPT_LATER,
    UTTER_HANDOFF_REQUESTED,
    UTTER_IAMABOT,
    UTTER_IAMABOT_ADVOCATE_ASKED,
    UTTER_NO_ADVOCATE_ASKED,
    UTTER_PART_DAY_FRIDAY,
    UTTER_PART_DAY_MONDAY,
    UTTER_PART_DAY_SATURDAY,
    UTTER_PART_DAY_SUNDAY,
    UTTER_PART_DAY_THURSDAY,
    UTTER_PART_DAY_TODAY,
    UTTER_PART_DAY_TOMORROW,
    UTTER_PART_DAY_TUESDAY,
    UTTER_PART_DAY_WEDNESDAY,
    UTTER_PART_MOMENT_AM,
    UTTER_PART_MOMENT_PM,
    UTTER_QUEUE_NOBODY_ASKED,
    UTTER_QUEUE_OFF_SHIFT,
    UTTER_QUEUE_OFF_SHIFT_LATER,
    UTTER_QUEUE_PLACE,
)
from conversations.handoff_requests import Asked
from conversations.shifts import ShiftState, SpokenTime, spoken_time

# What the survivor hears first in an emergency, by the safety component's `danger_type`.
EMERGENCY_RESPONSES = {
    "self_harm": UTTER_EMERGENCY_SELF_HARM,
    "medical": UTTER_EMERGENCY_MEDICAL,
    "danger": UTTER_EMERGENCY_DANGER,
}
DEFAULT_DANGER = "danger"
# After an emergency whose handoff is waiting: a clear way to say no advocate (never a bare "no").
# Nobody on shift, by (after an emergency?, is the next shift's start known?).
OFF_SHIFT = {
    (True, True): UTTER_ADVOCATE_OFF_SHIFT,
    (True, False): UTTER_ADVOCATE_OFF_SHIFT_LATER,
    (False, True): UTTER_HANDOFF_OFF_SHIFT,
    (False, False): UTTER_HANDOFF_OFF_SHIFT_LATER,
}
DAYS = {
    "today": UTTER_PART_DAY_TODAY, "tomorrow": UTTER_PART_DAY_TOMORROW, "monday": UTTER_PART_DAY_MONDAY,
    "tuesday": UTTER_PART_DAY_TUESDAY, "wednesday": UTTER_PART_DAY_WEDNESDAY,
    "thursday": UTTER_PART_DAY_THURSDAY, "friday": UTTER_PART_DAY_FRIDAY,
    "saturday": UTTER_PART_DAY_SATURDAY, "sunday": UTTER_PART_DAY_SUNDAY,
}


@dataclasses.dataclass(frozen=True)
class AdvocateReply:
    """A response to say, and what it needs filled in."""

    response: str
    place: int = 0  # {place}: the place in line
    when: Optional[SpokenTime] = None  # {when}: the start of the next shift
    can_decline: bool = False  # UTTER_EMERGENCY_CAN_SAY_NO follows


def emergency_response(category: Optional[str]) -> str:
    return EMERGENCY_RESPONSES.get(category or DEFAULT_DANGER, EMERGENCY_RESPONSES[DEFAULT_DANGER])


def after_asking(asked: Asked, shift: ShiftState, emergency: bool) -> AdvocateReply:
    """What to say once the conversation was put in front of an advocate (or could not be)."""
    if not asked.stored:
        return AdvocateReply(UTTER_ADVOCATE_NOT_REACHED_EMERGENCY if emergency else UTTER_ADVOCATE_NOT_REACHED)
    if asked.claimed:
        return AdvocateReply(UTTER_ADVOCATE_HAS_CHAT)
    if not shift.on_shift:
        return AdvocateReply(OFF_SHIFT[emergency, shift.until is not None], when=spoken(shift), can_decline=emergency)
    if emergency:
        return AdvocateReply(UTTER_ADVOCATE_ASKED_EMERGENCY, can_decline=True)
    return AdvocateReply(UTTER_HANDOFF_REQUESTED, place=asked.place_in_line)


def not_kept_after_hours(shift: ShiftState) -> AdvocateReply:
    """A request for a person out of hours, when the agency keeps none (AFTER_HOURS_HANDOFFS=drop)."""
    if shift.until is None:
        return AdvocateReply(UTTER_HANDOFF_OFF_SHIFT_NOT_KEPT_LATER)
    return AdvocateReply(UTTER_HANDOFF_OFF_SHIFT_NOT_KEPT, when=spoken(shift))


NOBODY_ASKED = {"reading": UTTER_IAMABOT, "queue": UTTER_QUEUE_NOBODY_ASKED, "declined": UTTER_NO_ADVOCATE_ASKED}


def status_now(asked: Optional[Asked], shift: ShiftState, question: str) -> AdvocateReply:
    """"Is a person reading?" (`question` "reading"), "how long / where am I in line?" ("queue")
    or "no advocate" with none waiting ("declined"), answered truthfully for the conversation's
    handoff as it is now (None: none)."""
    if asked is None:
        return AdvocateReply(NOBODY_ASKED[question])
    if asked.claimed:
        return AdvocateReply(UTTER_ADVOCATE_HAS_CHAT)
    if not shift.on_shift:
        if shift.until is None:
            return AdvocateReply(UTTER_QUEUE_OFF_SHIFT_LATER)
        return AdvocateReply(UTTER_QUEUE_OFF_SHIFT, when=spoken(shift))
    return AdvocateReply(UTTER_IAMABOT_ADVOCATE_ASKED if question == "reading" else UTTER_QUEUE_PLACE,
                         place=asked.place_in_line)


def spoken(shift: ShiftState) -> Optional[SpokenTime]:
    return spoken_time(shift.until) if shift.until is not None else None


def moment_responses(when: SpokenTime) -> tuple[str, str, dict]:
    """How to say `when` with the domain's pieces: the day's piece, then the moment's piece
    (filled with {day}, {hour}, {minute})."""
    moment = UTTER_PART_MOMENT_PM if when.pm else UTTER_PART_MOMENT_AM
    return DAYS[when.day], moment, {"hour": when.hour, "minute": f"{when.minute:02d}"}
