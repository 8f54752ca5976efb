"""Long operations (publish, install) as tasks: started with 202, polled, cancellable.

A task runs as an asyncio task on the server's loop; its blocking steps run on worker
threads and report progress and log lines here. Cancelling sets an event that those steps
check (uploads between chunks, pip by killing the process), so a cancelled task stops
where it is and ends as ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tornado.web import HTTPError

from jupyter_repo.client import errors
from jupyter_repo.client.states import JobState

MAX_LOG_LINES = 5000


@dataclass
class Task:
    """One operation's state (checked: see :meth:`JobState.advance`), progress and log."""

    id: str
    kind: str
    progress: float | None = None
    message: str = ""
    result: Any = None
    error: str | None = None
    reason: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_LOG_LINES))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _state: JobState = field(default=JobState.PENDING, init=False, repr=False)

    @property
    def state(self) -> JobState:
        return self._state

    @state.setter
    def state(self, new: JobState | str) -> None:
        self._state = self._state.advance(new)

    @property
    def done(self) -> bool:
        return self._state.done

    def log(self, line: str) -> None:
        """Add a log line (from any thread); it also becomes the task's message."""
        with self._lock:
            self.lines.append(line)
        self.message = line

    def set_progress(self, fraction: float | None, message: str | None = None) -> None:
        self.progress = None if fraction is None else max(0.0, min(1.0, fraction))
        if message is not None:
            self.message = message

    def check_cancelled(self) -> None:
        if self.cancel_requested.is_set():
            raise errors.Cancelled("The task was cancelled.")

    def upload_progress(self) -> Callable[[str, int, int], None]:
        """A publisher progress callback: per-file fraction, and the cancellation point."""

        def report(name: str, done: int, total: int) -> None:
            self.check_cancelled()
            self.set_progress(done / total if total else 1.0, f"Uploading {name}")

        return report

    def log_lines(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": self.progress,
            "message": self.message,
            "result": self.result,
            "error": self.error,
            "reason": self.reason,
        }


Work = Callable[[Task], Awaitable[Any]]


class TaskManager:
    """The tasks of one Jupyter server (kept in memory; finished ones are pruned)."""

    def __init__(self, *, keep_finished: int = 200, log: logging.Logger | None = None) -> None:
        self.tasks: dict[str, Task] = {}
        self.keep_finished = keep_finished
        self.log = log or logging.getLogger("jupyter_repo.extension")
        self._running: dict[str, asyncio.Task[None]] = {}

    def start(self, kind: str, work: Work) -> Task:
        task = Task(id=uuid.uuid4().hex, kind=kind)
        self.tasks[task.id] = task
        self._running[task.id] = asyncio.ensure_future(self._run(task, work))
        self._prune()
        return task

    async def _run(self, task: Task, work: Work) -> None:
        try:
            task.check_cancelled()
            task.state = JobState.RUNNING
            task.result = await work(task)
            task.state, task.progress = JobState.SUCCEEDED, 1.0
            if not task.message or task.message.startswith("Uploading"):
                task.message = "Done."
        except (errors.Cancelled, asyncio.CancelledError):
            task.state, task.error, task.reason = JobState.CANCELLED, "Cancelled.", "cancelled"
            task.message = "Cancelled."
        except errors.ClientError as error:
            self._failed(task, error.message, error.reason)
        except HTTPError as error:  # e.g. the contents manager: no such file
            self._failed(task, error.log_message or str(error), "bad_request")
        except Exception as error:
            self.log.exception("jupyter-repo task %s (%s) failed", task.id, task.kind)
            self._failed(task, f"Unexpected error: {type(error).__name__}: {error}", "error")
        finally:
            task.finished = time.time()
            self._running.pop(task.id, None)

    def _failed(self, task: Task, message: str, reason: str) -> None:
        task.state = JobState.FAILED
        task.error, task.reason, task.message = message, reason, message
        task.log(f"error: {message}")

    def get(self, task_id: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None:
            raise errors.NotFound(f"There is no task {task_id}.")
        return task

    def cancel(self, task_id: str) -> Task:
        task = self.get(task_id)
        if not task.done:
            task.cancel_requested.set()
            task.message = "Cancelling..."
            if task.state is JobState.PENDING:
                running = self._running.get(task.id)
                if running is not None:
                    running.cancel()
        return task

    def list(self) -> list[Task]:
        return sorted(self.tasks.values(), key=lambda task: task.created)

    def _prune(self) -> None:
        finished = [task for task in self.list() if task.done]
        for task in finished[: max(0, len(finished) - self.keep_finished)]:
            self.tasks.pop(task.id, None)

    async def shutdown(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel_requested.set()
        pending = list(self._running.values())
        for running in pending:
            running.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
