"""A reusable task panel: progress bar, status line, live log and a Cancel button.

:meth:`TaskPanel.start` runs a blocking job (pip, py-rattler, downloads) on a worker thread
so the kernel stays responsive. The job gets a :class:`Job`: it reports log lines and
progress (from its thread; the panel applies them on the kernel's asyncio loop, batched) and
checks ``job.stop``, which the Cancel button sets; :func:`jupyter_repo.client.install.
run_streaming` kills pip's process group within ~0.2 s when it is set.

The panel ends in one of three states, each with one readable line in the status area and a
CSS class on the panel for the browser: ``succeeded``, ``failed`` (the error's message, no
traceback) or ``cancelled``. Every line shown (log and status) has the secrets given to
:meth:`TaskPanel.start` (the token) replaced by ``***``.

DOM hooks (CSS classes): ``jupyter-repo-task`` on the panel, plus
``jupyter-repo-task-<state>`` for its state (``idle``, ``running``, ``succeeded``,
``failed``, ``cancelled``); ``jupyter-repo-progress``, ``jupyter-repo-status``,
``jupyter-repo-log``, ``jupyter-repo-cancel`` on its parts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
from traitlets import UseEnum

from jupyter_repo.client import errors
from jupyter_repo.client.states import JobState, PanelState
from jupyter_repo.widgets.connection import describe, mask

STATUS_COLOURS = {
    PanelState.IDLE: "inherit",
    PanelState.RUNNING: "inherit",
    PanelState.SUCCEEDED: "#1a7f37",
    PanelState.FAILED: "#cf222e",
    PanelState.CANCELLED: "#9a6700",
}
BAR_STYLES = {
    PanelState.IDLE: "",
    PanelState.RUNNING: "info",
    PanelState.SUCCEEDED: "success",
    PanelState.FAILED: "danger",
    PanelState.CANCELLED: "warning",
}
SYMBOLS = {PanelState.SUCCEEDED: "✔ ", PanelState.FAILED: "✖ ", PanelState.CANCELLED: "■ "}
MAX_LOG_LINES = 2000


def fill() -> widgets.Layout:
    """A row or column that takes the width it is given, never more (see TaskPanel)."""
    return widgets.Layout(width="auto", min_width="0")


#: Terminal colour and cursor codes (pip colours its output in some environments).
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``state`` is succeeded, failed or cancelled; ``message`` is what the
    status area shows; ``result`` what the job returned (``None`` unless it succeeded)."""

    state: JobState
    message: str
    result: Any = None


class Job:
    """What a running job sees: ``log``, ``progress`` and the ``stop`` event; its
    :class:`JobState` (the extension's tasks go through the same states)."""

    def __init__(self, panel: TaskPanel, stop: threading.Event, secrets: tuple[str, ...]) -> None:
        self._panel = panel
        self.stop = stop
        self.secrets = secrets
        self.state = JobState.RUNNING  # started on its thread at once

    def log(self, line: str) -> None:
        """Add one line to the log (thread-safe; secrets are masked)."""
        self._panel._queue_lines([ANSI.sub("", mask(str(line), self.secrets))])

    def progress(self, fraction: float | None, message: str | None = None) -> None:
        """Set the bar (``None``: unknown, it creeps on with the log) and the status line."""
        text = mask(message, self.secrets) if message else None
        self._panel._call(self._panel._set_progress, fraction, text)

    def check_cancelled(self) -> None:
        if self.stop.is_set():
            raise errors.Cancelled("Cancelled.")


