"""A repository that lies: it answers the two requests ``jupyter repo open`` makes (the
package, then a file's bytes) with whatever a test plants -- a file name that climbs out
of the folder, an archive the real server would have refused at upload. The real server
cannot be made to serve these (it inspects every upload), so this stands in for a
compromised or malicious one; the client under test is real and runs as a user runs it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


@dataclass
class Planted:
    """One package: its type, version and files (basename -> bytes), as the liar tells."""

    owner: str
    name: str
    kind: str
    files: dict[str, bytes] = field(default_factory=dict)
    version: str = "1"

    def package_json(self) -> dict[str, object]:
        return {
            "owner": self.owner,
            "name": self.name,
            "versions": [self.version],
            "latest_version": self.version,
            "package_types": [self.kind],
            "files": [
                {"basename": basename, "type": self.kind, "version": self.version}
                for basename in self.files
            ],
        }


@contextmanager
def hostile_repository(planted: Planted) -> Iterator[str]:
    """Serve ``planted`` on a free 127.0.0.1 port; yields the repository URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0])
            package = f"/api/package/{planted.owner}/{planted.name}"
            download = f"/api/download/{planted.owner}/{planted.name}/{planted.version}/"
            if path == package:
                self.answer(json.dumps(planted.package_json()).encode(), "application/json")
            elif path.startswith(download) and path[len(download) :] in planted.files:
                self.answer(planted.files[path[len(download) :]], "application/octet-stream")
            else:
                self.answer(b'{"error": "not found"}', "application/json", 404)

        def answer(self, body: bytes, kind: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
