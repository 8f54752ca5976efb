"""The first delegate of every request: keeps connections alive, and takes shortcuts.

Two things happen here, before Tornado's routing:

- A request without a body, or with a small one (JSON, a form, a tiny file), is handed to
  the routing only once it has been read completely. Every handler streams its body
  (``BaseHandler`` is ``@stream_request_body``), so Tornado starts it — ``prepare()``
  included — as soon as the headers arrive. When ``prepare()`` answers right away (a 404 for
  ``repodata.json.bz2``, a 401 for a bad token), Tornado sees a response finished before the
  request was read and closes the connection, without saying so in a ``Connection: close``
  header; body bytes still unread make the close a TCP reset, which can reach the client
  before the answer does. Clients that reuse the connection (conda, rattler, pip, every
  HTTP/1.1 pool) then fail with "connection reset by peer", and a client that sent a body
  may never see its clear 4xx. Reading the small body first keeps both. Large bodies
  (uploads) still reach their handler at once, so a refused upload is not read at all.
- *Shortcuts* (functions of the request line and headers) may answer a bodyless request
  without any handler: ``channels.revalidation_answer`` answers anonymous conditional
  requests for repodata with 304, which is most of a busy channel's traffic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from tornado import httputil
from tornado.ioloop import IOLoop

log = logging.getLogger("jupyter_repo.server")

#: Bodies up to this size are read before the request is routed.
SMALL_BODY = 64 << 10

#: A shortcut returns the status line and headers of a body-less answer, or ``None``.
Shortcut = Callable[
    [Any, httputil.RequestStartLine, httputil.HTTPHeaders],
    tuple[httputil.ResponseStartLine, httputil.HTTPHeaders] | None,
]


def _read_first(headers: httputil.HTTPHeaders) -> bool:
    """Is this request's body absent or small enough to read before routing?"""
    if "Transfer-Encoding" in headers:
        return False
    length = headers.get("Content-Length")
    if length is None:
        return True
    try:
        return int(length) <= SMALL_BODY
    except ValueError:
        return False  # the handler answers 400


class RequestStart(httputil.HTTPMessageDelegate):
    """Defers body-less and small requests to the end of the request; runs the shortcuts."""

    def __init__(
        self,
        application: Any,
        connection: httputil.HTTPConnection,
        route: Callable[[], httputil.HTTPMessageDelegate],
        shortcuts: Sequence[Shortcut] = (),
    ) -> None:
        self.application = application
        self.connection = connection
        self.route = route
        self.shortcuts = shortcuts
        self.delegate: httputil.HTTPMessageDelegate | None = None
        self.deferred: tuple[httputil.RequestStartLine, httputil.HTTPHeaders] | None = None
        self.body: list[bytes] = []
        self.answer: tuple[httputil.ResponseStartLine, httputil.HTTPHeaders] | None = None

    def headers_received(self, start_line: Any, headers: httputil.HTTPHeaders) -> Any:
        if isinstance(start_line, httputil.RequestStartLine) and _read_first(headers):
            if "Content-Length" not in headers or headers["Content-Length"].strip() == "0":
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
        self.body.append(chunk)  # a small body, read before routing
        return None

    def finish(self) -> None:
        if self.answer is not None:
            self.connection.write_headers(*self.answer)
            self.connection.finish()
            return
        if self.deferred is not None:
            start_line, headers = self.deferred
            self.deferred = None
            if self.body:
                IOLoop.current().add_future(
                    asyncio.ensure_future(self._replay(start_line, headers)), _log_failure
                )
                return
            self.delegate = self.route()
            # For a streaming handler this starts prepare(); its body, empty, is complete.
            self.delegate.headers_received(start_line, headers)
        assert self.delegate is not None
        self.delegate.finish()

    async def _replay(
        self, start_line: httputil.RequestStartLine, headers: httputil.HTTPHeaders
    ) -> None:
        """Hand the whole small request to its handler, as Tornado would have."""
        self.delegate = self.route()
        ready = self.delegate.headers_received(start_line, headers)
        if ready is not None:
            await ready  # prepare() has run (and may have answered already)
        body, self.body = self.body, []
        for chunk in body:
            consumed = self.delegate.data_received(chunk)
            if consumed is not None:
                await consumed
        self.delegate.finish()

    def on_connection_close(self) -> None:
        if self.delegate is not None:
            self.delegate.on_connection_close()


def _log_failure(future: Any) -> None:
    if future.exception() is not None:
        log.error("request replay failed", exc_info=future.exception())
