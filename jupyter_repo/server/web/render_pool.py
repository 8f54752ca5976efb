"""Render worker processes: at most ``size`` renderings at once, each under time and memory
limits, none of them in the server's own process.

A worker is ``python -m jupyter_repo.server.web.render_worker`` (its module describes the
conversation on its stdin and stdout). Workers are started on first use, kept for the next
rendering, and stopped when idle for ``idle_timeout`` seconds. A rendering that runs past
its time has its worker killed; a worker that dies (out of its address space, say) is
replaced by the next rendering. Everything here runs on the event loop: a caller waiting
for a free worker or for a rendering holds no thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

#: Seconds a new worker may take to import nbconvert and render its warm-up notebook.
START_TIMEOUT = 60.0


class PoolClosed(Exception):
    """The server is stopping: a rendering asked for now is not made (nor is it a failure
    worth remembering)."""


@dataclass(frozen=True)
class WorkerLimits:
    memory_bytes: int
    seconds: float
    retire_rss: int


@dataclass(frozen=True)
class Outcome:
    """``status``: ``ok`` (``html`` holds the page), ``too_large``, ``invalid`` or ``failed``
    (time or memory ran out, or the renderer broke); ``message`` says why in a sentence."""

    status: str
    message: str = ""
    html: bytes = b""


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.idle_timer: asyncio.TimerHandle | None = None

    @property
    def stdin(self) -> asyncio.StreamWriter:
        assert self.process.stdin is not None
        return self.process.stdin

    @property
    def stdout(self) -> asyncio.StreamReader:
        assert self.process.stdout is not None
        return self.process.stdout

    async def answer(self) -> tuple[dict[str, Any], bytes]:
        header = json.loads(await self.stdout.readline() or b"null")
        if not isinstance(header, dict):
            raise EOFError("the render worker stopped")
        return header, await self.stdout.readexactly(int(header.get("length", 0)))

    def kill(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def stop(self) -> None:
        """Close stdin (the worker exits at once when idle); kill it if it lingers."""
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except asyncio.TimeoutError:
            self.kill()
            await self.process.wait()


class RenderPool:
    """Up to ``size`` render worker processes, shared by every rendering of this server."""

    def __init__(
        self,
        size: int,
        limits: WorkerLimits,
        idle_timeout: float,
        log: logging.Logger | None = None,
    ) -> None:
        self.limits = limits
        self.idle_timeout = idle_timeout
        self.log = log or logging.getLogger(__name__)
        self._size = size
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._stopping: set[asyncio.Future[None]] = set()
        self._closed = False

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:  # created on the loop that uses it
            self._slots = asyncio.Semaphore(self._size)
        return self._slots

    async def render(
        self, request: dict[str, Any], body: AsyncIterator[bytes], size: int
    ) -> Outcome:
        """Send ``request`` and the ``size`` bytes of ``body`` to a worker; its answer.

        Waits (on the loop) for a free worker first; the time limit starts once one is
        free and covers sending the notebook, rendering it and receiving the HTML.
        """
        async with self.slots:
            if self._closed:
                raise PoolClosed("the server is stopping")
            worker = await self._take()
            if worker is None:
                return Outcome("failed", "The renderer could not be started.")
            self._busy.add(worker)
            try:
                header, html = await asyncio.wait_for(
                    self._converse(worker, request, body, size), self.limits.seconds
                )
            except asyncio.TimeoutError:
                worker.kill()
                await worker.process.wait()
                return Outcome(
                    "failed",
                    f"Rendering it took longer than the {self.limits.seconds:g} s allowed.",
                )
            except (EOFError, asyncio.IncompleteReadError, ConnectionError):
                returncode = await worker.process.wait()
                self.log.warning(
                    "render worker %s stopped (exit status %s) while rendering %s",
                    worker.process.pid,
                    returncode,
                    request.get("filename"),
                )
                if returncode == -signal.SIGXCPU:
                    return Outcome(
                        "failed",
                        f"Rendering it took longer than the {self.limits.seconds:g} s allowed.",
                    )
                return Outcome("failed", "Rendering it needed more memory than allowed.")
            except BaseException:  # e.g. the blob could not be read: the worker is mid-request
                worker.kill()
                await asyncio.shield(worker.process.wait())
                raise
            finally:
                self._busy.discard(worker)
            if header.get("retire") or self._closed:
                self._retire(worker)
            else:
                self._keep(worker)
            return Outcome(str(header.get("status")), str(header.get("message") or ""), html)

    async def _converse(
        self, worker: _Worker, request: dict[str, Any], body: AsyncIterator[bytes], size: int
    ) -> tuple[dict[str, Any], bytes]:
        worker.stdin.write(json.dumps({**request, "size": size}).encode() + b"\n")
        sent = 0
        async for chunk in body:
            sent += len(chunk)
            worker.stdin.write(chunk)
            await worker.stdin.drain()
        if sent != size:
            raise RuntimeError(f"the stored notebook has {sent} bytes, not {size}")
        await worker.stdin.drain()
        return await worker.answer()

    async def _take(self) -> _Worker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.idle_timer is not None:
                worker.idle_timer.cancel()
            if worker.process.returncode is None:
                return worker
        return await self._start()

    async def _start(self) -> _Worker | None:
        limits = self.limits
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "jupyter_repo.server.web.render_worker",
            f"--memory-limit={limits.memory_bytes}",
            f"--cpu-limit={limits.seconds + 5:g}",
            f"--retire-rss={limits.retire_rss}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # Its own session: a Ctrl-C meant for the server does not interrupt a rendering;
            # the worker ends when the server closes its stdin (or exits).
            start_new_session=True,
            limit=1 << 20,
        )
        worker = _Worker(process)
        try:
            ready = json.loads(
                await asyncio.wait_for(worker.stdout.readline(), START_TIMEOUT) or b"null"
            )
            if ready != {"status": "ready", "message": "", "length": 0, "retire": False}:
                raise EOFError(f"unexpected greeting {ready!r}")
        except (asyncio.TimeoutError, EOFError, ValueError) as error:
            self.log.error("render worker %s did not start: %s", process.pid, error)
            worker.kill()
            await process.wait()
            return None
        return worker

    def _retire(self, worker: _Worker) -> None:
        """Stop ``worker`` in the background (a reference keeps the task alive)."""
        task = asyncio.ensure_future(worker.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    def _keep(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()

        def retire() -> None:
            if worker in self._idle:
                self._idle.remove(worker)
                self._retire(worker)

        worker.idle_timer = loop.call_later(self.idle_timeout, retire)
        self._idle.append(worker)

    async def close(self) -> None:
        """Stop every worker (renderings under way end as failures)."""
        self._closed = True
        workers = [*self._idle, *self._busy]
        self._idle.clear()
        for worker in self._busy:
            worker.kill()
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in (*self._idle, *self._busy)]
