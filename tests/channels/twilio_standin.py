"""A local stand-in for Twilio's REST API (TWILIO_API_URL points at it): it records every message
the navigator sends, checks the account and its credentials as Twilio does, and can be told to
fail the next calls (429, 500) to exercise retries. It deletes messages as Twilio does (DELETE on
a message: 204; 20009 while `busy_deletes` lasts, as Twilio answers before it has finished with
a message) and records which. It also serves a neutral page at /neutral,
where the web chat's quick exit goes in tests."""
from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional
from urllib.parse import parse_qs

from tests.helpers import free_port

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "standin-auth-token-0123456789abcdef"
NAVIGATOR_NUMBER = "+15550000100"
NEUTRAL_PAGE = b"<!doctype html><html lang='en'><title>Weather</title><h1>Weather today</h1></html>"


@dataclass
class SentSms:
    to: str
    sender: str
    body: str
    at: float
    sid: str = ""


@dataclass
class TwilioStandIn:
    port: int = field(default_factory=free_port)
    sent: List[SentSms] = field(default_factory=list)
    attempts: int = 0
    failures: List[int] = field(default_factory=list)  # statuses to answer next, in order
    unsubscribed: set = field(default_factory=set)  # numbers that texted STOP, as Twilio knows them
    deleted: List[str] = field(default_factory=list)  # SIDs of messages deleted through the API
    busy_deletes: int = 0  # how many DELETE calls to answer with 20009 ("not complete yet") first
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "TwilioStandIn":
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, phone: str) -> List[SentSms]:
        with self.lock:
            return [sms for sms in self.sent if sms.to == phone]

    def fail_next(self, *statuses: int) -> None:
        with self.lock:
            self.failures.extend(statuses)


def _handler(standin: TwilioStandIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:  # keep test output quiet
            pass

        def _answer(self, status: int, body: Dict, headers: Optional[Dict[str, str]] = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/neutral"):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(NEUTRAL_PAGE)))
                self.end_headers()
                self.wfile.write(NEUTRAL_PAGE)
            else:
                self._answer(404, {"code": 20404, "message": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if self.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                return self._answer(404, {"code": 20404, "message": "The requested resource was not found"})
            if self.headers.get("Authorization") != expected:
                return self._answer(401, {"code": 20003, "message": "Authenticate"})
            with standin.lock:
                standin.attempts += 1
                failure = standin.failures.pop(0) if standin.failures else None
            if failure:
                return self._answer(failure, {"code": 20429 if failure == 429 else 20500, "message": "try later"},
                                    {"Retry-After": "0"} if failure == 429 else None)
            if form.get("To") in standin.unsubscribed:
                return self._answer(400, {"code": 21610, "message": f"{form.get('To')} is unsubscribed"})
            if not form.get("Body") or len(form["Body"]) > 1600 or form.get("From") != NAVIGATOR_NUMBER:
                return self._answer(400, {"code": 21617, "message": "bad message"})
            with standin.lock:
                sid = f"SM{len(standin.sent) + 1:032d}"
                standin.sent.append(SentSms(form["To"], form["From"], form["Body"], time.monotonic(), sid))
            self._answer(201, {"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]})

        def do_DELETE(self) -> None:
            prefix = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"
            expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if not (self.path.startswith(prefix) and self.path.endswith(".json")):
                return self._answer(404, {"code": 20404, "message": "The requested resource was not found"})
            if self.headers.get("Authorization") != expected:
                return self._answer(401, {"code": 20003, "message": "Authenticate"})
            sid = self.path[len(prefix):-len(".json")]
            with standin.lock:
                if standin.busy_deletes:
                    standin.busy_deletes -= 1
                    busy = True
                else:
                    busy = False
                    standin.deleted.append(sid)
            if busy:
                return self._answer(409, {"code": 20009, "message": "Cannot delete this resource before it is complete"})
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
