"""Search as you type, on the kernel's asyncio loop.

Each keystroke calls :meth:`LiveSearch.submit`. It cancels the pending debounce (so a burst
of typing makes one request), then runs the blocking ``fetch(query)`` — the repository's
``/api/search`` through :meth:`RepoClient.search`, one page, never a whole package list — on
a small thread pool. An answer that arrives after a newer query was typed is stale: it is
dropped (counted in ``dropped``), never shown over the newer one.

Without a running loop (a terminal IPython, a plain script) :meth:`submit` searches at once,
blocking, which is what a one-shot ``search("query")`` wants there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def executor() -> concurrent.futures.ThreadPoolExecutor:
    """The searches' threads (made on first use, shared by all widgets of the kernel)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="jupyter-repo-search")
        return _executor


class LiveSearch:
    """Debounced, stale-dropping search.

    ``fetch(query)`` blocks and returns an answer (or raises); ``on_start(generation,
    query)`` is called when a request is sent, ``on_answer(generation, query, answer)`` and
    ``on_error(generation, query, error)`` only for the newest query, on the loop.
    """

    def __init__(self, fetch: Callable[[str], Any], *,
                 on_start: Callable[[int, str], None],
                 on_answer: Callable[[int, str, Any], None],
                 on_error: Callable[[int, str, BaseException], None],
                 debounce: float = 0.1) -> None:
        self.fetch = fetch
        self.on_start = on_start
        self.on_answer = on_answer
        self.on_error = on_error
        self.debounce = max(0.0, float(debounce))
        #: Incremented by every query; an answer for an older one is stale.
        self.generation = 0
        #: Stale answers dropped so far (answers that came back after a newer query).
        self.dropped = 0
        #: Requests actually sent (keystrokes within the debounce time make one).
        self.sent = 0
        self._pending: asyncio.Task[None] | None = None

    def submit(self, query: str, *, immediate: bool = False) -> int:
        """A new query: supersedes everything before it; returns its generation.

        ``immediate`` skips the debounce (a query given up front, not typed)."""
        self.generation += 1
        generation = self.generation
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()  # still in its debounce: no request for it at all
        self._pending = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self._search_now(generation, query)
        else:
            self._pending = loop.create_task(
                self._debounced(generation, query, 0.0 if immediate else self.debounce))
        return generation

    def _search_now(self, generation: int, query: str) -> None:
        self.sent += 1
        self.on_start(generation, query)
        try:
            answer = self.fetch(query)
        except Exception as error:
            self.on_error(generation, query, error)
        else:
            self.on_answer(generation, query, answer)

    async def _debounced(self, generation: int, query: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if generation != self.generation:
            return
        self.sent += 1
        self.on_start(generation, query)
        loop = asyncio.get_running_loop()
        # Shielded: a newer query does not cancel a request in flight (its thread would go
        # on anyway); its answer is dropped below when it is stale.
        request = loop.run_in_executor(executor(), self.fetch, query)
        try:
            answer = await asyncio.shield(request)
        except asyncio.CancelledError:
            request.add_done_callback(lambda _done: self._count_stale())
            raise
        except Exception as error:
            if generation == self.generation:
                self.on_error(generation, query, error)
            else:
                self.dropped += 1
            return
        if generation == self.generation:
            self.on_answer(generation, query, answer)
        else:
            self.dropped += 1

    def _count_stale(self) -> None:
        self.dropped += 1

    def cancel(self) -> None:
        """Forget the pending query (e.g. when the widget is closed)."""
        self.generation += 1
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
