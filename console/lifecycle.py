"""The steps of a handoff as the console takes them: claim, read, reply, hand back, close, and the
notice to survivors nobody has claimed. Each step changes the queue (conversations.handoffs), tells
Rasa (console.rasa_api) and writes the audit log (console.audit), in an order that never
leaves a survivor talking to nobody:

- claim: the claim is recorded first (so two advocates cannot both take it), then the bot is
  paused; if Rasa cannot be reached the claim is undone and the bot keeps answering. Then the
  survivor is told a person joined, by the name the advocate chose, and that they can see the
  earlier messages (a take-over says so too);
- hand back: the bot is resumed and says so first, then the queue records it;
- close: a handoff still held is handed back first, so no conversation stays paused.

A survivor who said "don't text me first" (console.consent) gets none of this unprompted: the
advocate's first message waits until the survivor writes again (the console says so), and the
"joined" words go with it; the notice to survivors nobody claimed is not sent at all. Out of
hours that notice is not sent either (the survivor was told when the next shift starts), and a
shift that ends before anyone was free is said so.

Database calls block, so they run in a worker thread (console.database).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Callable, Optional

from sqlalchemy.engine import Engine

from console import accounts as advocates
from console import audit
from console.consent import asked_not_to_be_written_first, may_write_unprompted
from console.database import in_engine_session
from console.rasa_api import RasaApi
from console.transcript import Line, transcript_lines
from conversations import alerts, handoffs, shifts
from conversations.handoffs import Handoff, HandoffStateError

logger = logging.getLogger(__name__)

MAX_REPLY_CHARS = 1000  # Twilio sends up to 1600; a reply this long is already several texts
VIEW_AGAIN_AFTER = dt.timedelta(minutes=30)  # reloads within this are not new "viewed" entries
HANDBACK_RESPONSE = "utter_handback"
UNCLAIMED_RESPONSE = "utter_handoff_unclaimed"
UNCLAIMED_OFF_SHIFT_RESPONSE = "utter_handoff_unclaimed_off_shift"
# Said when an advocate joins or takes over: (with the name they chose, without one).
JOINED_RESPONSES = ("utter_advocate_joined", "utter_advocate_joined_unnamed")
TOOK_OVER_RESPONSES = ("utter_advocate_took_over", "utter_advocate_took_over_unnamed")
NAME_SLOT = "advocate_name"
NOT_YET_INVITED = ("This person asked not to be written to first, so nothing was sent. "
                   "You can reply once they write again.")


class Lifecycle:
    def __init__(self, engine: Optional[Engine], rasa: RasaApi):
        self.engine = engine
        self.rasa = rasa

    async def _db(self, work: Callable):
        return await in_engine_session(self.engine, work)

    async def handoff(self, handoff_id: int) -> Handoff:
        return await self._db(lambda s: handoffs.get_handoff(s, handoff_id))

    async def open_conversation(self, handoff_id: int, advocate: str,
                                again_after: dt.timedelta = VIEW_AGAIN_AFTER) -> Handoff:
        """The handoff an advocate is looking at; the audit log notes that they opened it (once
        per `again_after`: the console page polls; the API passes 0, every read is noted)."""
        def work(session):
            handoff = handoffs.get_handoff(session, handoff_id)
            if not again_after or not audit.viewed_lately(session, advocate, handoff_id, again_after):
                audit.record(session, advocate, "viewed", handoff_id)
            return handoff
        return await self._db(work)

    async def transcript(self, handoff: Handoff) -> list[Line]:
        return (await self.read(handoff))[0]

    async def read(self, handoff: Handoff) -> tuple[list[Line], bool]:
        """The conversation as the advocate reads it, and whether a reply would be sent now
        (False while a survivor who asked not to be written to first has not written since the
        claim), from one read of it."""
        conversation = await self.rasa.tracker(handoff.conversation_id)
        return transcript_lines(conversation), may_write_unprompted(conversation, handoff.claimed_at)

    async def claim(self, handoff_id: int, advocate: str) -> Handoff:
        handoff = await self._db(lambda s: handoffs.claim_handoff(s, handoff_id, advocate))
        try:
            await self.rasa.pause(handoff.conversation_id)
        except Exception:
            await self._db(lambda s: handoffs.release_claim(s, handoff_id, advocate))
            raise
        await self._db(lambda s: audit.record(s, advocate, "claimed", handoff_id))
        await self._announce(handoff, advocate, JOINED_RESPONSES)
        return handoff

    async def take_over(self, handoff_id: int, advocate: str) -> None:
        """Take a handoff over from the advocate who holds it (the audit log's earlier "Claimed"
        entry names them); the survivor is told another advocate is there."""
        def record(session):
            handoffs.take_over_handoff(session, handoff_id, advocate)
            audit.record(session, advocate, "taken_over", handoff_id)
            return handoffs.get_handoff(session, handoff_id)
        await self._announce(await self._db(record), advocate, TOOK_OVER_RESPONSES)

    async def _announce(self, handoff: Handoff, advocate: str, responses: tuple[str, str],
                        conversation: Optional[dict] = None) -> None:
        """Tell the survivor who joined (by the name the advocate chose), if they may be written
        to now; noted on the handoff. A fault here costs only the words: the first reply says
        them instead."""
        try:
            conversation = conversation or await self.rasa.tracker(handoff.conversation_id)
            if not may_write_unprompted(conversation, handoff.claimed_at):
                return
            name = await self._db(lambda s: getattr(advocates.find_advocate(s, advocate), "display_name", None))
            if name:
                await self.rasa.utter(handoff.conversation_id, responses[0], **{NAME_SLOT: name})
            else:
                await self.rasa.utter(handoff.conversation_id, responses[1])
            await self._db(lambda s: handoffs.note_joined(s, handoff.id))
        except Exception as error:
            logger.warning("handoff %s: the survivor could not be told an advocate joined: %s", handoff.id,
                           type(error).__name__)

    async def reply(self, handoff_id: int, advocate: str, text: str) -> None:
        text = (text or "").strip()
        if not text:
            raise ValueError("Write a message first.")
        if len(text) > MAX_REPLY_CHARS:
            raise ValueError(f"A reply can be at most {MAX_REPLY_CHARS} characters; this one has {len(text)}.")
        handoff = await self._db(lambda s: handoffs.held_by(s, handoff_id, advocate, "reply to"))
        conversation = await self.rasa.tracker(handoff.conversation_id)
        if not may_write_unprompted(conversation, handoff.claimed_at):
            raise HandoffStateError(NOT_YET_INVITED)
        if handoff.joined_notice_at is None:
            await self._announce(handoff, advocate, JOINED_RESPONSES, conversation)
        await self.rasa.say_as_advocate(handoff.conversation_id, text, advocate)
        await self._db(lambda s: audit.record(s, advocate, "replied", handoff_id))

    async def hand_back(self, handoff_id: int, advocate: str) -> Handoff:
        handoff = await self._db(lambda s: handoffs.held_by(s, handoff_id, advocate, "hand back"))
        conversation = await self.rasa.tracker(handoff.conversation_id)
        await self.rasa.resume(handoff.conversation_id)
        if may_write_unprompted(conversation, handoff.claimed_at):
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
        yet, with the 24/7 lines (utter_handoff_unclaimed), once per handoff; how many were told.
        Not those who asked for a person out of hours (they were told when the shift starts), nor
        those who asked not to be written to first; when the shift ended meanwhile, it says so."""
        due = await self._db(lambda s: handoffs.unclaimed_since(s, handoffs.utcnow() - after))
        staffed = shifts.schedule()
        told = 0
        for handoff_id in due:
            handoff = await self._db(lambda s: handoffs.reserve_unclaimed_notice(s, handoff_id))
            if handoff is None:  # claimed meanwhile, or another console process took it
                continue
            try:
                if not staffed.on_shift(handoff.created_at):
                    continue  # asked out of hours: told then when the next shift starts
                if asked_not_to_be_written_first(await self.rasa.tracker(handoff.conversation_id)):
                    continue
                on_shift = staffed.on_shift()
                await self.rasa.utter(handoff.conversation_id,
                                      UNCLAIMED_RESPONSE if on_shift else UNCLAIMED_OFF_SHIFT_RESPONSE)
            except Exception:
                await self._db(lambda s: handoffs.cancel_unclaimed_notice(s, handoff_id))
                logger.warning("handoff %s: could not tell the survivor nobody is free yet; will retry", handoff_id)
                continue
            await self._db(lambda s: audit.record(s, audit.SYSTEM, "unclaimed_notice", handoff_id))
            told += 1
        return told


async def watch_unclaimed(lifecycle: Lifecycle, after: dt.timedelta, every_s: float) -> None:
    """The console's background task: look for unclaimed handoffs every `every_s` seconds, and
    make sure an alert summary that is due goes out (conversations.alerts): the process that batched
    the alerts sends it, but if that process died, the console is the one that is always running."""
    while True:
        try:
            alerts.summary_timer()
            await lifecycle.notify_unclaimed(after)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the watch
            logger.exception("checking for unclaimed handoffs failed; trying again")
        await asyncio.sleep(every_s)
