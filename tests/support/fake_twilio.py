"""A local fake of Twilio's Messages REST API, for tests. It never talks to anything but 127.0.0.1.

In a test, run it in a thread::

    with FakeTwilio() as twilio:
        settings.TWILIO_API_BASE_URL = twilio.url   # or twilio.settings() / twilio.env() for a subprocess
        ...
        assert twilio.messages[0]["to"] == "+447911123456"

or as its own process (it prints ``fake-twilio listening on http://127.0.0.1:PORT`` once it is up)::

    python -m tests.support.fake_twilio --port 0 --record /tmp/sms.jsonl [--latency-ms 150]

It answers ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (form-encoded To, From, Body) with 201 and a
message resource shaped like Twilio's, and records every accepted message: in ``messages`` (thread-safe)
and, when a record file is given, as one JSON line per message appended to that file. With a latency
(``latency_ms``, ``--latency-ms``) it takes that long to answer each message request, as a real provider
does (about 150 ms), while answering others at the same time.

Failures are scriptable, in the thread with ``fail_next`` / ``reject_next`` / ``reset``, and for a separate
process through the control endpoints that ``RemoteFakeTwilio`` wraps:

* ``fail_next(times=N)``: the next N message requests get 503 (a transient failure); ``times=None`` keeps
  failing until ``reset()``.
* ``reject_next(times=N, code=21211)``: the next N get 400 with a Twilio error body
  ``{"code": 21211, "message": ..., "more_info": ..., "status": 400}`` (a permanent failure).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from urllib.request import Request, urlopen

# Credentials and numbers for pointing the project at the fake. The numbers are Twilio's magic test numbers.
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token"
FROM_NUMBER = "+15005550006"
WHATSAPP_FROM = "+14155238886"

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account_sid>AC[0-9a-fA-F]{32})/Messages\.json$")
CONTROL_PREFIX = "/_fake/"

ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "The 'From' number is required.",
    21604: "The 'To' number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    20503: "Service Unavailable",
}


def twilio_error(status: int, code: int, message: str | None = None) -> dict:
    """An error body in the shape Twilio's REST API returns."""
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class _Fault:
    status: int
    code: int
    remaining: int | None  # None: until reset


class _Server(ThreadingHTTPServer):
    # Workers send a batch's messages at once; the listen backlog of 5 would reset connections that a real
    # provider accepts.
    request_queue_size = 256


