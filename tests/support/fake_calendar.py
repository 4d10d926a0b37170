"""A calendar server on 127.0.0.1 in a thread, for the import of a host's own calendar: it serves what a test
puts at a path (an .ics, a redirect, a slow or endless answer) and remembers every request it got."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (a server that does not answer in time).
    delay: float = 0.0
    # Leave out Content-Length and send the body in pieces until it is done (a streamed answer).
    streamed: bool = False


@dataclass
class Request:
    path: str
    host: str


class FakeCalendarServer:
    def __init__(self):
        self.answers: dict[str, Answer] = {}
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):  # noqa: N802 - the name http.server calls
                server.requests.append(Request(path=self.path, host=self.headers.get("Host", "")))
                answer = server.answers.get(self.path, Answer(status=404, body=b"not here"))
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in {"Content-Type": "text/calendar; charset=utf-8", **answer.headers}.items():
                    self.send_header(name, value)
                if not answer.streamed:
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                try:
                    for start in range(0, len(answer.body), 8192):
                        self.wfile.write(answer.body[start : start + 8192])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the reader stopped at its size limit

            def log_message(self, format, *args):  # noqa: A002 - http.server's signature
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, body: bytes = b"", **answer) -> str:
        self.answers[path] = Answer(body=body, **answer)
        return self.url(path)

    def __enter__(self) -> "FakeCalendarServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
