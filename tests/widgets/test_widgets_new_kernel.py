"""The environment installer's second target, *As a new kernel*, driven through its model
against a real repository, real py-rattler, real uv and a real kernelspec (issue 17): the
environments folder and the Jupyter data dir are this test's own (``JUPYTER_REPO_ENVS_DIR``,
``JUPYTER_DATA_DIR``), never the user's.

The shared environment pins a tiny conda package from the owner's private channel and a
wheel from the owner's private index; this machine reaches no public conda channel, so the
new environment is built on a local interpreter of the running Python's version.
``ipykernel`` comes from the indexes the runner's pip is configured with.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.publish import Destination, Publisher
from jupyter_repo.widgets import EnvironmentInstaller
from jupyter_repo.widgets.environment import AS_NEW_KERNEL, INTO_THIS_KERNEL
from tests.support import publish
from tests.support.environments import isolate_pip, runner_indexes, versions_in
from tests.support.server import RepoServer
from tests.widgets.test_widgets_environment import assert_secret_kept

PYTHON = "{}.{}".format(*sys.version_info[:2])
HOW_TO_SWITCH = (
    "To use it: Kernel → Change Kernel… → {} (Jupyter lists a new kernel within about a minute)."
)


@dataclass
class Published:
    """A private environment ``owner/name/1``: conda ``x`` 1.0 (exact pin) and wheel ``p``
    1.0 (exact lock)."""

    server: RepoServer
    owner: str
    token: str
    name: str
    x: str
    p: str

    @property
    def client(self) -> RepoClient:
        return RepoClient(self.server.url, self.token)

    @property
    def spec(self) -> str:
        return f"{self.owner}/{self.name}/1"

    @property
    def display_name(self) -> str:
        return f"{self.owner}/{self.name} v1"

    @property
    def kernel_name(self) -> str:
        return f"repo-{self.owner}-{self.name}-v1"


@pytest.fixture(scope="module")
def published(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Published:
    unique = uuid.uuid4().hex[:8]
    owner = server.create_user(f"wnk{unique}")
    token = server.token(owner, ["api:write"])
    root = tmp_path_factory.mktemp("new-kernel")
    x, p = f"jrx-{unique}", f"jre-p-{unique}"
    publish.conda(server, token, owner, root / "conda", x, "1.0", private=True)
    publish.wheel(server, token, owner, root / "wheels", p, "1.0", private=True)
    client = RepoClient(server.url, token)
    channel = client.conda_channel(owner)
    name = f"team-{unique}"
    yml = (
        f"name: team\ndependencies:\n  - python={PYTHON}\n  - {x}=1.0=0\n"
        f"  - pip\n  - pip:\n    - {p}==1.0\n"
    )
    Publisher(client).publish_spec_files(
        {
            "environment.yml": yml,
            "requirements.txt": f"{p}==1.0\n",
            "conda-explicit.txt": f"@EXPLICIT\n{channel}/noarch/{x}-1.0-0.conda\n",
        },
        Destination(owner, name, "1", public=False),
        default_name=name,
    )
    return Published(server, owner, token, name, x, p)


@dataclass
class Folders:
    envs: Path
    data: Path

    @property
    def kernels(self) -> Path:
        return self.data / "kernels"


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("new-kernel-user")


@pytest.fixture
def folders(module_root: Path, monkeypatch: pytest.MonkeyPatch) -> Folders:
    """This test's environments folder and Jupyter data dir (shared by the module, so a
    second test sees what the first built), set the way a user configures them."""
    isolate_pip(monkeypatch)
    found = Folders(module_root / "envs", module_root / "jupyter-data")
    monkeypatch.setenv("JUPYTER_REPO_ENVS_DIR", str(found.envs))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(found.data))
    return found


def installer_for(spec: str, client: RepoClient, **options: object) -> EnvironmentInstaller:
    return EnvironmentInstaller(
        spec, client=client, extra_index_urls=tuple(runner_indexes()), **options
    )


def shown(button: widgets.Widget) -> bool:
    return bool(button.layout.display != "none")


async def wait_for_log(installer: EnvironmentInstaller, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in installer.log_text:
        assert time.monotonic() < deadline, installer.log_text[-2000:]
        assert installer.state == "creating", installer.status_text
        await asyncio.sleep(0.05)


def test_as_a_new_kernel_builds_the_environment_and_registers_its_kernel(
    published: Published, folders: Folders
) -> None:
    installer = installer_for(published.spec, published.client)
    # Into this kernel first (as before): Show changes and Apply; no Create kernel.
    assert installer.target_choice.value == INTO_THIS_KERNEL
    assert [label for label, _value in installer.target_choice.options] == [
        "Into this kernel",
        "As a new kernel",
    ]
    assert installer.target_choice in installer.controls.children
    assert shown(installer.plan_button) and shown(installer.apply_button)
    assert not shown(installer.create_button)

    installer.target_choice.value = AS_NEW_KERNEL
    assert not shown(installer.plan_button) and not shown(installer.apply_button)
    assert shown(installer.create_button) and not installer.create_button.disabled
    assert str(folders.envs) in installer.plan_view.value  # where it goes, said up front
    assert "this kernel is not changed" in installer.plan_view.value
    installer.plan()  # Show changes compares with this kernel: not for a new one
    assert installer.state == "idle" and installer.current_plan is None

    async def scenario() -> str:
        installer.create_button.click()
        assert installer.state == "creating"
        assert installer.create_button.disabled and installer.spec.disabled
        assert installer.target_choice.disabled
        return await installer.wait_for_create(600)

    started = time.monotonic()
    assert asyncio.run(scenario()) == "succeeded", installer.status_text
    print(f"create a new kernel from the widget: {time.monotonic() - started:.1f} s")
    prefix = folders.envs / published.owner / f"{published.name}-v1"
    assert installer.status_text == (
        f"Created the kernel {published.display_name!r} ({prefix}). "
        + HOW_TO_SWITCH.format(published.display_name)
    )
    assert "✔" in installer.status.value
    assert installer.panel.progress.value == 1.0 and installer.panel.progress.bar_style == "success"
    log = installer.log_text
    assert "built on a local interpreter" in log  # why it is a venv, said in the live log
    assert f"py-rattler: {published.x} ==1.0 0 into {prefix}" in log
    assert "uv pip install" in log
    assert not installer.create_button.disabled and not installer.target_choice.disabled
    assert installer.created is not None and not installer.created.reused
    assert_secret_kept(installer, published.token)

    # Jupyter sees the kernel, with the display name the user is told to pick.
    specs = KernelSpecManager().get_all_specs()
    assert specs[published.kernel_name]["resource_dir"] == str(
        folders.kernels / published.kernel_name
    )
    kernel = specs[published.kernel_name]["spec"]
    assert kernel["display_name"] == published.display_name
    python = kernel["argv"][0]
    assert python == str(prefix / "bin" / "python")
    # The new python has the pip package, the conda package's file, and ipykernel.
    found = versions_in(python, [published.p, "ipykernel"])
    assert found[published.p] == "1.0" and found["ipykernel"]
    assert (prefix / "share" / published.x / "VERSION").read_text().strip() == "1.0"

    # Another environment typed: the bar, log and result line were about the last one.
    installer.spec.value = f"{published.owner}/another-env"
    assert installer.state == "idle" and installer.created is not None
    assert installer.status_text == "" and installer.log_text == ""
    assert installer.panel.layout.display == "none" and "✔" not in installer.status.value
    assert shown(installer.create_button) and "this kernel is not changed" in (
        installer.plan_view.value
    )


def test_as_a_new_kernel_again_reuses_the_environment(
    published: Published, folders: Folders
) -> None:
    prefix = folders.envs / published.owner / f"{published.name}-v1"
    marker = prefix / "jupyter-repo-env.json"
    if not marker.exists():  # run alone: build it first
        first = installer_for(published.spec, published.client, new_kernel=True)
        first.create()
        assert asyncio.run(first.wait_for_create(600)) == "succeeded", first.status_text
    before = marker.stat().st_ino
    # The notebook run again: a new widget, opened on the new-kernel target.
    installer = installer_for(
        f"{published.owner}/{published.name}", published.client, new_kernel=True
    )
    assert installer.target_choice.value == AS_NEW_KERNEL and shown(installer.create_button)

    async def scenario() -> str:
        installer.create()
        return await installer.wait_for_create(120)

    started = time.monotonic()
    assert asyncio.run(scenario()) == "succeeded", installer.status_text
    took = time.monotonic() - started
    print(f"reuse a new kernel from the widget: {took:.1f} s")
    assert installer.status_text == (
        f"Reused the environment already built for the kernel {published.display_name!r} "
        f"({prefix}). " + HOW_TO_SWITCH.format(published.display_name)
    )
    assert installer.created is not None and installer.created.reused
    assert f"is already built in {prefix}: reusing it" in installer.log_text
    assert "uv pip install" not in installer.log_text
    assert took < 30
    assert marker.stat().st_ino == before
    assert (folders.kernels / published.kernel_name / "kernel.json").is_file()

    # Back to "Into this kernel": the new kernel's result is about the other target.
    installer.target_choice.value = INTO_THIS_KERNEL
    assert installer.state == "idle" and installer.status_text == ""
    assert installer.log_text == "" and installer.panel.layout.display == "none"
    assert shown(installer.plan_button) and not shown(installer.create_button)
    assert installer.plan_view.value == ""


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("{owner}/no-such-env", "{owner}/no-such-env: not found, or not visible to you"),
        (
            "not a spec",
            "'not a spec' is not an environment: write OWNER/NAME or OWNER/NAME/VERSION.",
        ),
        ("", "Enter an environment as OWNER/NAME or OWNER/NAME/VERSION."),
        ("{owner}/{name}/7", "{owner}/{name} has no version 7; it has 1."),
        ("{owner}/{p}", "{owner}/{p} 1.0 is not an environment."),
    ],
    ids=["unknown", "not-a-spec", "empty", "no-such-version", "a-wheel"],
)
def test_as_a_new_kernel_errors_read_as_one_line(
    published: Published, folders: Folders, spec: str, expected: str
) -> None:
    names = {"owner": published.owner, "name": published.name, "p": published.p}
    installer = installer_for(spec.format(**names), published.client, new_kernel=True)

    async def scenario() -> str:
        installer.create()
        if installer.state == "failed":  # refused before any job started
            return installer.state
        return await installer.wait_for_create(60)

    assert asyncio.run(scenario()) == "failed"
    message = installer.status_text
    assert message.startswith(expected.format(**names)), message
    assert "\n" not in message and "Traceback" not in message
    assert "✖" in installer.status.value
    assert not installer.create_button.disabled and not installer.spec.disabled
    assert installer.created is None
    assert_secret_kept(installer, published.token)
    if spec.startswith("{owner}/no-such"):
        assert not (folders.envs / published.owner / "no-such-env-v1").exists()
        assert not (folders.kernels / f"repo-{published.owner}-no-such-env-v1").exists()


@pytest.fixture
def hanging_index() -> Iterator[str]:
    """An index that accepts connections and never answers (a stalled mirror): uv waits on
    it for ``ipykernel`` until it is stopped."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/simple"
    finally:
        listener.close()