class FakeTwilio:
    """The fake server. Use as a context manager, or call start() and stop()."""

    def __init__(self, *, port: int = 0, record_path: str | Path | None = None, latency_ms: float = 0):
        self._requested_port = port
        self.record_path = Path(record_path) if record_path else None
        self.answer_delay = latency_ms / 1000
        self._lock = threading.Lock()
        self._messages: list[dict] = []
        self._requests: list[dict] = []
        self._faults: list[_Fault] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        if self._server is not None:
            raise RuntimeError("The fake Twilio is already running.")
        self._server = _Server(("127.0.0.1", self._requested_port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The fake Twilio is not running.")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The base URL to put in TWILIO_API_BASE_URL."""
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, str]:
        """Django settings that point the project's Twilio client at this fake."""
        return {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
            "TWILIO_API_BASE_URL": self.url,
        }

    def env(self) -> dict[str, str]:
        """The same as environment variables, for a worker subprocess."""
        return self.settings()

    # --- scripting -------------------------------------------------------------------------------------

    def fail_next(self, times: int | None = 1, *, status: int = 503) -> None:
        """Answer the next `times` message requests (None: all until reset) with a transient error."""
        self._add_fault(_Fault(status=status, code=20000 + status, remaining=times))

    def reject_next(self, times: int | None = 1, *, code: int = 21211, status: int = 400) -> None:
        """Answer the next `times` message requests (None: all until reset) with a Twilio error code."""
        self._add_fault(_Fault(status=status, code=code, remaining=times))

    def reset(self) -> None:
        """Forget scripted failures and everything recorded in memory (the record file is kept)."""
        with self._lock:
            self._faults.clear()
            self._messages.clear()
            self._requests.clear()

    def _add_fault(self, fault: _Fault) -> None:
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("times must be at least 1, or None for 'until reset'")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.pop(0)
            return fault

    # --- what was seen ---------------------------------------------------------------------------------

    @property
    def messages(self) -> list[dict]:
        """Every accepted message resource, oldest first (a copy)."""
        with self._lock:
            return [dict(m) for m in self._messages]

    @property
    def requests(self) -> list[dict]:
        """Every message request, accepted or not: to, from, body, status_callback, auth_user, and the status
        answered."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def _log_request(self, entry: dict) -> None:
        with self._lock:
            self._requests.append(entry)

    def _accept(self, message: dict) -> None:
        with self._lock:
            self._messages.append(message)
            if self.record_path is not None:
                with self.record_path.open("a", encoding="utf-8") as record:
                    record.write(json.dumps(message) + "\n")


def new_message(*, account_sid: str, to: str, from_: str, body: str) -> dict:
    sid = "SM" + uuid.uuid4().hex
    now = format_datetime(datetime.now(UTC))  # RFC 2822, as Twilio writes dates
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": from_,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": to,
        "uri": uri,
    }


def _basic_auth_user(header: str | None) -> str | None:
    """The user name from a well-formed Basic Authorization header with a non-empty password, else None."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[len("Basic ") :], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not user or not password:
        return None
    return user


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeTwilio/1.0"

        def log_message(self, format, *args):
            pass  # keep test output quiet

        def _send_json(self, status: int, payload) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self):
            if self.path == CONTROL_PREFIX + "messages":
                return self._send_json(200, fake.messages)
            if self.path == CONTROL_PREFIX + "requests":
                return self._send_json(200, fake.requests)
            return self._send_json(404, twilio_error(404, 20404))

        def do_POST(self):
            if self.path.startswith(CONTROL_PREFIX):
                return self._control(self.path[len(CONTROL_PREFIX) :])
            match = MESSAGES_PATH.match(self.path)
            if match is None:
                return self._send_json(404, twilio_error(404, 20404))
            raw = self._read_body()
            auth_user = _basic_auth_user(self.headers.get("Authorization"))
            if auth_user is None:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
                data = json.dumps(twilio_error(401, 20003)).encode()
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None
            if fake.answer_delay:
                time.sleep(fake.answer_delay)
            form = {key: values[0] for key, values in parse_qs(raw.decode("utf-8")).items()}
            entry = {
                "account_sid": match["account_sid"],
                "auth_user": auth_user,
                "to": form.get("To", ""),
                "from": form.get("From", ""),
                "body": form.get("Body", ""),
                "status_callback": form.get("StatusCallback", ""),
            }
            for field, code in (("To", 21604), ("From", 21603), ("Body", 21602)):
                if not form.get(field):
                    fake._log_request({**entry, "status": 400})
                    return self._send_json(400, twilio_error(400, code))
            fault = fake._take_fault()
            if fault is not None:
                fake._log_request({**entry, "status": fault.status})
                return self._send_json(fault.status, twilio_error(fault.status, fault.code))
            message = new_message(
                account_sid=match["account_sid"], to=form["To"], from_=form["From"], body=form["Body"]
            )
            fake._accept(message)
            fake._log_request({**entry, "status": 201, "sid": message["sid"]})
            return self._send_json(201, message)

        def _control(self, command: str):
            try:
                options = json.loads(self._read_body() or b"{}")
            except ValueError:
                return self._send_json(400, {"error": "expected a JSON body"})
            if command == "reset":
                fake.reset()
            elif command == "fail":
                fake.fail_next(options.get("times", 1), status=int(options.get("status", 503)))
            elif command == "reject":
                fake.reject_next(
                    options.get("times", 1),
                    code=int(options.get("code", 21211)),
                    status=int(options.get("status", 400)),
                )
            else:
                return self._send_json(404, {"error": f"unknown command {command!r}"})
            return self._send_json(200, {"ok": True})

    return Handler


class RemoteFakeTwilio:
    """Script and inspect a fake running as a separate process, through its control endpoints."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def _call(self, method: str, command: str, payload: dict | None = None):
        data = json.dumps(payload or {}).encode() if method == "POST" else None
        request = Request(
            self.url + CONTROL_PREFIX + command,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def fail_next(self, times: int | None = 1, *, status: int = 503) -> None:
        self._call("POST", "fail", {"times": times, "status": status})

    def reject_next(self, times: int | None = 1, *, code: int = 21211, status: int = 400) -> None:
        self._call("POST", "reject", {"times": times, "code": code, "status": status})

    def reset(self) -> None:
        self._call("POST", "reset")

    @property
    def messages(self) -> list[dict]:
        return self._call("GET", "messages")

    @property
    def requests(self) -> list[dict]:
        return self._call("GET", "requests")


def read_records(path: str | Path) -> list[dict]:
    """The messages a fake appended to its record file (none when the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--record", help="append each accepted message to this file as a JSON line")
    parser.add_argument("--latency-ms", type=float, default=0, help="answer each message after this long")
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with FakeTwilio(port=args.port, record_path=args.record, latency_ms=args.latency_ms) as fake:
        print(f"fake-twilio listening on {fake.url}", flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
