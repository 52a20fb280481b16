"""Custom actions, run by the Rasa action server (`rasa run actions --actions bot.actions`).

Split by concern, as in RasaHQ's financial-demo: finding help in the directory, handing a
conversation to a human advocate, reading a bare answer against the last question, and what the
bot tells every person (notices, privacy, confidentiality).
"""
from bot.actions import find_help, handoff, notices, privacy, routing  # noqa: F401  (registers the actions)
