"""Custom actions, run by the Rasa action server (`rasa run actions --actions bot.actions`).

Split by concern, as in RasaHQ's financial-demo: finding help in the directory, and handing a
conversation to a human advocate.
"""
from bot.actions import find_help, handoff  # noqa: F401  (registers the actions)
