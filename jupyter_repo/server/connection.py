"""The first delegate of every request: keeps connections alive, and takes shortcuts.

Two things happen here, before Tornado's routing:

- A request without a body is handed to the routing only once it has been read completely.
  Every handler streams its body (``BaseHandler`` is ``@stream_request_body``), so Tornado
  starts it — ``prepare()`` included — as soon as the headers arrive. When ``prepare()``
  answers right away (a 404 for ``repodata.json.bz2``, a 401 for a bad token), Tornado sees a
  response finished before the request was read and closes the connection, without saying
  so in a ``Connection: close`` header. Clients that reuse the connection (conda, rattler,
  pip, every HTTP/1.1 pool) then fail with "connection reset by peer". Waiting the few
  microseconds until the (empty) body is read keeps the connection usable.
- *Shortcuts* (functions of the request line and headers) may answer a bodyless request
  without any handler: ``channels.revalidation_answer`` answers anonymous conditional
  requests for repodata with 304, which is most of a busy channel's traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tornado import httputil

#: A shortcut returns the status line and headers of a body-less answer, or ``None``.
Shortcut = Callable[[Any, httputil.RequestStartLine, httputil.HTTPHeaders],
                    tuple[httputil.ResponseStartLine, httputil.HTTPHeaders] | None]


def _has_body(headers: httputil.HTTPHeaders) -> bool:
    length = headers.get("Content-Length")
    return "Transfer-Encoding" in headers or (length is not None and length.strip() != "0")


class RequestStart(httputil.HTTPMessageDelegate):
    """Defers body-less requests to the end of the request, and runs the shortcuts."""

    def __init__(self, application: Any, connection: httputil.HTTPConnection,
                 route: Callable[[], httputil.HTTPMessageDelegate],
                 shortcuts: Sequence[Shortcut] = ()) -> None:
        self.application = application
        self.connection = connection
        self.route = route
        self.shortcuts = shortcuts
        self.delegate: httputil.HTTPMessageDelegate | None = None
        self.deferred: tuple[httputil.RequestStartLine, httputil.HTTPHeaders] | None = None
        self.answer: tuple[httputil.ResponseStartLine, httputil.HTTPHeaders] | None = None

    def headers_received(self, start_line: Any, headers: httputil.HTTPHeaders) -> Any:
        if isinstance(start_line, httputil.RequestStartLine) and not _has_body(headers):
            for shortcut in self.shortcuts:
                self.answer = shortcut(self.application, start_line, headers)
                if self.answer is not None:
                    return None
            self.deferred = (start_line, headers)
            return None
        self.delegate = self.route()
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        if self.delegate is not None:
            return self.delegate.data_received(chunk)
        return None

    def finish(self) -> None:
        if self.answer is not None:
            self.connection.write_headers(*self.answer)
            self.connection.finish()
            return
        if self.deferred is not None:
            self.delegate = self.route()
            # For a streaming handler this starts prepare(); its body, empty, is complete.
            self.delegate.headers_received(*self.deferred)
            self.deferred = None
        assert self.delegate is not None
        self.delegate.finish()

    def on_connection_close(self) -> None:
        if self.delegate is not None:
            self.delegate.on_connection_close()