Work = Callable[[Job], Any]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class TaskPanel(widgets.VBox):
    """Progress, status, log and Cancel for one job at a time."""

    #: idle, running, succeeded, failed or cancelled (not synced to the browser).
    state = UseEnum(PanelState, default_value=PanelState.IDLE)

    def __init__(
        self, *, log_rows: int = 8, status: widgets.HTML | None = None, **kwargs: Any
    ) -> None:
        """``status``: an HTML widget (shown elsewhere by the caller) for the status line,
        so a bigger widget keeps one status line; by default the panel shows its own."""
        # Widths "auto" and flex, not "100%": 100% plus a widget's margins is wider than
        # the output area, and every such box showed a horizontal scrollbar.
        self.progress = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="auto", flex="1 1 auto")
        )
        own_status = status is None
        self.status = widgets.HTML("") if status is None else status
        self.log_area = widgets.Textarea(
            value="", rows=log_rows, placeholder="Log", layout=widgets.Layout(width="auto")
        )
        self.cancel_button = widgets.Button(
            description="Cancel", icon="stop", disabled=True, tooltip="Stop the installation"
        )
        self.progress.add_class("jupyter-repo-progress")
        self.status.add_class("jupyter-repo-status")
        self.log_area.add_class("jupyter-repo-log")
        self.cancel_button.add_class("jupyter-repo-cancel")
        self.cancel_button.on_click(lambda _button: self.cancel())
        header = widgets.HBox([self.progress, self.cancel_button], layout=fill())
        parts = [header, self.status, self.log_area] if own_status else [header, self.log_area]
        super().__init__(parts, **kwargs)
        self.add_class("jupyter-repo-task")
        self.add_class("jupyter-repo-task-idle")
        self.layout.display = "none"  # shown when the first job starts
        self._lines: list[str] = []
        self._pending: list[str] = []
        self._pending_lock = threading.Lock()
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._future: concurrent.futures.Future[Outcome] | None = None
        self._secrets: tuple[str, ...] = ()
        self._status_text = ""

    # -- public ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state is PanelState.RUNNING

    @property
    def status_text(self) -> str:
        """The status line as plain text (what the user reads)."""
        return mask(self._status_text, self._secrets)

    @property
    def log_text(self) -> str:
        return self.log_area.value

    def start(
        self,
        work: Work,
        *,
        title: str,
        secrets: tuple[str, ...] = (),
        success: Callable[[Any], str] | None = None,
        cancellable: bool = True,
        cancelled: str = "Cancelled: nothing more was installed.",
    ) -> concurrent.futures.Future[Outcome]:
        """Run ``work(job)`` on a worker thread; returns a future of its :class:`Outcome`.

        ``success(result)`` makes the status line of a job that succeeded (default: the
        result itself when it is text, else "Done."). ``cancellable=False`` keeps Cancel
        disabled, for a job that cannot stop half-way (py-rattler's linking); ``cancelled``
        is the status line of a job that was cancelled. Await the
        outcome with :meth:`wait`. A job that completes despite a cancel request succeeded.
        """
        if self.running:
            raise RuntimeError("A job is already running in this panel.")
        self._loop = _running_loop()
        self._stop = threading.Event()
        self._secrets = tuple(secret for secret in secrets if secret)
        self._lines, self._pending = [], []
        self.log_area.value = ""
        self.layout.display = None
        self.progress.value = 0.0
        self.cancel_button.disabled = not cancellable
        self._set_state(PanelState.RUNNING, title)
        future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        self._future = future
        job = Job(self, self._stop, self._secrets)
        threading.Thread(
            target=self._run,
            args=(work, job, success, cancelled, future),
            daemon=True,
            name="jupyter-repo-task",
        ).start()
        return future

    def cancel(self) -> None:
        """Ask the running job to stop (pip is killed); the panel ends as ``cancelled``."""
        if not self.running:
            return
        self._stop.set()
        self.cancel_button.disabled = True
        self._set_status(PanelState.RUNNING, "Cancelling…")

    async def wait(self, timeout: float | None = None) -> Outcome:
        """The outcome of the current (or last) job, once the panel shows it."""
        if self._future is None:
            raise RuntimeError("No job was started.")
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._future)), timeout)

    def reset(self) -> None:
        """Forget the last job (bar, status, log) and hide the panel: once the user picks
        something else, they are about another package. Nothing happens while a job runs."""
        if self.running:
            return
        with self._pending_lock:
            self._pending = []
        self._lines = []
        self.log_area.value = ""
        self.progress.value = 0.0
        self.cancel_button.disabled = True
        self._set_state(PanelState.IDLE, "")
        self.layout.display = "none"

    def show_error(self, message: str) -> None:
        """Show a failure that happened before any job started (e.g. nothing selected)."""
        self.layout.display = None
        self._set_state(PanelState.FAILED, message)

    # -- worker side -----------------------------------------------------------------------

    def _run(
        self,
        work: Work,
        job: Job,
        success: Callable[[Any], str] | None,
        cancelled: str,
        future: concurrent.futures.Future[Outcome],
    ) -> None:
        try:
            result = work(job)
        except errors.Cancelled:
            outcome = Outcome(JobState.CANCELLED, cancelled)
        except BaseException as error:  # every failure ends as one readable line
            outcome = Outcome(JobState.FAILED, describe(error, self._secrets))
        else:
            text = success(result) if success else (result if isinstance(result, str) else "Done.")
            outcome = Outcome(JobState.SUCCEEDED, mask(str(text), self._secrets), result)
        self._queue_lines([])
        self._call(self._finish, job, outcome, future)

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        """Run ``function`` on the kernel's loop (or here, when there is none)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(function, *args)
                return
        function(*args)

    def _queue_lines(self, lines: list[str]) -> None:
        with self._pending_lock:
            self._pending.extend(lines)
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        self._call(self._flush)

    # -- loop side -------------------------------------------------------------------------

    def _flush(self) -> None:
        with self._pending_lock:
            lines, self._pending = self._pending, []
            self._flush_scheduled = False
        if not lines:
            return
        self._lines.extend(lines)
        del self._lines[:-MAX_LOG_LINES]
        self.log_area.value = "\n".join(self._lines)
        if self.running and self.progress.value < 0.9:  # unknown length: creep towards 90 %
            self.progress.value += (0.9 - self.progress.value) * min(0.5, 0.05 * len(lines))

    def _set_progress(self, fraction: float | None, message: str | None) -> None:
        if not self.running:
            return
        if fraction is not None:
            self.progress.value = max(0.0, min(1.0, fraction))
        if message and not self._stop.is_set():
            self._set_status(PanelState.RUNNING, message)

    def _finish(
        self, job: Job, outcome: Outcome, future: concurrent.futures.Future[Outcome]
    ) -> None:
        self._flush()
        self.cancel_button.disabled = True
        job.state = job.state.advance(outcome.state)
        if outcome.state is JobState.SUCCEEDED:
            self.progress.value = 1.0
        self._set_state(PanelState(job.state), outcome.message)
        if not future.done():
            future.set_result(outcome)

    def _set_state(self, state: PanelState, message: str) -> None:
        for old in PanelState:
            self.remove_class(f"jupyter-repo-task-{old}")
        self.add_class(f"jupyter-repo-task-{state}")
        self.progress.bar_style = BAR_STYLES[state]
        self._set_status(state, message)
        self.state = state

    def set_status(self, text: str, *, failed: bool = False, html_text: str | None = None) -> None:
        """Show a line that is not about a job (e.g. a search's count or error) in the same
        status area; ``html_text``, already escaped by the caller, is shown instead of
        ``text``, which stays the plain :attr:`status_text`."""
        self._set_status(PanelState.FAILED if failed else PanelState.IDLE, text, html_text)

    def _set_status(self, state: PanelState, message: str, html_text: str | None = None) -> None:
        text = " ".join(mask(message, self._secrets).split())
        self._status_text = text
        symbol = SYMBOLS.get(state, "")
        body = html.escape(symbol + text) if html_text is None else symbol + html_text
        self.status.value = (
            f'<span class="jupyter-repo-status-{state}" style="color: '
            f'{STATUS_COLOURS[state]}">{body}</span>'
        )
