"""The environment installer: what a shared environment would change here, then apply it.

``EnvironmentInstaller("owner/name[/version]")`` shows a text box for the environment, a
"Show changes" button and, once pressed, a table of the packages the environment would add,
upgrade, downgrade or change in this kernel's own environment (or in ``target``), with
counts: its pip lock against the interpreter's packages and, when the prefix is a conda
environment (``conda-meta/``), its exact conda pins (name, version, build) against the
prefix's conda records; the table's "Via" column says which. When the prefix is not a conda
environment, one line says the conda packages were not compared and why. Every other line of
the spec is listed under the table: unchanged, installed as written, or "not compared" with
the reason (:attr:`~jupyter_repo.client.envdiff.Plan.not_compared`). The "Apply" button
is enabled only while such a plan is shown and still matches the text box (pressing it is
the confirmation); it installs exactly the changed pins, conda ones with py-rattler first,
then pip ones through the owner's index, in the shared task panel (progress, live log,
Cancel, status). Cancel is disabled when conda packages are linked (that cannot stop
half-way).

The repository and token come from the user's configuration (or ``client``); the token is
only used by the client, by pip's environment and in rattler's channel URL: it is in no
widget's state and is masked in every line shown.

DOM hooks (CSS classes): ``jupyter-repo-env-installer`` on the widget,
``jupyter-repo-env-spec`` on the text box, ``jupyter-repo-env-show`` on "Show changes",
``jupyter-repo-env-plan`` on the table (rows ``jupyter-repo-env-<action>`` and
``jupyter-repo-env-<pip|conda>``), ``jupyter-repo-env-note`` on the lines under it,
``jupyter-repo-env-not-compared`` on each line not compared,
``jupyter-repo-env-apply`` on "Apply", plus the task panel's own classes.
"""

from __future__ import annotations

import concurrent.futures
import html
from typing import Any

import ipywidgets as widgets
from traitlets import UseEnum

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.envdiff import Plan
from jupyter_repo.client.install import Installer, Target
from jupyter_repo.client.refs import EnvironmentRef
from jupyter_repo.client.states import EnvironmentState, JobState
from jupyter_repo.widgets.connection import Connection, describe
from jupyter_repo.widgets.running import Job, Outcome, TaskPanel

#: Cells of the plan's table: separated, left-aligned, wrapping long names and versions.
CELL_STYLE = (
    "padding: 2px 12px 2px 0; text-align: left; vertical-align: top; "
    "border-bottom: 1px solid var(--jp-border-color2, #ddd); overflow-wrap: anywhere"
)
COLUMNS = ("Change", "Package", "Installed", "Wanted", "Via")


def _cells(tag: str, values: list[str]) -> str:
    return "".join(f'<{tag} style="{CELL_STYLE}">{html.escape(value)}</{tag}>' for value in values)


def render_plan(plan: Plan) -> str:
    """The plan as HTML (every value escaped): its summary once, a table of the changes,
    then every other line of the spec: unchanged, installed as written, or not compared
    and why."""
    ref = html.escape(str(plan.lock.ref))
    summary = plan.summary()
    counts = summary[len(str(plan.lock.ref)) + 2 :]  # the summary without its "ref: "
    lines = [f'<div class="jupyter-repo-env-counts"><b>{ref}</b>: {html.escape(counts)}</div>']
    if plan.changes:
        rows = "".join(
            f'<tr class="jupyter-repo-env-{html.escape(change.action)} '
            f'jupyter-repo-env-{html.escape(change.kind)}">'
            + _cells(
                "td",
                [
                    change.action,
                    change.name,
                    change.current or "—",
                    change.wanted,
                    change.kind,
                ],
            )
            + "</tr>"
            for change in plan.changes
        )
        lines.append(
            '<table class="jupyter-repo-env-table" style="border-collapse: collapse; '
            'margin: 4px 0; max-width: 100%">'
            f"<thead><tr>{_cells('th', list(COLUMNS))}</tr></thead><tbody>{rows}</tbody></table>"
        )
    notes = []
    if plan.conda_note:
        notes.append(plan.conda_note)
    if plan.lock.unpinned:
        notes.append(
            f"{len(plan.lock.unpinned)} requirements without an exact pin are "
            f"installed as written: {', '.join(plan.lock.unpinned)}"
        )
    if plan.unchanged_lines:
        notes.append(f"Unchanged: {', '.join(plan.unchanged_lines)}")
    if plan.kept:
        notes.append(f"{plan.kept} installed packages the environment does not list are kept")
    if not plan.pending():
        what = " its pip packages" if plan.conda_note else ""
        notes.append(f"Nothing to change: {plan.prefix} already matches{what}.")
    lines.extend(f'<div class="jupyter-repo-env-note">{html.escape(note)}</div>' for note in notes)
    if plan.not_compared:
        items = "".join(
            f'<li class="jupyter-repo-env-not-compared"><code>{html.escape(item.line)}</code> '
            f"({html.escape(item.kind)}): not compared: {html.escape(item.reason)}</li>"
            for item in plan.not_compared
        )
        lines.append(f'<ul class="jupyter-repo-env-skipped" style="margin: 4px 0">{items}</ul>')
    return "".join(lines)


