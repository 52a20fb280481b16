"""Run the advocate console: `python -m console` (make run starts it)."""
from __future__ import annotations

import logging
import os

from console.app import create_app
from navigator import config, db


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    db.create_schema()
    app = create_app()
    app.run(host=os.environ.get("CONSOLE_HOST", "127.0.0.1"), port=config.port("CONSOLE_PORT"),
            workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
