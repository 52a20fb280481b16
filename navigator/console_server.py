"""How the navigator starts its advocate console: `python -m navigator.console_server` (what
`navigator serve` runs), with the settings of `python -m console` (console/__main__.py).

Why an entry here: the console must start on the whole schema, created or brought up to date
(navigator.schema), and the console may not import the operations layer that owns it. So this
entry, like navigator/rasa_server.py and navigator/action_server.py, loads the schema (which also
makes the process complete for retention) and then hands over to the console's own main.
`python -m console` alone still runs the console, on a database `make setup` already created.
"""
from __future__ import annotations

from console import __main__ as console_main
from navigator import schema


def main() -> None:
    schema.create_schema()
    console_main.main()


if __name__ == "__main__":
    main()
