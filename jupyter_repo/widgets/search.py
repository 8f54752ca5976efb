"""``PackageSearch``: search the repository as you type and install into this kernel.

Typing in the query box searches the repository's ``/api/search`` (debounced, stale answers
dropped; see :mod:`~jupyter_repo.widgets.searching`); a query ``OWNER/NAME`` looks that
package up, so a package that is private to someone else reads "not found, or not visible to
you". Each result row shows name, owner, summary, latest version, package types, platforms,
labels, and the version installed in this kernel. Selecting a row fills the version, label
and method ("pip", "conda", "env") choices and says what Install will do; Install runs pip
(through the namespace's PyPI index, the token in ``PIP_INDEX_URL``) or py-rattler (into
the kernel's prefix, when it is a conda environment) in the kernel's **own** environment,
with a progress bar, a live log and Cancel (:mod:`~jupyter_repo.widgets.running`).

From code (what the buttons do; :mod:`~jupyter_repo.widgets.driving` waits for answers)::

    widget = PackageSearch(client=None, *, target=None, debounce=0.1, query="")
    widget.query.value = "text"            # what a keystroke does
    widget.select(0)                        # pick a row (fills the dropdowns)
    widget.version.value = "1.0"            # optional; also widget.label, widget.method
    outcome = await widget.install()        # the install's Outcome
    widget.state   # a SearchState: idle|searching|ready|installing|succeeded|failed|cancelled
    widget.status_text, widget.log_text     # what the user reads

DOM hooks (CSS classes) for browser tests:

* ``jupyter-repo-search`` — the whole widget; plus ``jupyter-repo-state-<state>`` (one of
  the states above, kept up to date)
* ``jupyter-repo-query`` — the search text box
* ``jupyter-repo-status`` — the one-line status (search counts, errors, install outcome)
* ``jupyter-repo-results`` — the list of rows; ``jupyter-repo-result`` — one row (hidden
  spare rows have ``display: none``), ``jupyter-repo-result-selected`` — the selected one;
  ``jupyter-repo-select`` — a row's Select button; inside a row's HTML:
  ``jupyter-repo-name``, ``jupyter-repo-owner``, ``jupyter-repo-summary``,
  ``jupyter-repo-installed`` / ``jupyter-repo-installed-no``
* ``jupyter-repo-selection`` — what Install will do (or why it cannot)
* ``jupyter-repo-method``, ``jupyter-repo-version``, ``jupyter-repo-label`` — the dropdowns
* ``jupyter-repo-install`` — the Install button
* ``jupyter-repo-task`` (+ ``jupyter-repo-task-<state>``), ``jupyter-repo-progress``,
  ``jupyter-repo-log``, ``jupyter-repo-cancel`` — the task panel
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from typing import Any

import ipywidgets as widgets
from traitlets import UseEnum

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.install import Installer, InstallSpec, Target
from jupyter_repo.client.refs import Ref
from jupyter_repo.client.states import JobState, PanelState, SearchState
from jupyter_repo.widgets import rendering
from jupyter_repo.widgets.connection import Connection, describe
from jupyter_repo.widgets.installed import InstalledIndex
from jupyter_repo.widgets.running import Job, Outcome, TaskPanel
from jupyter_repo.widgets.searching import LiveSearch

#: package type on the repository -> install method offered
METHODS = (("pypi", "pip"), ("conda", "conda"), ("env", "env"))
METHOD_LABELS = {
    "pip": "pip (PyPI index)",
    "conda": "conda (py-rattler)",
    "env": "environment (pip lock)",
}


def _choice() -> widgets.Layout:
    """A dropdown's box: as wide as its label and longest option, at most the row."""
    return widgets.Layout(width="auto", max_width="100%")


def _execution_count() -> int | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    shell = get_ipython()
    return getattr(shell, "execution_count", None) if shell is not None else None


