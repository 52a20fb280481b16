"""The SMS line: Twilio's webhook at /webhooks/twilio/webhook, answered through Twilio's REST API.

Rasa's own Twilio channel takes forged requests, blocks the server while it sends, breaks on a
picture, lets "/restart" past NLU and loses replies when a turn outlasts Twilio's 15 seconds.
This one
- refuses (403) any request whose X-Twilio-Signature does not verify for TWILIO_WEBHOOK_URL and
  TWILIO_AUTH_TOKEN, and handles nothing of it;
- answers Twilio at once with empty TwiML, and runs the turn in a background task that the end
  of the request does not cancel; one texter's messages are handled one at a time, in order;
- handles a MessageSid once (kept in the database), so Twilio's retries are not answered twice;
- honours STOP / START / HELP as Twilio's Advanced Opt-Out does: nothing is sent after STOP;
  HELP (or INFO) gets the carriers' required reply and is then answered as any message, so it
  reaches the danger check and, in a conversation an advocate holds, the advocate;
- a text past the per-texter rate limit still reaches the safety net (safety_net.py): read for
  danger, answered when it is an emergency or an advocate holds the conversation, else kept for
  the advocate, with one notice per streak that not every text gets an answer;
- ends the conversation on EXIT with a neutral reply; answers a picture without words kindly;
- on DELETE asks for a YES, and YES within 10 minutes erases the conversation and every record
  of it (conversations.retention), the texter's number included, and at Twilio too: every message's
  SID is noted, and erased conversations' messages are deleted from Twilio's log
  (twilio_erasure); anything else keeps it;
- sends one turn's replies as one text, cut into messages of at most 1,600 characters, options
  numbered ("Reply 1 for ..."); a bare number answers with the option's payload. What Twilio
  cannot take during an outage waits in the outbox (sms_outbox), retried in the background.
Phone numbers and message text are never logged; Rasa sees a random conversation id, never the
number, which is stored only hashed and encrypted (sms_store).
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Set, Text
from urllib.parse import parse_qsl

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.blueprint import channel_blueprint
from bot.channels.channel_responses import Words
from bot.channels.incoming import exit_message, user_message
from bot.channels.safety_net import over_the_limit
from bot.channels.sms import erasure as twilio_erasure
from bot.channels.sms import store as sms_store
from bot.channels.sms import text as sms_text
from bot.channels.sms.erasure import TwilioEraser
from bot.channels.sms.keywords import IncomingSms, delete_pending, what_to_do
from bot.channels.sms.outbox import SmsOutbox
from bot.dialogue import (
    UTTER_CHANNEL_ERROR,
    UTTER_PART_SMS_OPTION,
    UTTER_RATE_LIMITED,
    UTTER_SMS_DELETE_CONFIRM,
    UTTER_SMS_DELETED,
    UTTER_SMS_HELP,
    UTTER_SMS_PICTURE_ONLY,
)
from conversations.retention import erase_conversation
from infra import rate_limits, twilio_client

logger = logging.getLogger(__name__)

CHANNEL = "twilio"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
STOP_GRACE_S = 10.0  # how long a stopping server waits for turns still running

ADVOCATE_MARK = "advocate"  # the metadata key of an advocate's message (console/rasa_api.py)
# Responses (domain.yml) the channel says itself.


def offered_options(events: Sequence[Any]) -> List[Dict[Text, Any]]:
    """The options of the last message the texter got, if it had any (and they have not
    answered it yet): what a bare number picks from."""
    for event in reversed(events):
        if isinstance(event, UserUttered):
            return []
        if isinstance(event, BotUttered):
            return list(event.data.get("buttons") or event.data.get("quick_replies") or [])
    return []


@dataclass
class TexterQueue:
    """One texter's texts waiting to be handled, one at a time."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


