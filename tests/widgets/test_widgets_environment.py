"""The environment installer widget, driven through its model against a real repository:
plan a private shared environment against a throwaway venv (add / upgrade / downgrade),
apply it, check the versions in a fresh interpreter; its conda part against a conda prefix
(py-rattler), or the line saying why it was not compared; access, secrecy and readable
errors."""

from __future__ import annotations

import asyncio
import html
import json
import re
import uuid
from collections.abc import Coroutine, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.publish import Destination, Publisher
from jupyter_repo.widgets import EnvironmentInstaller
from tests.support.environments import (
    CondaEnvironment,
    SharedEnvironment,
    conda_environment,
    conda_records,
    isolate_pip,
    make_venv,
    shared_environment,
    versions_in,
)
from tests.support.net import free_port
from tests.support.server import RepoServer


def installer_into_empty_venv(
    server: RepoServer, shared: SharedEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> EnvironmentInstaller:
    """The shared environment's installer, aimed at a fresh venv with nothing in it (pip
    kept off the user's configuration)."""
    isolate_pip(monkeypatch)
    empty = make_venv(tmp_path / "empty", [])
    return EnvironmentInstaller(
        shared.spec,
        client=RepoClient(server.url, shared.token),
        target=str(empty / "bin" / "python"),
        pypi_fallback=False,
    )


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on an asyncio loop, as in a kernel (the task panel applies updates on it)."""
    return asyncio.run(coroutine)


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, _attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(markup: str) -> list[list[str]]:
    """The table as the user reads it (header row first)."""
    parser = _Rows()
    parser.feed(markup)
    return parser.rows


def all_widgets(root: widgets.Widget) -> Iterator[widgets.Widget]:
    """The widget and every widget it references (children, layouts, styles)."""
    seen: set[str] = set()
    stack = [root]
    while stack:
        widget = stack.pop()
        if widget.model_id in seen:
            continue
        seen.add(widget.model_id)
        yield widget
        for name in widget.keys:
            value = getattr(widget, name)
            values = value if isinstance(value, (list, tuple)) else [value]
            stack.extend(item for item in values if isinstance(item, widgets.Widget))


def assert_secret_kept(installer: EnvironmentInstaller, secret: str) -> None:
    for widget in all_widgets(installer):
        assert secret not in json.dumps(widget.get_state(), default=str), widget
    assert secret not in installer.log_text and secret not in installer.status_text


@pytest.fixture(scope="module")
def shared(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> SharedEnvironment:
    """A private environment (and private wheels) of a fresh user, and a venv to plan on."""
    unique = uuid.uuid4().hex[:8]
    owner = server.create_user(f"w{unique}")
    return shared_environment(server, owner, unique, tmp_path_factory.mktemp("shared-env"))


def test_plan_then_apply_into_a_venv(
    server: RepoServer, shared: SharedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_pip(monkeypatch)
    names = shared.packages
    installer = EnvironmentInstaller(
        shared.spec,
        client=RepoClient(server.url, shared.token),
        target=shared.python,
        pypi_fallback=False,
    )
    assert installer.state == "idle" and installer.apply_button.disabled
    assert "jupyter-repo-env-installer" in installer._dom_classes
    assert "jupyter-repo-env-plan" in installer.plan_view._dom_classes
    assert "jupyter-repo-env-apply" in installer.apply_button._dom_classes

    async def scenario() -> str:
        installer.apply()  # no plan shown yet: nothing happens
        assert installer.state == "idle"
        installer.plan_button.click()
        plan = await installer.wait_for_plan(60)
        assert plan is not None and installer.state == "planned", installer.status_text
        assert table_rows(installer.plan_view.value) == [
            ["Change", "Package", "Installed", "Wanted", "Via"],
            ["add", names["a"], "—", "1.0", "pip"],
            ["upgrade", names["b"].upper(), "1.0", "2.0", "pip"],
            ["downgrade", names["c"].replace("-", "_"), "2.0", "1.0", "pip"],
        ]
        assert "1 to add, 1 to upgrade, 1 to downgrade, 1 unchanged" in installer.plan_view.value
        assert not installer.apply_button.disabled
        assert installer.apply_button.description == "Apply 3 changes"
        installer.apply_button.click()
        assert installer.state == "applying" and installer.apply_button.disabled
        return await installer.wait_for_apply(120)

    assert run(scenario()) == "succeeded", installer.status_text
    assert installer.status_text == (
        f"Installed {shared.owner}/{shared.name}/1 into {shared.venv}: 1 added, 1 upgraded, "
        "1 downgraded; restart the kernel to use them."
    )
    assert versions_in(shared.python, list(names.values())) == {
        names["a"]: "1.0",
        names["b"]: "2.0",
        names["c"]: "1.0",
        names["d"]: "1.0",
    }
    assert installer.apply_button.disabled  # the environment changed: plan again first
    assert_secret_kept(installer, shared.token)

    # Planned again, there is nothing left to change.
    async def again() -> None:
        installer.plan()
        plan = await installer.wait_for_plan(60)
        assert plan is not None and plan.changes == []

    run(again())
    assert "Nothing to change" in installer.plan_view.value and installer.apply_button.disabled


@pytest.fixture(scope="module")
def conda_shared(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> CondaEnvironment:
    """A private environment with a conda part, and a conda prefix holding old versions."""
    pytest.importorskip("rattler")
    unique = uuid.uuid4().hex[:8]
    owner = server.create_user(f"c{unique}")
    return conda_environment(server, owner, unique, tmp_path_factory.mktemp("conda-env"))


def test_conda_part_is_planned_and_applied_into_a_conda_prefix(
    server: RepoServer, conda_shared: CondaEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_pip(monkeypatch)
    env, names = conda_shared, conda_shared.packages
    assert conda_records(env.prefix) == {
        f"{names['y']}-1.0-0",
        f"{names['z']}-2.0-0",
        f"{names['w']}-1.0-0",
    }
    installer = EnvironmentInstaller(
        env.spec, client=RepoClient(server.url, env.token), target=env.target, pypi_fallback=False
    )

    async def scenario() -> str:
        installer.plan()
        plan = await installer.wait_for_plan(60)
        assert plan is not None and installer.state == "planned", installer.status_text
        assert table_rows(installer.plan_view.value) == [
            ["Change", "Package", "Installed", "Wanted", "Via"],
            ["add", names["x"], "—", "1.0 (build 0)", "conda"],
            ["upgrade", names["y"], "1.0 (build 0)", "2.0 (build 0)", "conda"],
            ["downgrade", names["z"], "2.0 (build 0)", "1.0 (build 0)", "conda"],
            ["add", names["p"], "—", "1.0", "pip"],
        ]
        assert "2 to add, 1 to upgrade, 1 to downgrade, 1 unchanged" in installer.plan_view.value
        assert "not compared" not in installer.plan_view.value
        assert installer.apply_button.description == "Apply 4 changes"
        installer.apply_button.click()
        assert installer.panel.cancel_button.disabled  # rattler's linking cannot stop
        return await installer.wait_for_apply(120)

    assert run(scenario()) == "succeeded", installer.status_text
    assert installer.status_text == (
        f"Installed {env.spec} into {env.prefix}: 2 added, 1 upgraded, 1 downgraded; "
        "restart the kernel to use them."
    )
    assert conda_records(env.prefix) == {
        f"{names['x']}-1.0-0",
        f"{names['y']}-2.0-0",
        f"{names['z']}-1.0-0",
        f"{names['w']}-1.0-0",
    }
    assert (env.prefix / "share" / names["y"] / "VERSION").read_text() == "2.0\n"
    assert (env.prefix / "share" / names["z"] / "VERSION").read_text() == "1.0\n"
    assert versions_in(env.python, [names["p"]]) == {names["p"]: "1.0"}
    log = installer.log_text
    assert f"linked {names['x']}-1.0-0" in log
    assert log.index("conda install ") < log.index("pip install ")  # conda first, then pip
    assert f"from {server.url}/conda/{env.owner} into" in log
    assert_secret_kept(installer, env.token)

    async def again() -> None:
        installer.plan()
        plan = await installer.wait_for_plan(60)
        assert plan is not None and plan.changes == [], installer.status_text

    run(again())
    assert "Nothing to change" in installer.plan_view.value and installer.apply_button.disabled


def test_conda_part_is_not_compared_outside_a_conda_environment(
    server: RepoServer, conda_shared: CondaEnvironment, tmp_path: Path
) -> None:
    env, names = conda_shared, conda_shared.packages
    venv = make_venv(tmp_path / "plain", [])  # no conda-meta/
    installer = EnvironmentInstaller(
        env.spec, client=RepoClient(server.url, env.token), target=str(venv / "bin" / "python")
    )

    async def scenario() -> None:
        installer.plan()
        assert await installer.wait_for_plan(60) is not None, installer.status_text

    run(scenario())
    assert table_rows(installer.plan_view.value) == [
        ["Change", "Package", "Installed", "Wanted", "Via"],
        ["add", names["p"], "—", "1.0", "pip"],
    ]
    reason = (
        f"The environment's 4 conda packages were not compared: {venv} is not a conda "
        "environment (it has no conda-meta folder), so only its pip packages are "
        "planned."
    )
    assert reason in installer.plan_view.value.replace("&#x27;", "'")
    assert reason in installer.log_text
    assert installer.apply_button.description == "Apply 1 change"
    assert_secret_kept(installer, env.token)

    # Only conda packages (an explicit lock alone): nothing can be planned here.
    client = RepoClient(server.url, env.token)
    lock = f"@EXPLICIT\n{client.conda_channel(env.owner)}/noarch/{names['x']}-1.0-0.conda\n"
    Publisher(client).publish_spec_files(
        {"conda-explicit.txt": lock},
        Destination(env.owner, env.name, "2", public=False),
        default_name=env.name,
    )
    conda_only = EnvironmentInstaller(
        f"{env.owner}/{env.name}/2", client=client, target=str(venv / "bin" / "python")
    )
    assert plan_error(conda_only) == (
        f"{env.owner}/{env.name} 2 has only conda packages and {venv} is not a conda "
        "environment (it has no conda-meta folder); create one from it with: conda env "
        "create --file conda-explicit.txt"
    )
    assert_secret_kept(conda_only, env.token)


def test_editing_the_spec_withdraws_the_plan(server: RepoServer, shared: SharedEnvironment) -> None:
    installer = EnvironmentInstaller(
        f"{shared.owner}/{shared.name}",
        client=RepoClient(server.url, shared.token),
        target=shared.python,
    )

    async def scenario() -> None:
        installer.plan()
        assert await installer.wait_for_plan(60) is not None

    run(scenario())
    assert installer.state == "planned" and installer.plan_view.value
    installer.spec.value = f"{shared.owner}/{shared.name}/1"
    assert installer.state == "idle" and installer.apply_button.disabled
    assert installer.plan_view.value == "" and installer.current_plan is None
    installer.apply()
    assert installer.state == "idle"


def test_defect_6_another_environment_clears_the_last_install(
    server: RepoServer, shared: SharedEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17, defect 6: after Apply, the green bar, the log, "✔ Installed …" and the
    applied plan stayed while another environment was typed in."""
    installer = installer_into_empty_venv(server, shared, tmp_path, monkeypatch)

    async def scenario() -> str:
        installer.plan()
        assert await installer.wait_for_plan(60) is not None, installer.status_text
        installer.apply()
        return await installer.wait_for_apply(120)

    assert run(scenario()) == "succeeded", installer.status_text
    panel = installer.panel
    assert panel.progress.bar_style == "success" and installer.log_text
    assert installer.status_text.startswith("Installed ")
    installer.spec.value = f"{shared.owner}/another-env"
    assert installer.state == "idle" and installer.plan_view.value == ""
    assert panel.layout.display == "none" and panel.state == "idle"
    assert panel.progress.value == 0.0 and panel.progress.bar_style == ""
    assert installer.log_text == "" and installer.status_text == ""
    assert "✔" not in installer.status.value


def test_cancel_during_apply(
    server: RepoServer, shared: SharedEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel stops pip; the plan is withdrawn, since the environment may have changed."""
    installer = installer_into_empty_venv(server, shared, tmp_path, monkeypatch)

    async def scenario() -> str:
        installer.plan()
        plan = await installer.wait_for_plan(60)
        assert plan is not None and [change.action for change in plan.changes] == ["add"] * 4
        installer.apply()
        installer.panel.cancel_button.click()
        return await installer.wait_for_apply(60)

    assert run(scenario()) == "cancelled"
    assert installer.status_text == "Cancelled: nothing more was installed."
    assert installer.apply_button.disabled and installer.current_plan is None
    assert set(
        versions_in(
            str(tmp_path / "empty" / "bin" / "python"), list(shared.packages.values())
        ).values()
    ) == {None}


def plan_error(installer: EnvironmentInstaller) -> str:
    async def scenario() -> None:
        installer.plan()
        assert await installer.wait_for_plan(60) is None

    run(scenario())
    assert installer.state == "failed" and installer.apply_button.disabled
    assert "jupyter-repo-task-failed" in installer.panel._dom_classes
    return installer.status_text


def test_a_private_environment_is_not_found_for_another_user(
    server: RepoServer, shared: SharedEnvironment, unique: str
) -> None:
    stranger_token = server.token(server.create_user(f"s{unique}"))
    installer = EnvironmentInstaller(
        shared.spec, client=RepoClient(server.url, stranger_token), target=shared.python
    )
    message = plan_error(installer)
    assert message.startswith(f"{shared.owner}/{shared.name}: not found, or not visible to you")
    assert_secret_kept(installer, stranger_token)


def test_readable_errors(
    server: RepoServer, shared: SharedEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = RepoClient(server.url, shared.token)
    owner = shared.owner

    def error_for(spec: str, connection: RepoClient | None = client) -> str:
        installer = EnvironmentInstaller(spec, client=connection, target=shared.python)
        message = plan_error(installer)
        assert "\n" not in message and "Traceback" not in message
        assert_secret_kept(installer, shared.token)
        return message

    assert error_for("not a spec") == (
        "'not a spec' is not an environment: write OWNER/NAME or OWNER/NAME/VERSION."
    )
    assert error_for("") == "Enter an environment as OWNER/NAME or OWNER/NAME/VERSION."
    assert error_for(f"{owner}/no-such-env").startswith(
        f"{owner}/no-such-env: not found, or not visible to you"
    )
    assert error_for(f"{shared.spec[:-2]}/7") == (
        f"{owner}/{shared.name} has no version 7; it has 1."
    )
    assert error_for(f"{owner}/{shared.packages['a']}") == (
        f"{owner}/{shared.packages['a']} 1.0 is not an environment."
    )
    down = RepoClient(f"http://127.0.0.1:{free_port()}", shared.token, timeout=5)
    assert error_for(shared.spec, down).startswith(f"Cannot reach the repository at {down.url}: ")

    monkeypatch.delenv("JUPYTER_REPO_URL", raising=False)
    monkeypatch.delenv("JUPYTER_REPO_TOKEN", raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "empty-config"))
    assert error_for(shared.spec, None).startswith(
        "No repository is configured: run 'jupyter repo login --url URL'"
    )


def note_items(markup: str) -> list[str]:
    """The plan's "not compared" lines as the user reads them."""
    items = re.findall(r'<li class="jupyter-repo-env-not-compared">(.*?)</li>', markup, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


def test_defect_3_conda_requirements_without_pins_are_shown_with_the_reason(
    server: RepoServer, shared: SharedEnvironment, tmp_path: Path
) -> None:
    """Issue 17, defect 3: an environment.yml's ``python=3.11``, ``numpy>=1.26`` and
    ``pandas`` were dropped without a word. Each line of the spec is in the plan: the pip
    pin planned, the conda lines each "not compared" with the reason."""
    client = RepoClient(server.url, shared.token)
    name = f"{shared.name}-yml"
    wanted = shared.packages["a"]
    yml = (
        "name: analysis\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n"
        f"  - numpy>=1.26\n  - pandas\n  - pip\n  - pip:\n    - {wanted}==1.0\n"
    )
    Publisher(client).publish_spec_files(
        {"environment.yml": yml},
        Destination(shared.owner, name, "1", public=False),
        default_name=name,
    )
    empty = make_venv(tmp_path / "empty", [])
    installer = EnvironmentInstaller(
        f"{shared.owner}/{name}", client=client, target=str(empty / "bin" / "python")
    )

    async def scenario() -> None:
        installer.plan()
        assert await installer.wait_for_plan(60) is not None, installer.status_text

    run(scenario())
    assert table_rows(installer.plan_view.value) == [
        ["Change", "Package", "Installed", "Wanted", "Via"],
        ["add", wanted, "—", "1.0", "pip"],
    ]
    python = installer.current_plan.not_compared[0].reason  # type: ignore[union-attr]
    assert python.startswith("this kernel runs Python 3.") and "never changes its Python" in python
    not_conda = f"{empty} is not a conda environment (it has no conda-meta folder)"
    assert note_items(installer.plan_view.value) == [
        f"python=3.11 (conda): not compared: {python}",
        f"numpy>=1.26 (conda): not compared: {not_conda}",
        f"pandas (conda): not compared: {not_conda}",
        "pip (conda): not compared: the pip part is installed with the kernel's own pip",
    ]
    assert "1 to add, 0 unchanged; 4 conda packages not compared" in installer.plan_view.value
    assert f"numpy>=1.26 (conda): not compared: {not_conda}" in installer.log_text
    assert installer.apply_button.description == "Apply 1 change"