def _planned_line(plan: Plan) -> str:
    """The status line once the plan is shown (the plan says its counts, once)."""
    if plan.pending():
        return f"Compared with {plan.prefix}: review the changes above, then Apply."
    return f"Compared with {plan.prefix}."


class EnvironmentInstaller(widgets.VBox):
    """Plan a shared environment against this kernel's environment, then apply it."""

    #: Where planning and applying are (not synced to the browser).
    state = UseEnum(EnvironmentState, default_value=EnvironmentState.IDLE)

    def __init__(
        self,
        spec: str = "",
        client: RepoClient | None = None,
        target: Target | str | None = None,
        *,
        pypi_fallback: bool = True,
        **kwargs: Any,
    ) -> None:
        """``target``: a :class:`Target` or an interpreter path (default: this kernel's);
        ``pypi_fallback=False`` installs from the owner's index alone."""
        self._connection = Connection(client)
        self._target = target
        self._pypi_fallback = pypi_fallback
        self.current_plan: Plan | None = None
        self._planned_spec: str | None = None
        self._plan_future: concurrent.futures.Future[Outcome] | None = None
        self._apply_future: concurrent.futures.Future[Outcome] | None = None

        self.spec = widgets.Text(
            value=spec,
            placeholder="owner/name or owner/name/version",
            description="Environment",
            continuous_update=True,
            # The label as wide as its word ("Environm…" at ipywidgets' fixed width); the
            # box takes the room left and the row wraps at a narrow width.
            style={"description_width": "initial"},
            layout=widgets.Layout(width="auto", flex="1 1 22em", min_width="14em"),
        )
        self.plan_button = widgets.Button(
            description="Show changes",
            icon="search",
            tooltip="Compare the environment with this one",
        )
        self.apply_button = widgets.Button(
            description="Apply",
            icon="download",
            button_style="primary",
            disabled=True,
            tooltip="Show the changes first",
        )
        self.plan_view = widgets.HTML("", layout=widgets.Layout(width="auto"))
        self.status = widgets.HTML("", layout=widgets.Layout(width="auto"))
        self.panel = TaskPanel(status=self.status)
        self.spec.add_class("jupyter-repo-env-spec")
        self.plan_button.add_class("jupyter-repo-env-show")
        self.apply_button.add_class("jupyter-repo-env-apply")
        self.plan_view.add_class("jupyter-repo-env-plan")
        self.plan_button.on_click(lambda _button: self.plan())
        self.apply_button.on_click(lambda _button: self.apply())
        self.spec.observe(self._spec_changed, names="value")
        #: The row of controls (it wraps at a narrow width).
        self.controls = widgets.HBox(
            [self.spec, self.plan_button, self.apply_button],
            layout=widgets.Layout(flex_flow="row wrap", width="auto"),
        )
        super().__init__([self.controls, self.plan_view, self.status, self.panel], **kwargs)
        self.add_class("jupyter-repo-env-installer")

    # -- public ----------------------------------------------------------------------------

    @property
    def status_text(self) -> str:
        return self.panel.status_text

    @property
    def log_text(self) -> str:
        return self.panel.log_text

    def plan(self) -> None:
        """Compare the environment in the text box with the target (on a worker thread)."""
        if self.panel.running:
            return
        self._forget_plan()
        try:
            ref = EnvironmentRef.parse(self.spec.value)
            client = self._connection.get()
        except errors.ClientError as error:
            self._fail_early(describe(error, self._connection.secrets))
            return
        spec = self.spec.value

        def work(job: Job) -> Plan:
            installer = self._installer(client, job)
            try:
                return installer.plan_environment(ref.owner, ref.name, ref.version)
            except errors.NotFound as error:
                if error.message.startswith(f"{ref.owner}/{ref.name} has no version"):
                    raise  # the environment is there; the version is not
                raise errors.NotFound(describe(error, what=f"{ref.owner}/{ref.name}")) from None

        self._set_state(EnvironmentState.PLANNING)
        self.plan_button.disabled = True
        future = self.panel.start(
            work,
            title=f"Reading {ref}",
            secrets=self._secrets(),
            success=_planned_line,
        )
        self._plan_future = future
        future.add_done_callback(lambda done: self._planned(done.result(), spec))

    def apply(self) -> None:
        """Install the changes shown (only when a plan is shown for the current text)."""
        plan = self.current_plan
        if self.panel.running or plan is None or self._planned_spec != self.spec.value:
            return
        if not plan.pending():
            return
        client = self._connection.get()

        def work(job: Job) -> Any:
            return self._installer(client, job).apply_plan(plan)

        self._set_state(EnvironmentState.APPLYING)
        self.apply_button.disabled = True
        self.plan_button.disabled = True
        self.spec.disabled = True
        future = self.panel.start(
            work,
            title=f"Installing {plan.lock.ref}",
            secrets=self._secrets(),
            success=lambda result: result["message"],
            cancellable=not plan.conda_changes,
        )
        self._apply_future = future
        future.add_done_callback(lambda done: self._applied(done.result()))

    async def wait_for_plan(self, timeout: float | None = 60) -> Plan | None:
        """The plan shown once planning ends (None when it failed: see ``status_text``)."""
        if self._plan_future is not None:
            await self.panel.wait(timeout)
        return self.current_plan

    async def wait_for_apply(self, timeout: float | None = 300) -> str:
        """The final state of the last Apply: succeeded, failed or cancelled."""
        if self._apply_future is None:
            raise RuntimeError("Apply was not started: show the changes first.")
        await self.panel.wait(timeout)
        return self.state

    def cancel(self) -> None:
        self.panel.cancel()

    def close(self) -> None:
        self._connection.close()
        super().close()

    # -- internals -------------------------------------------------------------------------

    def _secrets(self) -> tuple[str, ...]:
        return self._connection.secrets

    def _resolved_target(self) -> Target:
        """Where Show changes and Apply look: ``target``, else this kernel's environment.
        (A choice of targets, such as a new kernel, would be decided here and offered as
        one more control in :attr:`controls`.)"""
        target = self._target
        if target is None:
            return Target.current()
        if isinstance(target, Target):
            return target
        return Target.of_interpreter(str(target))

    def _installer(self, client: RepoClient, job: Job) -> Installer:
        return Installer(
            client,
            self._resolved_target(),
            log=job.log,
            progress=job.progress,
            stop=job.stop,
            pypi_fallback=self._pypi_fallback,
        )

    def _set_state(self, state: EnvironmentState) -> None:
        for old in EnvironmentState:
            self.remove_class(f"jupyter-repo-env-{old}")
        self.add_class(f"jupyter-repo-env-{state}")
        self.state = state

    def _fail_early(self, message: str) -> None:
        self.panel.show_error(message)
        self._set_state(EnvironmentState.FAILED)

    def _forget_plan(self) -> None:
        self.current_plan = None
        self._planned_spec = None
        self.plan_view.value = ""
        self.apply_button.disabled = True
        self.apply_button.description = "Apply"
        self.apply_button.tooltip = "Show the changes first"

    def _spec_changed(self, _change: dict[str, Any]) -> None:
        """Another environment: Apply must only ever install the plan on screen, and the
        last plan's or install's bar, log and result line are about something else now
        (while planning, :meth:`_planned` drops the answer instead)."""
        if self.panel.running:
            return
        if (
            self.current_plan is not None
            or self.plan_view.value
            or self.state is not EnvironmentState.IDLE
        ):
            self._forget_plan()
            self.panel.reset()
            self._set_state(EnvironmentState.IDLE)

    def _planned(self, outcome: Outcome, spec: str) -> None:
        self.plan_button.disabled = False
        if outcome.state is not JobState.SUCCEEDED:
            self._set_state(EnvironmentState(outcome.state))
            return
        plan: Plan = outcome.result
        if self.spec.value != spec:  # edited while planning: the plan is for another text
            self._set_state(EnvironmentState.IDLE)
            return
        self.current_plan = plan
        self._planned_spec = spec
        self.plan_view.value = render_plan(plan)
        self.panel.layout.display = "none"  # its log only repeats the plan shown above
        count = plan.pending()
        if count:
            self.apply_button.disabled = False
            self.apply_button.description = f"Apply {count} change" + ("s" if count > 1 else "")
            self.apply_button.tooltip = f"Install these changes into {plan.prefix}"
        self._set_state(EnvironmentState.PLANNED)

    def _applied(self, outcome: Outcome) -> None:
        self.current_plan = None  # the environment changed: show the changes again first
        self._planned_spec = None
        self.apply_button.disabled = True
        self.apply_button.description = "Apply"
        self.plan_button.disabled = False
        self.spec.disabled = False
        self._set_state(EnvironmentState(outcome.state))