class TurnCollector(CollectingOutputChannel):
    """Collects one turn's replies, sent afterwards as one text; named "twilio" so responses'
    `channel: twilio` variations apply."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL


class TwilioSmsOutput(OutputChannel):
    """Sends messages to a texter by conversation id: a turn's replies, and what an advocate
    sends through Rasa's API (`output_channel=latest`); what Twilio cannot take now waits in the
    outbox."""

    def __init__(self, words: Words, outbox: SmsOutbox):
        self.words, self.outbox = words, outbox

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await self.deliver(recipient_id, [message])

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.deliver(recipient_id, [{"text": text}])

    async def deliver(self, conversation_id: Text, messages: Sequence[Dict[Text, Any]],
                      may_wait: bool = True) -> None:
        """Send `messages` as one text (cut at 1,600 characters), unless the texter opted out;
        with `may_wait`, what Twilio cannot take now is kept and retried."""
        if not messages:  # a turn the bot did not answer (an advocate holds the conversation)
            return
        texter = await asyncio.to_thread(sms_store.texter_for_conversation, conversation_id)
        if texter is None:
            logger.warning("no texter for an SMS conversation (purged?); nothing sent")
            return
        if texter.opted_out:
            logger.info("texter opted out; nothing sent")
            return
        conversation = await self.words.conversation(conversation_id)
        text = sms_text.turn_text([(message.get("text") or "", await self._option_lines(message, conversation))
                                   for message in messages])
        from_advocate = any(message.get(ADVOCATE_MARK) for message in messages)  # Rasa merges the event's metadata
        await self.outbox.send(conversation_id, texter.phone, sms_text.split_for_sms(text), may_wait, from_advocate)

    async def _option_lines(self, message: Dict[Text, Any], conversation: Any) -> List[Text]:
        buttons = message.get("buttons") or message.get("quick_replies") or []
        return [await self.words.text(UTTER_PART_SMS_OPTION, conversation, number=number, title=button.get("title") or "")
                for number, button in enumerate(buttons, start=1)]

    async def say(self, conversation_id: Text, response_name: Text, may_wait: bool = True) -> None:
        conversation = await self.words.conversation(conversation_id)
        await self.deliver(conversation_id, [await self.words.response(response_name, conversation)], may_wait)


class TwilioSmsInput(InputChannel):
    """Twilio's webhook, verified, answered at once; each text handled in the background. The
    server also runs the outbox's sender, for replies Twilio could not take when they were said."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls()  # everything comes from the environment (CONTRACT: TWILIO_*)

    def __init__(self) -> None:
        self.words = Words(CHANNEL)
        self.limits = rate_limits.survivor_limits()  # per texter (their random conversation id)
        self.running: Set[asyncio.Task] = set()
        self.texter_queues: Dict[Text, TexterQueue] = {}
        self.outbox = SmsOutbox()
        self.outbox_sender: Optional[asyncio.Task] = None
        self.eraser = TwilioEraser()
        self.eraser_task: Optional[asyncio.Task] = None

    def get_output_channel(self) -> OutputChannel:
        return TwilioSmsOutput(self.words, self.outbox)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        twilio, on_new_message = channel_blueprint("navigator_twilio_sms", __name__, self.words, on_new_message)

        @twilio.listener("before_server_start")
        async def say_if_unsigned(_app: Any, _loop: Any) -> None:
            if not (os.environ.get("TWILIO_AUTH_TOKEN") and os.environ.get("TWILIO_WEBHOOK_URL")):
                logger.warning("TWILIO_AUTH_TOKEN or TWILIO_WEBHOOK_URL is not set: the SMS webhook refuses "
                               "every request")

        @twilio.listener("after_server_start")
        async def start_outbox(_app: Any, _loop: Any) -> None:
            self.outbox_sender = asyncio.ensure_future(self.outbox.run())
            self.eraser_task = asyncio.ensure_future(self.eraser.run())

        @twilio.listener("before_server_stop")
        async def finish(_app: Any, _loop: Any) -> None:
            if self.running:
                await asyncio.wait(set(self.running), timeout=STOP_GRACE_S)
            for task in (self.outbox_sender, self.eraser_task):  # what still waits stays in the database
                if task is not None:
                    task.cancel()
            await twilio_client.aclose()  # Sanic never closes the loop's Twilio session itself

        @twilio.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            form = twilio_form(request)
            if not signed_by_twilio(request, form):
                return response.text("Forbidden: X-Twilio-Signature does not verify", status=403)
            message_sid = form.get("MessageSid") or form.get("SmsSid")
            sms = IncomingSms.from_form(form)
            if not sms.phone:
                return response.text("Bad request: From (the number to answer) is required", status=400)
            first_time = True  # Twilio always sends a MessageSid; without one, no retry can be told apart
            try:
                if message_sid:
                    first_time = await asyncio.to_thread(sms_store.claim_message, message_sid)
            except Exception:  # a database fault must not drop a survivor's text
                logger.exception("could not record a MessageSid; handling the text anyway")
            if first_time:
                self._run_in_background(self.handle(sms, on_new_message))
            else:
                logger.info("a retried MessageSid was answered and not handled again")
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return twilio

    def _run_in_background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.running.add(task)  # a reference, so the task is not collected before it ends
        task.add_done_callback(self.running.discard)

    async def handle(self, sms: IncomingSms, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """One text, in order with the texter's others: keywords, a picture, or a turn."""
        key = sms_store.phone_hash(sms.phone)
        queue = self.texter_queues.setdefault(key, TexterQueue())
        queue.waiting += 1
        try:
            async with queue.lock:  # asyncio.Lock is first come, first served
                await self._handle(sms, on_new_message)
        except Exception:
            logger.exception("an SMS could not be handled")
        finally:
            queue.waiting -= 1
            if not queue.waiting:
                del self.texter_queues[key]

    async def _handle(self, sms: IncomingSms, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        texter = await asyncio.to_thread(sms_store.texter_for_phone, sms.phone)
        try:  # Twilio keeps the text: noted, to delete it there when the conversation is erased
            await asyncio.to_thread(twilio_erasure.remember, texter.conversation_id, sms.message_sid)
        except Exception:
            logger.exception("could not note an SMS for later erasure at Twilio")
        output = TwilioSmsOutput(self.words, self.outbox)
        action = what_to_do(sms, texter.opted_out, delete_pending(texter))
        logger.debug("SMS: %s", action)
        if texter.delete_requested_at is not None and action != "erase":  # anything else keeps it
            await asyncio.to_thread(sms_store.set_delete_requested, texter.conversation_id, False)
        if action == "erase":
            try:  # said first: the reply needs the number, which goes with the rest
                await output.say(texter.conversation_id, UTTER_SMS_DELETED, may_wait=False)
            finally:  # erased even if Twilio cannot take the reply
                await asyncio.to_thread(erase_conversation, texter.conversation_id)
                self.eraser.wake()  # and at Twilio, from TWILIO_ERASE_DELAY_S on
                logger.info("an SMS conversation was erased at the texter's request")
        elif action == "delete":
            await asyncio.to_thread(sms_store.set_delete_requested, texter.conversation_id, True)
            await output.say(texter.conversation_id, UTTER_SMS_DELETE_CONFIRM)
        elif action in ("stop", "start"):
            # Twilio confirms STOP and START itself; after STOP nothing more is sent.
            await asyncio.to_thread(sms_store.set_opted_out, texter.conversation_id, action == "stop")
        elif action == "picture":
            await output.say(texter.conversation_id, UTTER_SMS_PICTURE_ONLY)
        elif action in ("exit", "turn", "help"):
            if action == "help":  # the carriers' reply, then the words as any message
                await output.say(texter.conversation_id, UTTER_SMS_HELP)
            await self._turn(sms, texter, action == "exit", output, on_new_message)

    async def _turn(self, sms: IncomingSms, texter: sms_store.Texter, leaving: bool, output: "TwilioSmsOutput",
                    on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Run the text as a turn and send its replies as one text; past the rate limit, through
        the safety net (one notice per streak when it was only kept: every SMS costs the agency)."""
        collector = TurnCollector()
        if leaving:
            message = exit_message(collector, texter.conversation_id, CHANNEL)
        else:
            message = user_message(await self._answer_to_options(sms.body, texter.conversation_id),
                                   collector, texter.conversation_id, CHANNEL)
        try:
            limit = rate_limits.ALLOWED if leaving else self.limits.check(sender=texter.conversation_id)
            if limit.allowed:
                await on_new_message(message)
            elif not await over_the_limit(message, on_new_message, self.words.agent):
                if limit.first_refusal:
                    await output.say(texter.conversation_id, UTTER_RATE_LIMITED)
                return
        except Exception:
            logger.exception("an SMS turn failed")
            collector.messages.append(await self.words.response(
                UTTER_CHANNEL_ERROR, await self.words.conversation(texter.conversation_id)))
        await output.deliver(texter.conversation_id, collector.messages)

    async def _answer_to_options(self, body: Text, conversation_id: Text) -> Text:
        """A bare number picks from the options last offered; anything else stays as it is."""
        if sms_text.number_reply(body) is None:
            return body
        conversation = await self.words.conversation(conversation_id)
        options = offered_options(conversation.events if conversation else [])
        return sms_text.chosen_payload(body, options) or body


def twilio_form(request: Request) -> RequestParameters:
    """The webhook's form fields, blank ones included: Twilio signs those too (Sanic's
    `request.form` drops them, and a picture-only text has a blank Body)."""
    if not (request.content_type or "").startswith("application/x-www-form-urlencoded"):
        return RequestParameters()
    form = RequestParameters()
    for name, value in parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True):
        form.setdefault(name, []).append(value)
    return form


def signed_by_twilio(request: Request, form: RequestParameters) -> bool:
    """Whether X-Twilio-Signature is Twilio's signature of TWILIO_WEBHOOK_URL and the form."""
    token, url = os.environ.get("TWILIO_AUTH_TOKEN"), os.environ.get("TWILIO_WEBHOOK_URL")
    signature = request.headers.get("X-Twilio-Signature")
    if not (token and url and signature):
        return False
    return RequestValidator(token).validate(url, form, signature)