class _Row(widgets.HBox):
    """One result row (rows are reused between searches: only their values change)."""

    def __init__(self, on_select: Any) -> None:
        self.index = 0
        self.button = widgets.Button(
            description="Select",
            tooltip="Choose this package",
            layout=widgets.Layout(width="6.5em", flex="0 0 auto"),
        )
        self.button.add_class("jupyter-repo-select")
        self.info = widgets.HTML("", layout=widgets.Layout(flex="1 1 auto", min_width="0"))
        self.button.on_click(lambda _button: on_select(self.index))
        super().__init__(
            [self.button, self.info],
            layout=widgets.Layout(align_items="center", width="auto", min_width="0"),
        )
        self.add_class("jupyter-repo-result")

    def show(self, index: int, html: str, selected: bool) -> None:
        self.index = index
        self.info.value = html
        self.mark(selected)
        self.layout.display = None

    def mark(self, selected: bool) -> None:
        self.button.description = "Selected" if selected else "Select"
        self.button.button_style = "info" if selected else ""
        if selected:
            self.add_class("jupyter-repo-result-selected")
        else:
            self.remove_class("jupyter-repo-result-selected")

    def hide(self) -> None:
        self.layout.display = "none"
        self.mark(False)


class PackageSearch(widgets.VBox):
    """Search the repository and install a result into the kernel's own environment.

    ``client``: a :class:`RepoClient` (default: from the user's configuration, see
    :mod:`~jupyter_repo.widgets.connection`); ``target``: where installs go (default: this
    kernel's interpreter and prefix); ``debounce``: seconds of quiet typing before a search
    (0.1 s: a burst of keys makes one request, and results still follow the last key within
    ~150 ms);
    ``query``: searched at once; ``max_results``: rows shown (one request, one page);
    ``extra_index_urls``: more PyPI indexes for dependencies (e.g. ``https://pypi.org/simple``).
    """

    #: idle, searching, ready, installing, succeeded, failed or cancelled (not synced).
    state = UseEnum(SearchState, default_value=SearchState.IDLE)

    def __init__(
        self,
        client: RepoClient | None = None,
        *,
        target: Target | None = None,
        debounce: float = 0.1,
        query: str = "",
        max_results: int = 20,
        extra_index_urls: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        self._connection = Connection(client)
        self.target = target or Target.current()
        self.max_results = max(1, int(max_results))
        self.extra_index_urls = tuple(extra_index_urls)
        self._installed = InstalledIndex(self.target)
        #: The results shown (dicts of the repository's search answer).
        self.results_data: list[dict[str, Any]] = []
        self._installed_versions: list[str | None] = []
        self.total = 0
        #: The selected result, or None.
        self.selected: dict[str, Any] | None = None
        #: The last search's state and status line (shown again once an install is cleared).
        self._last_search: tuple[SearchState, str] = (SearchState.IDLE, "")
        self._shown_in: int | None = None

        self.query = widgets.Text(
            value=query,
            placeholder="Search packages (name, summary or OWNER/NAME)",
            continuous_update=True,
            layout=widgets.Layout(width="auto"),
        )
        self.status = widgets.HTML("", layout=widgets.Layout(width="auto"))
        self.results = widgets.VBox([], layout=widgets.Layout(width="auto"))
        self._rows: list[_Row] = []
        self.selection = widgets.HTML("", layout=widgets.Layout(width="auto"))
        # Labels as wide as their words and dropdowns as wide as their longest option
        # (fixed widths cut "pip (PyPI index)"); the row wraps at a narrow width.
        self.method = widgets.Dropdown(
            description="With", options=[], layout=_choice(), style={"description_width": "initial"}
        )
        self.version = widgets.Dropdown(
            description="Version",
            options=[],
            layout=_choice(),
            style={"description_width": "initial"},
        )
        self.label = widgets.Dropdown(
            description="Label",
            options=[],
            layout=_choice(),
            style={"description_width": "initial"},
        )
        self.install_button = widgets.Button(
            description="Install",
            icon="download",
            button_style="primary",
            disabled=True,
            tooltip="Install into this kernel's environment",
        )
        self.task = TaskPanel(status=self.status)
        for part, name in (
            (self.query, "query"),
            (self.status, "status"),
            (self.results, "results"),
            (self.selection, "selection"),
            (self.method, "method"),
            (self.version, "version"),
            (self.label, "label"),
            (self.install_button, "install"),
        ):
            part.add_class(f"jupyter-repo-{name}")
        choices = widgets.HBox(
            [self.method, self.version, self.label, self.install_button],
            layout=widgets.Layout(flex_flow="row wrap", width="auto"),
        )
        super().__init__(
            [self.query, self.status, self.results, self.selection, choices, self.task], **kwargs
        )
        self.add_class("jupyter-repo-search")
        self.add_class("jupyter-repo-state-idle")

        #: The search as you type (requests sent, answers dropped, waiting for one).
        self.live_search = LiveSearch(
            self._fetch,
            on_start=self._on_start,
            on_answer=self._on_answer,
            on_error=self._on_error,
            debounce=debounce,
        )
        self.observe(self._on_state, "state")
        self.query.observe(self._on_query, "value")
        self.install_button.on_click(lambda _button: self.install())
        for dropdown in (self.method, self.version, self.label):
            dropdown.observe(lambda _change: self._update_plan(), "value")
        self._update_plan()
        if query.strip():
            self._submit(query, immediate=True)
        else:
            self._check_configured()

    # -- what the controls do ------------------------------------------------------------

    def select(self, index: int) -> dict[str, Any]:
        """Select result ``index``: fills the method, version and label choices."""
        if not 0 <= index < len(self.results_data):
            raise IndexError(f"There is no result {index} (there are {len(self.results_data)}).")
        item = self.results_data[index]
        if item is not self.selected:
            self._forget_last_install()
        self.selected = item
        for position, row in enumerate(self._rows[: len(self.results_data)]):
            row.mark(position == index)
        types = list(item.get("package_types") or [])
        methods = [method for kind, method in METHODS if kind in types]
        if "conda" in methods and not self.target.is_conda and "pip" in methods:
            methods.remove("conda")
            methods.append("conda")  # pip first where conda cannot go
        elif "conda" in methods and self.target.is_conda:
            methods.remove("conda")
            methods.insert(0, "conda")
        versions = [str(version) for version in reversed(item.get("versions") or [])]
        labels = sorted(item.get("labels") or ["main"], key=lambda label: label != "main")
        self.method.options = [(METHOD_LABELS[method], method) for method in methods]
        self.method.value = methods[0] if methods else None
        self.version.options = versions
        self.version.value = versions[0] if versions else None
        self.label.options = labels
        self.label.value = labels[0] if labels else None
        self._update_plan()
        return item

    def install(self) -> asyncio.Future[Outcome] | concurrent.futures.Future[Outcome]:
        """Install the selection; returns an awaitable of the :class:`Outcome` (a
        ``concurrent.futures.Future`` when no asyncio loop is running)."""
        future = self._start_install()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return future
        return asyncio.shield(asyncio.wrap_future(future))  # cancelling it stops nothing

    def cancel(self) -> None:
        """Cancel the running install (what the Cancel button does)."""
        self.task.cancel()

    @property
    def status_text(self) -> str:
        """The status line as plain text."""
        return self.task.status_text

    @property
    def log_text(self) -> str:
        return self.task.log_text

    def close(self) -> None:
        self.live_search.cancel()
        for row in self._rows:
            row.close()
        self.task.close()
        super().close()

    # -- display ---------------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        if self._shown_in is not None and self._shown_in == _execution_count():
            return  # search() already showed it in this cell: not twice
        from IPython.display import display

        bundle = self._repr_mimebundle_  # None once the widget is closed
        display(bundle() if callable(bundle) else {"text/plain": repr(self)}, raw=True)

    # -- searching -------------------------------------------------------------------------

    def _check_configured(self) -> bool:
        try:
            client = self._connection.get()
        except errors.ClientError as error:
            self._set_status(SearchState.FAILED, describe(error, self._connection.secrets))
            return False
        anonymous = (
            "" if client.token else (" You are not logged in: only public packages can be found.")
        )
        self._set_status(
            SearchState.IDLE, f"Type to search the repository at {client.url}.{anonymous}"
        )
        return True

    def _on_query(self, change: dict[str, Any]) -> None:
        self._forget_last_install()
        self._submit(change["new"])

    def _forget_last_install(self) -> None:
        """A new query or another package: the last install's bar, log and result line
        are about something else now (a running install keeps its panel)."""
        if self.task.running or self.task.state is PanelState.IDLE:
            return
        self.task.reset()
        if self.state in (SearchState.SUCCEEDED, SearchState.FAILED, SearchState.CANCELLED):
            state, text = self._last_search
            self._set_status(state, text, html_text=rendering.escape(text))

    def _submit(self, query: str, *, immediate: bool = False) -> None:
        if not query.strip():
            self.live_search.cancel()
            self._show([], 0, [])
            if not self.task.running:
                self._check_configured()
            return
        self.live_search.submit(query.strip(), immediate=immediate)

    def _fetch(self, query: str) -> tuple[list[dict[str, Any]], int, list[str | None]]:
        """Blocking (a worker thread): one page of search results and installed versions."""
        client = self._connection.get()
        ref = Ref.match(query)
        if ref and not ref.version:
            items, total = client.search(ref.name, owner=ref.owner, per_page=self.max_results)
            if not items:
                client.package(ref.owner, ref.name)  # 404: not visible
        else:
            items, total = client.search(query, per_page=self.max_results)
        installed = [
            self._installed.version(str(item.get("name", "")), item.get("package_types") or [])
            for item in items
        ]
        return items, total, installed

    def _on_start(self, _generation: int, query: str) -> None:
        if not self.task.running:
            self._set_status(SearchState.SEARCHING, f"Searching “{query}”…")

    def _on_answer(self, _generation: int, query: str, answer: Any) -> None:
        items, total, installed = answer
        self._show(items, total, installed)
        text = rendering.count_text(query, len(items), total)
        self._last_search = (SearchState.READY, text)
        if not self.task.running:
            self._set_status(SearchState.READY, text, html_text=rendering.escape(text))

    def _on_error(self, _generation: int, query: str, error: BaseException) -> None:
        self._show([], 0, [])
        if not self.task.running:
            what = query if isinstance(error, errors.NotFound) and "/" in query else None
            self._set_status(
                SearchState.FAILED, describe(error, self._connection.secrets, what=what)
            )

    def _show(self, items: list[dict[str, Any]], total: int, installed: list[str | None]) -> None:
        previous = rendering.full_name(self.selected) if self.selected else None
        self.results_data, self.total = list(items), total
        self._installed_versions = list(installed)
        if len(self._rows) < len(items):
            self._rows.extend(_Row(self._on_select) for _ in range(len(items) - len(self._rows)))
            self.results.children = tuple(self._rows)
        selected_index = None
        for index, row in enumerate(self._rows):
            if index < len(items):
                selected = rendering.full_name(items[index]) == previous
                selected_index = index if selected else selected_index
                row.show(index, rendering.result_html(items[index], installed[index]), selected)
            else:
                row.hide()
        if selected_index is None and self.selected is not None and not self.task.running:
            self.selected = None
            for dropdown in (self.method, self.version, self.label):
                dropdown.options = []
            self._update_plan()

    def _on_select(self, index: int) -> None:
        with contextlib.suppress(IndexError):  # the results changed under the click
            self.select(index)

    # -- installing ------------------------------------------------------------------------

    def _plan(self) -> tuple[bool, str]:
        """Whether Install can run, and the sentence saying what it does (or why not)."""
        item = self.selected
        if item is None:
            return False, "Select a package to install it into this kernel."
        owner, name = rendering.owner_login(item), str(item.get("name"))
        method, label = self.method.value, self.label.value
        version = self.version.value or "(latest)"
        types = list(item.get("package_types") or [])
        prefix = self.target.prefix
        client = self._connection.client
        if method is None:
            return False, (
                f"{owner}/{name} holds {', '.join(types) or 'no files'}: nothing to "
                "install into a kernel (open notebooks and projects on the "
                "repository)."
            )
        if method == "pip":
            index = client.pypi_index(owner, label) if client else "the repository"
            return True, (f"Install {owner}/{name} {version} with pip from {index} into {prefix}.")
        if method == "conda":
            channel = client.conda_channel(owner, label) if client else "the repository"
            if not self.target.is_conda:
                text = (
                    f"Cannot install {owner}/{name} with conda here: this kernel's "
                    f"environment ({prefix}) is not a conda environment (it has no "
                    "conda-meta folder)."
                )
                if "pypi" in types:
                    return False, text + " It also has PyPI files: choose pip."
                return False, (
                    text + " Start the kernel in a conda environment, or run: "
                    f"conda install -c {channel} {name}"
                )
            return True, (
                f"Install {owner}/{name} {version} with conda (py-rattler) from "
                f"{channel} into {prefix}."
            )
        return True, (
            f"Install the pip packages of environment {owner}/{name} {version} into {prefix}."
        )

    def _update_plan(self) -> None:
        possible, text = self._plan()
        self.selection.value = rendering.plan_html(text)
        self.install_button.disabled = not possible or self.task.running

    def _start_install(self) -> concurrent.futures.Future[Outcome]:
        if self.task.running:
            raise RuntimeError("An installation is already running.")
        possible, text = self._plan()
        if not possible:
            self.task.show_error(text)
            self.state = SearchState.FAILED
            failed: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
            failed.set_result(Outcome(JobState.FAILED, text))
            return failed
        item = dict(self.selected or {})
        owner, name = rendering.owner_login(item), str(item.get("name"))
        spec = InstallSpec(owner, name, self.version.value)
        label, method = self.label.value, self.method.value
        client = self._connection.get()

        def work(job: Job) -> str:
            return self._install_job(job, client, item, spec, label, method)

        self.install_button.disabled = True
        self.state = SearchState.INSTALLING
        future = self.task.start(
            work,
            title=f"Installing {spec} with {method}…",
            secrets=self._connection.secrets,
            cancellable=method != "conda",
        )
        future.add_done_callback(self._install_done)
        return future

    def _install_job(
        self,
        job: Job,
        client: RepoClient,
        item: dict[str, Any],
        spec: InstallSpec,
        label: str | None,
        method: str,
    ) -> str:
        """Blocking (the task's thread): install, then say whether to restart."""
        types = list(item.get("package_types") or [])
        self._installed.refresh()
        before = self._installed.version(spec.name, types)
        imported = self._installed.imported(spec.name)
        installer = Installer(
            client,
            self.target,
            log=job.log,
            progress=job.progress,
            extra_index_urls=self.extra_index_urls,
            stop=job.stop,
        )
        try:
            result = installer.install(spec, label=label, method=method)
        except errors.NotFound as error:
            if "has no version" in error.message:
                raise
            raise errors.NotFound(
                describe(error, client, what=f"{spec.owner}/{spec.name}")
            ) from None
        self._installed.refresh()
        version = str(result.get("version") or spec.version or "")
        where = f"into {self.target.prefix} with {result.get('method', method)}"
        if before == version:
            return f"{spec.owner}/{spec.name} {version} is installed {where} (it already was)."
        done = f"Installed {spec.owner}/{spec.name} {version} {where}"
        if imported:
            was = f"version {before}" if before else "a module of that name"
            return f"{done}. Restart the kernel to use it: {was} is already imported."
        if before:
            return f"{done} (was {before}). Import it now; no restart needed."
        return f"{done}. Import it now; no restart needed."

    def _install_done(self, future: concurrent.futures.Future[Outcome]) -> None:
        """On the loop (the panel resolves its future there): final state, fresh rows."""
        if future.cancelled():  # someone cancelled the awaitable; the job still ends
            return
        outcome = future.result()
        self.state = SearchState(outcome.state)
        if self.results_data:
            versions = [
                self._installed.version(str(item.get("name", "")), item.get("package_types") or [])
                for item in self.results_data
            ]
            self._show(self.results_data, self.total, versions)
        self._update_plan()

    # -- state -----------------------------------------------------------------------------

    def _set_status(self, state: SearchState, text: str, *, html_text: str | None = None) -> None:
        """The status line for searching (the task panel writes it while installing)."""
        self.state = state
        self.task.set_status(text, failed=state is SearchState.FAILED, html_text=html_text)

    def _on_state(self, change: dict[str, Any]) -> None:
        self.remove_class(f"jupyter-repo-state-{change['old']}")
        self.add_class(f"jupyter-repo-state-{change['new']}")


def search(query: str = "", **kwargs: Any) -> PackageSearch:
    """Show a :class:`PackageSearch` for ``query`` (in this cell's output) and return it.

    Keyword arguments go to :class:`PackageSearch`. Returning it as a cell's last value does
    not show it a second time.
    """
    from IPython.display import display

    widget = PackageSearch(query=query, **kwargs)
    display(widget)
    widget._shown_in = _execution_count()
    return widget
