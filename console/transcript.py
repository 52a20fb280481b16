"""A conversation as an advocate reads it: who said what and when, from Rasa's tracker events.

Only what people saw goes in: the survivor's messages (also those sent while the bot was
paused), the bot's, the advocates' (bot events carrying `metadata.advocate`), and when the bot
was paused and resumed. Sender ids and message metadata are left out.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional


@dataclasses.dataclass(frozen=True)
class Line:
    at: dt.datetime  # UTC
    who: str  # survivor | bot | advocate | paused | resumed
    text: str = ""
    advocate: Optional[str] = None
    buttons: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"at": self.at.replace(tzinfo=dt.timezone.utc).isoformat(), "who": self.who, "text": self.text,
                "advocate": self.advocate, "buttons": list(self.buttons)}


SPEAKERS = ("survivor", "bot", "advocate")  # the `from` of a message in the API (CONTRACT.md)


def as_messages(lines: list[Line]) -> list[dict]:
    """The conversation as the API gives it: who said what and when (an advocate's message also
    says which advocate, as the console shows it), without the pauses and resumes: the handoff's
    own times say those."""
    return [{"from": line.who, "text": line.text, "at": line.to_dict()["at"],
             **({"advocate": line.advocate} if line.advocate else {})}
            for line in lines if line.who in SPEAKERS]


def _time(event: dict) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(float(event.get("timestamp") or 0), dt.timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError):
        return dt.datetime(1970, 1, 1)


def transcript_lines(tracker: dict) -> list[Line]:
    lines: list[Line] = []
    for event in tracker.get("events") or []:
        kind = event.get("event")
        if kind == "user":
            lines.append(Line(_time(event), "survivor", event.get("text") or ""))
        elif kind == "bot":
            advocate = (event.get("metadata") or {}).get("advocate")
            buttons = tuple(str(b.get("title", "")) for b in ((event.get("data") or {}).get("buttons") or [])
                            if isinstance(b, dict))
            lines.append(Line(_time(event), "advocate" if advocate else "bot", event.get("text") or "",
                              advocate=str(advocate) if advocate else None, buttons=buttons))
        elif kind in ("pause", "resume"):
            lines.append(Line(_time(event), "paused" if kind == "pause" else "resumed"))
    return lines
