"""Search as you type, on the kernel's asyncio loop.

Each keystroke calls :meth:`LiveSearch.submit`. It cancels the pending debounce (so a burst
of typing makes one request), then runs the blocking ``fetch(query)`` — the repository's
``/api/search`` through :meth:`RepoClient.search`, one page, never a whole package list — on
a small thread pool. An answer that arrives after a newer query was typed is stale: it is
dropped (counted in ``dropped``), never shown over the newer one.

Without a running loop (a terminal IPython, a plain script) :meth:`submit` searches at once,
blocking, which is what a one-shot ``search("query")`` wants there. :meth:`wait` returns once
the newest query's answer has been handed over, for code that drives a search
(:mod:`~jupyter_repo.widgets.driving`).
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
                max_workers=4, thread_name_prefix="jupyter-repo-search"
            )
        return _executor


class LiveSearch:
    """Debounced, stale-dropping search.

    ``fetch(query)`` blocks and returns an answer (or raises); ``on_start(generation,
    query)`` is called when a request is sent, ``on_answer(generation, query, answer)`` and
    ``on_error(generation, query, error)`` only for the newest query, on the loop.
    """

    def __init__(
        self,
        fetch: Callable[[str], Any],
        *,
        on_start: Callable[[int, str], None],
        on_answer: Callable[[int, str, Any], None],
        on_error: Callable[[int, str, BaseException], None],
        debounce: float = 0.1,
    ) -> None:
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
        #: The newest generation whose answer was handed over (or that was cancelled).
        self.settled = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
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
                self._debounced(generation, query, 0.0 if immediate else self.debounce)
            )
        return generation

    async def wait(self, timeout: float = 10.0) -> None:
        """Until the answer (or error) for the newest query has been handed over."""
        generation = self.generation
        if self.settled < generation:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append((generation, waiter))
            await asyncio.wait_for(waiter, timeout)

    def _settle(self, generation: int) -> None:
        self.settled = max(self.settled, generation)
        waiting = []
        for wanted, waiter in self._waiters:
            if wanted <= self.settled:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiting.append((wanted, waiter))
        self._waiters = waiting

    def _hand_over(
        self, generation: int, query: str, answer: Any, error: BaseException | None
    ) -> None:
        try:
            if error is not None:
                self.on_error(generation, query, error)
            else:
                self.on_answer(generation, query, answer)
        finally:
            self._settle(generation)

    def _search_now(self, generation: int, query: str) -> None:
        self.sent += 1
        self.on_start(generation, query)
        try:
            answer = self.fetch(query)
        except Exception as error:
            self._hand_over(generation, query, None, error)
        else:
            self._hand_over(generation, query, answer, None)

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
                self._hand_over(generation, query, None, error)
            else:
                self.dropped += 1
            return
        if generation == self.generation:
            self._hand_over(generation, query, answer, None)
        else:
            self.dropped += 1

    def _count_stale(self) -> None:
        self.dropped += 1

    def cancel(self) -> None:
        """Forget the pending query (e.g. the query was cleared, or the widget closed)."""
        self.generation += 1
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
        self._settle(self.generation)  # no answer will come
