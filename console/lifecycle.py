"""The steps of a handoff as the console takes them: claim, read, reply, hand back, close, and the
notice to survivors nobody has claimed. Each step changes the queue (navigator.handoffs), tells
Rasa (console.rasa_api) and writes the audit log (navigator.audit), in an order that never
leaves a survivor talking to nobody:

- claim: the claim is recorded first (so two advocates cannot both take it), then the bot is
  paused; if Rasa cannot be reached the claim is undone and the bot keeps answering;
- hand back: the bot is resumed and says so first, then the queue records it;
- close: a handoff still held is handed back first, so no conversation stays paused.

Database calls block, so they run in a worker thread.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Callable, Optional

from sqlalchemy.engine import Engine

from console.rasa_api import RasaApi
from console.transcript import Line, transcript_lines
from navigator import audit, db, handoffs
from navigator.handoffs import Handoff

logger = logging.getLogger(__name__)

MAX_REPLY_CHARS = 1000  # Twilio sends up to 1600; a reply this long is already several texts
VIEW_AGAIN_AFTER = dt.timedelta(minutes=30)  # reloads within this are not new "viewed" entries
HANDBACK_RESPONSE = "utter_handback"
UNCLAIMED_RESPONSE = "utter_handoff_unclaimed"


class Lifecycle:
    def __init__(self, engine: Optional[Engine], rasa: RasaApi):
        self.engine = engine
        self.rasa = rasa

    async def _db(self, work: Callable):
        def run():
            with db.session_scope(self.engine) as session:
                return work(session)
        return await asyncio.to_thread(run)

    async def handoff(self, handoff_id: int) -> Handoff:
        return await self._db(lambda s: handoffs.get_handoff(s, handoff_id))

    async def open_conversation(self, handoff_id: int, advocate: str) -> Handoff:
        """The handoff an advocate is looking at; the audit log notes that they opened it."""
        def work(session):
            handoff = handoffs.get_handoff(session, handoff_id)
            if not audit.viewed_lately(session, advocate, handoff_id, VIEW_AGAIN_AFTER):
                audit.record(session, advocate, "viewed", handoff_id)
            return handoff
        return await self._db(work)

    async def transcript(self, handoff: Handoff) -> list[Line]:
        return transcript_lines(await self.rasa.tracker(handoff.conversation_id))

    async def claim(self, handoff_id: int, advocate: str) -> Handoff:
        handoff = await self._db(lambda s: handoffs.claim_handoff(s, handoff_id, advocate))
        try:
            await self.rasa.pause(handoff.conversation_id)
        except Exception:
            await self._db(lambda s: handoffs.release_claim(s, handoff_id, advocate))
            raise
        await self._db(lambda s: audit.record(s, advocate, "claimed", handoff_id))
        return handoff

    async def take_over(self, handoff_id: int, advocate: str) -> None:
        """Take a handoff over from the advocate who holds it (the audit log's earlier "Claimed"
        entry names them)."""
        def record(session):
            handoffs.take_over_handoff(session, handoff_id, advocate)
            audit.record(session, advocate, "taken_over", handoff_id)
        await self._db(record)

    async def reply(self, handoff_id: int, advocate: str, text: str) -> None:
        text = (text or "").strip()
        if not text:
            raise ValueError("Write a message first.")
        if len(text) > MAX_REPLY_CHARS:
            raise ValueError(f"A reply can be at most {MAX_REPLY_CHARS} characters; this one has {len(text)}.")
        handoff = await self._db(lambda s: handoffs.held_by(s, handoff_id, advocate, "reply to"))
        await self.rasa.say_as_advocate(handoff.conversation_id, text, advocate)
        await self._db(lambda s: audit.record(s, advocate, "replied", handoff_id))

    async def hand_back(self, handoff_id: int, advocate: str) -> Handoff:
        handoff = await self._db(lambda s: handoffs.held_by(s, handoff_id, advocate, "hand back"))
        await self.rasa.resume(handoff.conversation_id)
        await self.rasa.utter(handoff.conversation_id, HANDBACK_RESPONSE)

        def record(session):
            done = handoffs.mark_handed_back(session, handoff_id, advocate)
            audit.record(session, advocate, "handed_back", handoff_id)
            return done
        return await self._db(record)

    async def close(self, handoff_id: int, advocate: str, outcome: str) -> Handoff:
        if outcome not in handoffs.OUTCOMES:
            raise ValueError("Pick how it ended.")
        handoff = await self.handoff(handoff_id)
        if handoff.status == "claimed" and handoff.claimed_by == advocate:
            await self.hand_back(handoff_id, advocate)

        def record(session):
            done = handoffs.close_handoff(session, handoff_id, advocate, outcome)
            audit.record(session, advocate, "closed", handoff_id, outcome)
            return done
        return await self._db(record)

    async def notify_unclaimed(self, after: dt.timedelta) -> int:
        """Tell each survivor whose handoff has waited longer than `after` that nobody is free
        yet, with the 24/7 lines (utter_handoff_unclaimed), once per handoff; how many were told."""
        due = await self._db(lambda s: handoffs.unclaimed_since(s, handoffs.utcnow() - after))
        told = 0
        for handoff_id in due:
            handoff = await self._db(lambda s: handoffs.reserve_unclaimed_notice(s, handoff_id))
            if handoff is None:  # claimed meanwhile, or another console process took it
                continue
            try:
                await self.rasa.utter(handoff.conversation_id, UNCLAIMED_RESPONSE)
            except Exception:
                await self._db(lambda s: handoffs.cancel_unclaimed_notice(s, handoff_id))
                logger.warning("handoff %s: could not tell the survivor nobody is free yet; will retry", handoff_id)
                continue
            await self._db(lambda s: audit.record(s, audit.SYSTEM, "unclaimed_notice", handoff_id))
            told += 1
        return told


async def watch_unclaimed(lifecycle: Lifecycle, after: dt.timedelta, every_s: float) -> None:
    """The console's background task: look for unclaimed handoffs every `every_s` seconds."""
    while True:
        try:
            await lifecycle.notify_unclaimed(after)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the watch
            logger.exception("checking for unclaimed handoffs failed; trying again")
        await asyncio.sleep(every_s)
