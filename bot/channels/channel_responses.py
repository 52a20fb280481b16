"""The words a channel says itself (SMS options and keyword replies, the web chat's labels), taken
from the running model's domain through Rasa's response generator: they stay in domain.yml with
every other word the survivor sees, and follow its variations like any response (`channel:`,
and `condition:` on the conversation's slots, such as its language)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.shared.core.trackers import DialogueStateTracker


class Words:
    """Reads responses from the agent of a running Rasa server (attached once the server starts)."""

    def __init__(self, channel: Text):
        self.channel = channel
        self.app: Any = None

    def attach(self, app: Any) -> None:
        self.app = app

    @property
    def agent(self) -> Any:
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        if agent is None or agent.nlg is None:
            raise LookupError("the model is not loaded yet")
        return agent

    async def conversation(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation as last saved (its slots choose among variations), or None."""
        return await self.agent.tracker_store.retrieve(conversation_id)

    async def response(self, name: Text, conversation: Optional[DialogueStateTracker] = None,
                       **values: Any) -> Dict[Text, Any]:
        """The response `name` (text, buttons) with `{placeholders}` filled from `values`."""
        tracker = conversation or DialogueStateTracker.from_events("", [])
        message = await self.agent.nlg.generate(name, tracker, self.channel, **values)
        if not message:
            raise KeyError(f"domain.yml has no response named {name!r}")
        return message

    async def text(self, name: Text, conversation: Optional[DialogueStateTracker] = None, **values: Any) -> Text:
        return ((await self.response(name, conversation, **values)).get("text") or "").strip()

    async def texts(self, names: List[Text]) -> Dict[Text, Text]:
        return {name: await self.text(name) for name in names}
