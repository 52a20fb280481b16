"""A background task of the Rasa server that does the work that has come due, then sleeps until
the next piece is due (at most IDLE_CHECK_S, so that work another server queued is found too), and
wakes at once when told: the SMS outbox's sender (sms_outbox) and the Twilio eraser
(twilio_erasure). A database fault is logged and retried; only cancelling stops it."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Optional

logger = logging.getLogger(__name__)

IDLE_CHECK_S = 15.0
MIN_PAUSE_S = 0.05


class DueWorkLoop:
    """Subclasses say what is due (`do_due`), when the next piece is (`next_due_at`) and what time it is (`now`)."""

    failure_message = "background work could not be read; trying again soon"

    def __init__(self) -> None:
        self._wake: Optional[asyncio.Event] = None

    def wake(self) -> None:
        """New work was just queued: look now rather than at the next idle check."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Until cancelled."""
        self._wake = asyncio.Event()
        while True:
            try:
                await self.do_due()
                pause = await self._seconds_to_next()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a moment; never stop
                logger.exception(self.failure_message)
                pause = self.pause_after_failure()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=pause)
            except asyncio.TimeoutError:
                pass

    async def _seconds_to_next(self) -> float:
        at = await asyncio.to_thread(self.next_due_at)
        if at is None:
            return IDLE_CHECK_S
        return min(max((at - self.now()).total_seconds(), MIN_PAUSE_S), IDLE_CHECK_S)

    def pause_after_failure(self) -> float:
        return IDLE_CHECK_S

    async def do_due(self) -> int:
        raise NotImplementedError

    def next_due_at(self) -> Optional[dt.datetime]:
        """When the next piece of work is due, or None; blocking (run in a thread)."""
        raise NotImplementedError

    def now(self) -> dt.datetime:
        raise NotImplementedError
