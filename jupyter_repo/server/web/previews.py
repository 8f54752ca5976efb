"""Previews of stored notebooks as HTML: rendered once per content, never in this process.

A notebook page asks :meth:`NotebookPreviews.preview`, which answers from this process's
memory, else from the ``render_cache`` table every server process shares, else renders
the notebook in a worker process (:mod:`render_pool`) under a time and memory limit and
keeps the result (or, for a while, why there is none). One process renders a notebook
while the others wait for its result (a claim in the table). Its answers never take long:

- a notebook file larger than ``max_bytes`` is "too large to preview" at once, unread;
- concurrent viewers of one notebook share one look-up and one rendering, and wait for it
  on the event loop, holding no worker thread, for ``wait`` seconds at most; after that
  their page says "being rendered" and reloads itself;
- at most ``processes`` renderings run at once; the rest queue on the event loop.

The measuring against the rest of the budget (cells, outputs, text) happens in the worker,
which has to parse the notebook anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from traitlets import Float, Instance, Integer
from traitlets.config import LoggingConfigurable

from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.services import renders
from jupyter_repo.server.web.notebook_diff import diff_renderer_id
from jupyter_repo.server.web.notebooks import Budget, renderer_id
from jupyter_repo.server.web.render_pool import (
    START_TIMEOUT,
    Outcome,
    PoolClosed,
    RenderPool,
    WorkerLimits,
)

MIB = 1 << 20
#: Seconds between looks for a rendering another process claimed.
CLAIM_POLL = 1.0
#: Longest reason kept for a notebook that could not be rendered (nbconvert's errors).
MAX_MESSAGE = 1000


@dataclass(frozen=True)
class Preview:
    """What a notebook page shows: the rendered cells (``html``, UTF-8), why there are
    none (``too_large`` and ``message``), or that they are still being rendered."""

    html: bytes | None = None
    message: str = ""
    too_large: bool = False
    pending: bool = False


@dataclass(frozen=True)
class StoredNotebook:
    """A stored notebook file: its content's digest, where its bytes are, how many."""

    sha256: str
    blob_key: str
    size: int
    filename: str


