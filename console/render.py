"""Server-rendered pages: one Jinja2 environment (autoescaped), and the few ways the console
words things for advocates (ages, reasons, statuses). Survivor-facing words live in domain.yml;
these are for staff."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic.response import HTTPResponse, html

from conversations import shifts
from conversations.alerts import language_label
from conversations.handoffs import OUTCOMES, Handoff
from infra.clock import utcnow

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

REASONS = {
    "danger": "Danger from someone",
    "self_harm": "Self-harm or suicide",
    "medical": "Medical emergency",
    "request": "Asked for a person",
}
CHANNELS = {"twilio": "SMS", "rest": "REST API", "socketio": "web chat", "webchat": "web chat"}
STATUS_LABELS = {"open": "Waiting", "claimed": "With an advocate", "handed_back": "Back with the bot",
                 "closed": "Closed"}


def reason_label(reason: str | None) -> str:
    return REASONS.get(reason or "", (reason or "not recorded").replace("_", " ").capitalize())


def channel_label(channel: str | None) -> str:
    return CHANNELS.get(channel or "", channel or "unknown")


def age(since: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if since is None:
        return ""
    minutes = int(((now or utcnow()) - since).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 24 else f"{hours // 24} d {hours % 24} h"


def utc_time(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def iso(value: dt.datetime | None) -> str:
    return value.replace(tzinfo=dt.timezone.utc).isoformat() if value else ""


def queue_row(handoff: Handoff, now: dt.datetime) -> dict:
    """What the queue shows of a handoff (also its JSON for the page's updates): never the
    conversation id, only its handle."""
    return {"id": handoff.id, "handle": handoff.handle, "priority": handoff.priority,
            "reason": reason_label(handoff.reason), "channel": channel_label(handoff.channel),
            "language": language_label(handoff.language), "status": handoff.status,
            "status_label": STATUS_LABELS.get(handoff.status, handoff.status), "age": age(handoff.created_at, now),
            "created_at": iso(handoff.created_at), "claimed_by": handoff.claimed_by or "",
            "told_unclaimed": handoff.unclaimed_notice_at is not None,
            "declined": handoff.declined_at is not None,
            "outcome": OUTCOMES.get(handoff.outcome or "", ""), "url": f"/handoffs/{handoff.id}"}


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not strftime: the same in every locale
AFTER_HOURS = {
    shifts.KEEP: "their requests wait for the shift",
    shifts.DROP: "their requests are not kept (emergencies always are)",
}


def shift_status(now: dt.datetime | None = None) -> dict:
    """The queue's line about staffed hours (conversations.shifts), so that advocates know what
    survivors who write now are told: {"state": "on" | "off" | "always" | "never" | "error",
    "text": ...}. A setting that cannot be read is shown, not raised: the console stays up for
    the advocates while the operator fixes it."""
    try:
        schedule = shifts.schedule()
        state = schedule.state(now)
        after_hours = shifts.after_hours_handoffs()
    except SystemExit as error:
        return {"state": "error", "text": f"The staffed hours cannot be read ({error}). Fix the setting and restart."}
    if schedule.always:
        return {"state": "always", "text": "Staffed 24/7"}
    if schedule.never:
        return {"state": "never", "text": "Never staffed: every handoff waits for review"}
    day, clock = shift_time(state.until, now, schedule.zone)
    zone = f"({schedule.timezone})"
    if state.on_shift:
        return {"state": "on", "text": f"On shift until {day + ' ' if day else ''}{clock} {zone}"}
    return {"state": "off", "text": f"Off shift. The next shift starts {day or 'at'} {clock} {zone}. Survivors who "
                                    f"write now are told nobody is on shift, given the 24/7 lines, and "
                                    f"{AFTER_HOURS[after_hours]}."}


def shift_time(moment: dt.datetime, now: dt.datetime | None, zone: dt.tzinfo) -> tuple[str, str]:
    """("", "5:00 PM") today, ("Mon", "9:00 AM") on another day, in the agency's zone; `now`
    naive means UTC, as the database's times."""
    local = moment.astimezone(zone)
    now = now or dt.datetime.now(dt.timezone.utc)
    today = (now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)).astimezone(zone).date()
    day = "" if local.date() == today else WEEKDAYS[local.weekday()]
    return day, f"{local.hour % 12 or 12}:{local.minute:02d} {'PM' if local.hour >= 12 else 'AM'}"


_environment = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                           trim_blocks=True, lstrip_blocks=True)
_environment.globals.update(reason_label=reason_label, channel_label=channel_label, age=age, utc_time=utc_time, iso=iso,
                            STATUS_LABELS=STATUS_LABELS, OUTCOMES=OUTCOMES)


def page(template: str, status: int = 200, **context) -> HTTPResponse:
    return html(_environment.get_template(template).render(**context), status=status)
