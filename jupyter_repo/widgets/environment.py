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

Next to the text box, the target choice offers the two places an environment can go, side
by side: *Into this kernel* (the above) or *As a new kernel*: then "Show changes" and
"Apply" give way to "Create kernel", which builds (or reuses) a new environment from the
shared one and registers it as a kernel named ``owner/name vN``
(:func:`~jupyter_repo.client.install.newenv.create_environment`), in the same task panel
(progress, live log, Cancel; a cancelled build leaves nothing behind), and ends with the
kernel's name, whether it was reused and how to switch to it. This kernel is not changed.

The repository and token come from the user's configuration (or ``client``); the token is
only used by the client, by pip's environment and in rattler's channel URL: it is in no
widget's state and is masked in every line shown.

DOM hooks (CSS classes): ``jupyter-repo-env-installer`` on the widget,
``jupyter-repo-env-spec`` on the text box, ``jupyter-repo-env-show`` on "Show changes",
``jupyter-repo-env-plan`` on the table (rows ``jupyter-repo-env-<action>`` and
``jupyter-repo-env-<pip|conda>``), ``jupyter-repo-env-note`` on the lines under it,
``jupyter-repo-env-not-compared`` on each line not compared,
``jupyter-repo-env-apply`` on "Apply", ``jupyter-repo-env-target`` on the target choice,
``jupyter-repo-env-create`` on "Create kernel", ``jupyter-repo-env-new-kernel-note`` on the
line saying where a new kernel goes, plus the task panel's own classes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from traitlets import UseEnum

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.envdiff import Plan
from jupyter_repo.client.install import Installer, Target
from jupyter_repo.client.install.newenv import (
    CreatedEnvironment,
    create_environment,
    default_envs_dir,
)
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
#: The target choice's values: into this kernel's environment, or a new one and its kernel.
INTO_THIS_KERNEL = "this-kernel"
AS_NEW_KERNEL = "new-kernel"
TARGETS = (("Into this kernel", INTO_THIS_KERNEL), ("As a new kernel", AS_NEW_KERNEL))


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