class NotebookPreviews(LoggingConfigurable):
    """Renders notebooks for their pages in worker processes, within a budget."""

    max_bytes = Integer(
        8 * MIB,
        help="Largest notebook file previewed on its page; larger ones are offered "
        "as a download only, without being read.",
    ).tag(config=True)
    max_cells = Integer(2_000, help="Most cells of a previewed notebook.").tag(config=True)
    max_outputs = Integer(5_000, help="Most outputs of a previewed notebook.").tag(config=True)
    max_text_chars = Integer(
        1 * MIB,
        help="Most characters of cell sources and non-image outputs in a previewed "
        "notebook: the text that is highlighted, parsed as Markdown and sanitised (images "
        "count only towards max_bytes).",
    ).tag(config=True)
    max_html_bytes = Integer(
        16 * MIB,
        help="Largest rendering kept and shown; a notebook rendering to more is "
        "offered as a download only.",
    ).tag(config=True)
    timeout = Float(
        30.0,
        help="Seconds one rendering may take (wall time, from when a worker is free); "
        "its worker process is then killed and the page offers the download.",
    ).tag(config=True)
    memory_limit = Integer(
        1024 * MIB,
        help="Address space of each render worker process (RLIMIT_AS); a "
        "rendering that needs more fails, and the page offers the download (0: no limit).",
    ).tag(config=True)
    processes = Integer(
        2, help="Render worker processes per server process: renderings run at once."
    ).tag(config=True)
    wait = Float(
        3.0,
        help='Seconds a page waits for a rendering under way before it answers "being '
        'rendered" (the page then reloads itself).',
    ).tag(config=True)
    failure_ttl = Float(
        600.0,
        help="Seconds the reason a notebook could not be previewed is remembered "
        "before the next view tries again.",
    ).tag(config=True)
    memory_cache_bytes = Integer(
        64 * MIB,
        help="Renderings kept in this process's memory (least recently used "
        "dropped first), so popular pages are neither read nor decompressed again.",
    ).tag(config=True)
    idle_timeout = Float(
        300.0, help="Seconds an idle render worker process is kept for the next rendering."
    ).tag(config=True)
    retire_rss = Integer(
        384 * MIB,
        help="A render worker process that grew past this RSS is replaced after "
        "its rendering (memory a process used is rarely returned).",
    ).tag(config=True)

    repository = Instance(Repository)
    executor = Instance(Executor)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool: RenderPool | None = None
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._pages_bytes = 0
        self._inflight: dict[str, asyncio.Future[Preview]] = {}

    @property
    def pool(self) -> RenderPool:
        if self._pool is None:
            limits = WorkerLimits(self.memory_limit, self.timeout, self.retire_rss)
            self._pool = RenderPool(self.processes, limits, self.idle_timeout, self.log)
        return self._pool

    @property
    def budget(self) -> Budget:
        return Budget(self.max_cells, self.max_outputs, self.max_text_chars)

    async def preview(self, sha256: str, blob_key: str, size: int, filename: str) -> Preview:
        """The preview of a stored notebook; never waits longer than ``wait`` seconds."""
        if size > self.max_bytes:
            return Preview(
                too_large=True,
                message=(
                    f"It has {size:,} bytes; notebooks larger than {self.max_bytes:,} bytes are "
                    "not previewed."
                ),
            )
        renderer = renderer_id()

        def render() -> Awaitable[renders.Rendering]:
            return self._render(sha256, blob_key, size, filename)

        return await self._shown(sha256, renderer, render, filename)

    async def diff(self, old: StoredNotebook, new: StoredNotebook) -> Preview:
        """What changed from ``old`` to ``new`` (:mod:`notebook_diff`), made like a preview:
        once per pair of contents, in a render worker, within the same budget (both
        notebooks together within ``max_bytes``), kept in memory and in the database."""
        if old.size + new.size > self.max_bytes:
            return Preview(
                too_large=True,
                message=(
                    f"The two notebooks have {old.size + new.size:,} bytes; notebooks larger "
                    f"than {self.max_bytes:,} bytes together are not compared here."
                ),
            )
        pair = hashlib.sha256(f"{old.sha256}:{new.sha256}".encode()).hexdigest()

        def render() -> Awaitable[renders.Rendering]:
            return self._render_diff(old, new)

        return await self._shown(pair, diff_renderer_id(), render, new.filename)

    async def _shown(
        self,
        digest: str,
        renderer: str,
        render: Callable[[], Awaitable[renders.Rendering]],
        filename: str,
    ) -> Preview:
        """From memory, else shared with the look-up or rendering under way, else a new one;
        "pending" after ``wait`` seconds."""
        key = f"{digest}/{renderer}"
        html = self._pages.get(key)
        if html is not None:
            self._pages.move_to_end(key)
            return Preview(html=html)
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._produce(key, digest, renderer, render, filename))
            self._inflight[key] = future
            future.add_done_callback(lambda _: self._inflight.pop(key, None))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.wait)
        except asyncio.TimeoutError:
            return Preview(pending=True)

    async def _produce(
        self,
        key: str,
        sha256: str,
        renderer: str,
        render: Callable[[], Awaitable[renders.Rendering]],
        filename: str,
    ) -> Preview:
        """Look the rendering up, render it if need be, keep it. Never raises.

        Only the process that claims a rendering renders; the others look for its result
        every ``CLAIM_POLL`` seconds (one query per notebook and process, on a thread).
        """
        claimed = False
        try:
            while True:
                found = await self._call(renders.cached, sha256, renderer, self.failure_ttl)
                if found is not None:
                    break
                claimed = await self._call(
                    renders.claim, sha256, renderer, self.claim_ttl, self.failure_ttl, write=True
                )
                if claimed:
                    found = await render()
                    await self._call(renders.store, sha256, renderer, found, write=True)
                    break
                await asyncio.sleep(CLAIM_POLL)
        except Exception as error:
            if not isinstance(error, PoolClosed):
                self.log.exception("previewing %s (%s) failed", filename, sha256)
            if claimed:
                with contextlib.suppress(Exception):
                    await self._call(renders.release, sha256, renderer, write=True)
            return Preview(message="The preview failed; the server's log says why.")
        if found.failed:
            too_large, _, message = found.content.decode().partition("\n")
            return Preview(message=message, too_large=too_large == "too_large")
        self._remember(key, found.content)
        return Preview(html=found.content)

    @property
    def claim_ttl(self) -> float:
        """How long another process's claim holds: its rendering, plus starting a worker."""
        return self.timeout + START_TIMEOUT

    async def _render(
        self, sha256: str, blob_key: str, size: int, filename: str
    ) -> renders.Rendering:
        request = {
            "filename": filename,
            "budget": asdict(self.budget),
            "max_html_bytes": self.max_html_bytes,
        }
        outcome: Outcome = await self.pool.render(request, self._blob(blob_key, size), size)
        return self._kept(outcome, filename, sha256)

    async def _render_diff(self, old: StoredNotebook, new: StoredNotebook) -> renders.Rendering:
        request = {
            "kind": "diff",
            "filename": new.filename,  # for the log, should the worker fail
            "filenames": [old.filename, new.filename],
            "split": old.size,
            "budget": asdict(self.budget),
            "max_html_bytes": self.max_html_bytes,
        }

        async def both() -> AsyncIterator[bytes]:
            async for chunk in self._blob(old.blob_key, old.size):
                yield chunk
            async for chunk in self._blob(new.blob_key, new.size):
                yield chunk

        outcome = await self.pool.render(request, both(), old.size + new.size)
        return self._kept(outcome, new.filename, f"{old.sha256} → {new.sha256}")

    def _kept(self, outcome: Outcome, filename: str, sha256: str) -> renders.Rendering:
        """What is kept of a worker's answer: the HTML, or why there is none."""
        if outcome.status == "ok":
            return renders.Rendering(outcome.html)
        if outcome.status == "error":
            self.log.error("the renderer failed on %s (%s)", filename, sha256)
        kind = "too_large" if outcome.status == "too_large" else "failed"
        message = outcome.message[:MAX_MESSAGE]
        return renders.Rendering(f"{kind}\n{message}".encode(), failed=True)

    async def _blob(self, key: str, size: int) -> AsyncIterator[bytes]:
        """The stored bytes in chunks, each read on a worker thread."""
        chunks: Iterator[bytes] = self.repository.store.open_range(key, 0, size)
        loop = asyncio.get_running_loop()
        try:
            while True:
                chunk = await loop.run_in_executor(self.executor, next, chunks, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                await loop.run_in_executor(self.executor, close)

    async def _call(self, function: Any, *args: Any, write: bool = False) -> Any:
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, partial(self.repository.call, function, *args, write=write)
        )

    def _remember(self, key: str, html: bytes) -> None:
        if len(html) > self.memory_cache_bytes // 4:
            return
        if key not in self._pages:
            self._pages[key] = html
            self._pages_bytes += len(html)
        while self._pages_bytes > self.memory_cache_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._pages_bytes -= len(dropped)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
