"""Run the advocate console: `python -m console`, on a database already set up (`make setup`);
`navigator serve` starts it through navigator/console_server.py, which creates the schema first
(the console may not import the operations layer that owns it).

Listens on CONSOLE_HOST (default 127.0.0.1) : CONSOLE_PORT; reaches Rasa's HTTP API at
127.0.0.1:RASA_PORT with RASA_API_TOKEN (see console.settings for the rest).
"""
from __future__ import annotations

import logging
import os

from console.app import create_app
from infra import config


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app = create_app()
    app.run(host=os.environ.get("CONSOLE_HOST", "127.0.0.1"), port=config.port("CONSOLE_PORT"),
            workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