def created_line(created: CreatedEnvironment) -> str:
    """The status line once a new kernel is there: its name, reused or built, how to use it."""
    how = "Reused the environment already built for" if created.reused else "Created"
    return (
        f"{how} the kernel {created.display_name!r} ({created.prefix}). To use it: "
        f"Kernel → Change Kernel… → {created.display_name} (Jupyter lists a new kernel "
        "within about a minute)."
    )


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
        new_kernel: bool = False,
        envs_dir: str | Path | None = None,
        kernel_prefix: str | Path | None = None,
        extra_index_urls: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        """``target``: a :class:`Target` or an interpreter path (default: this kernel's);
        ``pypi_fallback=False`` installs from the owner's index alone; ``new_kernel=True``
        starts with *As a new kernel* chosen, built under ``envs_dir`` (default:
        ``$JUPYTER_REPO_ENVS_DIR``, else the Jupyter data dir's ``repo-envs``) with its
        kernelspec under ``kernel_prefix`` (default: the user's Jupyter data dir);
        ``extra_index_urls`` are searched after the owner's index (pip and uv)."""
        self._connection = Connection(client)
        self._target = target
        self._pypi_fallback = pypi_fallback
        self._envs_dir = envs_dir
        self._kernel_prefix = kernel_prefix
        self._extra_index_urls = tuple(extra_index_urls)
        self.current_plan: Plan | None = None
        #: The new environment and kernel the last *Create kernel* made or reused.
        self.created: CreatedEnvironment | None = None
        self._planned_spec: str | None = None
        self._plan_future: concurrent.futures.Future[Outcome] | None = None
        self._apply_future: concurrent.futures.Future[Outcome] | None = None
        self._create_future: concurrent.futures.Future[Outcome] | None = None

        self.spec = widgets.Text(
            value=spec,
            placeholder="owner/name or owner/name/version",
            description="Environment",
            continuous_update=True,
            # The label as wide as its word ("Environm…" at ipywidgets' fixed width); the
            # box takes a line of its own (a long OWNER/NAME/VERSION fits), the target
            # choice and the buttons wrap onto the next.
            style={"description_width": "initial"},
            layout=widgets.Layout(width="auto", flex="1 1 100%", min_width="14em"),
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
        self.target_choice = widgets.ToggleButtons(
            options=TARGETS,
            value=AS_NEW_KERNEL if new_kernel else INTO_THIS_KERNEL,
            tooltips=[
                "Show the changes to this kernel's environment, then apply them",
                "Build a new environment from it and register it as a kernel",
            ],
            # Each button as wide as its words (ipywidgets' fixed width cut them off).
            style={"button_width": "auto"},
            layout=widgets.Layout(width="auto"),
        )
        self.create_button = widgets.Button(
            description="Create kernel",
            icon="plus",
            button_style="primary",
            tooltip="Build (or reuse) a new environment and register its kernel",
            layout=widgets.Layout(width="auto"),
        )
        self.plan_view = widgets.HTML("", layout=widgets.Layout(width="auto"))
        self.status = widgets.HTML("", layout=widgets.Layout(width="auto"))
        self.panel = TaskPanel(status=self.status)
        self.spec.add_class("jupyter-repo-env-spec")
        self.plan_button.add_class("jupyter-repo-env-show")
        self.apply_button.add_class("jupyter-repo-env-apply")
        self.plan_view.add_class("jupyter-repo-env-plan")
        self.target_choice.add_class("jupyter-repo-env-target")
        self.create_button.add_class("jupyter-repo-env-create")
        self.plan_button.on_click(lambda _button: self.plan())
        self.apply_button.on_click(lambda _button: self.apply())
        self.create_button.on_click(lambda _button: self.create())
        self.spec.observe(self._spec_changed, names="value")
        self.target_choice.observe(self._target_changed, names="value")
        #: The row of controls (it wraps at a narrow width).
        self.controls = widgets.HBox(
            [
                self.spec,
                self.target_choice,
                self.plan_button,
                self.apply_button,
                self.create_button,
            ],
            layout=widgets.Layout(flex_flow="row wrap", width="auto"),
        )
        super().__init__([self.controls, self.plan_view, self.status, self.panel], **kwargs)
        self.add_class("jupyter-repo-env-installer")
        self._show_target()

    # -- public ----------------------------------------------------------------------------

    @property
    def status_text(self) -> str:
        return self.panel.status_text

    @property
    def new_kernel(self) -> bool:
        """Whether *As a new kernel* is chosen."""
        return bool(self.target_choice.value == AS_NEW_KERNEL)

    @property
    def log_text(self) -> str:
        return self.panel.log_text

    def plan(self) -> None:
        """Compare the environment in the text box with the target (on a worker thread)."""
        if self.panel.running or self.new_kernel:
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
            with _readable_not_found(ref):
                return installer.plan_environment(ref.owner, ref.name, ref.version)

        self._set_state(EnvironmentState.PLANNING)
        self.plan_button.disabled = True
        self.target_choice.disabled = True
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
        if self.panel.running or self.new_kernel:
            return
        if plan is None or self._planned_spec != self.spec.value:
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
        self.target_choice.disabled = True
        future = self.panel.start(
            work,
            title=f"Installing {plan.lock.ref}",
            secrets=self._secrets(),
            success=lambda result: result["message"],
            cancellable=not plan.conda_changes,
        )
        self._apply_future = future
        future.add_done_callback(lambda done: self._applied(done.result()))

    def create(self) -> None:
        """Build (or reuse) a new environment from the one in the text box and register it
        as a kernel (on a worker thread; only while *As a new kernel* is chosen)."""
        if self.panel.running or not self.new_kernel:
            return
        self.created = None
        try:
            ref = EnvironmentRef.parse(self.spec.value)
            client = self._connection.get()
        except errors.ClientError as error:
            self._fail_early(describe(error, self._connection.secrets))
            return

        def work(job: Job) -> CreatedEnvironment:
            with _readable_not_found(ref):
                return create_environment(
                    client,
                    ref,
                    kernel_prefix=self._kernel_prefix,
                    envs_dir=self._envs_dir,
                    log=job.log,
                    progress=job.progress,
                    extra_index_urls=self._extra_index_urls,
                    stop=job.stop,
                    pypi_fallback=self._pypi_fallback,
                )

        self._set_state(EnvironmentState.CREATING)
        self.create_button.disabled = True
        self.spec.disabled = True
        self.target_choice.disabled = True
        future = self.panel.start(
            work,
            title=f"Creating a kernel from {ref}",
            secrets=self._secrets(),
            success=created_line,
            cancelled="Cancelled: no kernel was created, and the unfinished environment "
            "was removed.",
        )
        self._create_future = future
        future.add_done_callback(lambda done: self._created(done.result()))

    async def wait_for_create(self, timeout: float | None = 600) -> str:
        """The final state of the last *Create kernel*: succeeded, failed or cancelled."""
        if self._create_future is None:
            raise RuntimeError("Create kernel was not started: choose As a new kernel first.")
        await self.panel.wait(timeout)
        return self.state

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
        """Where Show changes and Apply look: ``target``, else this kernel's environment
        (*As a new kernel* does not look at it: :meth:`create`)."""
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
            extra_index_urls=self._extra_index_urls,
        )

    def _show_target(self) -> None:
        """One target's buttons at a time: Show changes and Apply compare with and change
        this kernel, so a new kernel has Create kernel instead, and a line saying where
        it goes."""
        new = self.new_kernel
        for button in (self.plan_button, self.apply_button):
            button.layout.display = "none" if new else None
        self.create_button.layout.display = None if new else "none"
        self.plan_view.value = self._new_kernel_note() if new else ""

    def _new_kernel_note(self) -> str:
        where = self._envs_dir or default_envs_dir()
        return (
            '<div class="jupyter-repo-env-new-kernel-note">A new environment is built from '
            f"it in {html.escape(str(where))} and registered as a kernel named "
            "<i>owner/name vN</i>; this kernel is not changed. An environment already built "
            "from the same version is reused.</div>"
        )

    def _target_changed(self, _change: dict[str, Any]) -> None:
        """The other target: the plan on screen and the last job are about the old one."""
        if self.panel.running:
            return
        self._forget_plan()
        self.panel.reset()
        self._set_state(EnvironmentState.IDLE)
        self._show_target()

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
            or (self.plan_view.value and not self.new_kernel)
            or self.state is not EnvironmentState.IDLE
        ):
            self._forget_plan()
            self.panel.reset()
            self._set_state(EnvironmentState.IDLE)
            self._show_target()

    def _planned(self, outcome: Outcome, spec: str) -> None:
        self.plan_button.disabled = False
        self.target_choice.disabled = False
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
        self.target_choice.disabled = False
        self._set_state(EnvironmentState(outcome.state))

    def _created(self, outcome: Outcome) -> None:
        self.created = outcome.result if outcome.state is JobState.SUCCEEDED else None
        self.create_button.disabled = False
        self.spec.disabled = False
        self.target_choice.disabled = False
        self._set_state(EnvironmentState(outcome.state))


@contextlib.contextmanager
def _readable_not_found(ref: EnvironmentRef) -> Iterator[None]:
    """A missing environment (or one hidden from this user) said in one line naming it."""
    try:
        yield
    except errors.NotFound as error:
        if error.message.startswith(f"{ref.owner}/{ref.name} has no version"):
            raise  # the environment is there; the version is not
        raise errors.NotFound(describe(error, what=f"{ref.owner}/{ref.name}")) from None
