"""A stand-in repository on a free 127.0.0.1 port that records every request it gets,
to check that a token configured for another repository never reaches it."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RECORDER_TOKEN = "jr-recorder-" + "r" * 32


class Recorder(ThreadingHTTPServer):
    """Answers like a tiny repository; remembers every request line and header.

    ``redirects`` maps a path prefix to a Location to send instead (302).
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[dict[str, Any]] = []
        self.redirects: dict[str, str] = {}
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.port = self.server_address[1]

    def saw(self, secret: str) -> bool:
        """Whether ``secret`` reached this server anywhere: path, query or any header
        (Basic credentials decoded too)."""
        for request in self.requests:
            texts = [request["path"], *request["headers"].values()]
            for value in request["headers"].values():
                if value.lower().startswith("basic "):
                    texts.append(base64.b64decode(value[6:] + "==").decode("latin-1"))
            if any(secret in text for text in texts):
                return True
        return False


class _RecordingHandler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *_args: Any) -> None:
        return None

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items())}
        )
        for prefix, location in self.server.redirects.items():
            if self.path.startswith(prefix):
                self.send_response(302)
                self.send_header("Location", location + self.path[len(prefix) :])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        route = self.path.split("?", 1)[0].rsplit("/api", 1)[-1]
        body: Any = {}
        if route == "/user":
            body = {"login": "recorder", "name": ""}
        elif route in ("/namespaces", "/search"):
            body = []
        elif route == "/authentications" and self.command == "POST":
            body = {"token": RECORDER_TOKEN}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer


@contextmanager
def recording() -> Iterator[Recorder]:
    recorder = Recorder()
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        recorder.shutdown()
        recorder.server_close()