def test_cancel_while_a_new_kernel_is_built(
    published: Published, folders: Folders, hanging_index: str, tmp_path: Path
) -> None:
    envs = tmp_path / "envs"
    installer = EnvironmentInstaller(
        published.spec,
        client=published.client,
        new_kernel=True,
        envs_dir=envs,
        kernel_prefix=tmp_path / "kernels-prefix",
        extra_index_urls=(hanging_index,),
        pypi_fallback=False,
    )

    async def scenario() -> tuple[str, float]:
        installer.create()
        await wait_for_log(installer, "uv pip install", 300)
        await asyncio.sleep(1.0)  # uv is waiting on the stalled index now
        assert installer.state == "creating" and not installer.panel.cancel_button.disabled
        installer.panel.cancel_button.click()
        cancelled = time.monotonic()
        state = await installer.wait_for_create(60)
        return state, time.monotonic() - cancelled

    state, took = asyncio.run(scenario())
    print(f"cancel a new kernel's build: ended {took:.2f} s after Cancel")
    assert state == "cancelled", installer.status_text
    assert installer.status_text == (
        "Cancelled: no kernel was created, and the unfinished environment was removed."
    )
    assert took < 15
    assert not (envs / published.owner / f"{published.name}-v1").exists()
    assert not (tmp_path / "kernels-prefix").exists()
    assert installer.created is None and not installer.create_button.disabled
