"""SMS alerts to the advocates on call (`ADVOCATE_ALERT_NUMBERS`) when a conversation is handed
to a person.

An alert says only that handoff N is waiting, how urgent it is, and where to open it in the
console: never the survivor's words or number (CONTRACT.md), since an advocate's phone can be
lost, shared or seen. Each alert is recorded (handoff, counts, time: no phone numbers) so that
`navigator purge` can delete it with the conversation.
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String

from navigator import config
from navigator.db import Base, session_scope
from navigator.handoffs import utcnow

logger = logging.getLogger(__name__)

ALERT_TEXT = {
    "emergency": "Navigator: URGENT handoff #{id} is waiting for an advocate. Open: {link}",
    "request": "Navigator: handoff #{id} (asked to talk to a person) is waiting. Open: {link}",
}


class Alert(Base):
    __tablename__ = "alert"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoff.id", ondelete="CASCADE"), nullable=False, index=True)
    priority = Column(String(20), nullable=False)
    recipients = Column(Integer, nullable=False)
    delivered = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)


@dataclass(frozen=True)
class AlertResult:
    recipients: int
    delivered: int


def alert_numbers() -> list[str]:
    """The on-call numbers, from the comma-separated ADVOCATE_ALERT_NUMBERS."""
    return [n.strip() for n in (os.environ.get("ADVOCATE_ALERT_NUMBERS") or "").split(",") if n.strip()]


def console_link(handoff_id: int) -> str:
    """Where an advocate opens the handoff: CONSOLE_PUBLIC_URL, else the local console."""
    base = os.environ.get("CONSOLE_PUBLIC_URL") or f"http://localhost:{config.port('CONSOLE_PORT')}"
    return f"{base.rstrip('/')}/handoffs/{handoff_id}"


def alert_text(handoff_id: int, priority: str) -> str:
    return ALERT_TEXT.get(priority, ALERT_TEXT["request"]).format(id=handoff_id, link=console_link(handoff_id))


async def send_handoff_alerts(handoff_id: int, priority: str) -> AlertResult:
    """Text every on-call advocate about handoff `handoff_id`; never raises (the survivor's reply
    must not depend on it), records what was sent."""
    from bot.channels.twilio_rest import send_sms

    numbers = alert_numbers()
    if not numbers:
        return AlertResult(0, 0)
    text = alert_text(handoff_id, priority)
    outcomes = await asyncio.gather(*(send_sms(number, text) for number in numbers), return_exceptions=True)
    delivered = sum(not isinstance(o, BaseException) for o in outcomes)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            logger.warning("an advocate alert for handoff %s was not sent: %s", handoff_id, type(outcome).__name__)
    try:
        with session_scope() as session:
            session.add(Alert(handoff_id=handoff_id, priority=priority, recipients=len(numbers),
                              delivered=delivered, created_at=utcnow()))
    except Exception:
        logger.exception("could not record the alert for handoff %s", handoff_id)
    return AlertResult(len(numbers), delivered)
