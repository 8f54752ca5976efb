"""Acceptance 1 of issue 17 end to end, in two JupyterLab servers for two users on one
repository, both driven in headless Chromium (Debian's, through playwright).

User A works in a kernel whose environment has a conda part (a tiny conda package from A's
channel on the test repository, linked by py-rattler: ``conda-meta/``) and a pip part (a
wheel from A's index): A made it with ``jupyter repo env create``, which registered it as
a kernel of A's Jupyter. In A's Lab, A runs the notebook on that kernel and publishes it
with the publish dialog, *Attach the kernel's environment* checked: the extension captures
the running kernel's environment. User B, in B's own Lab, finds the notebook in the
Repository panel and clicks *Open with its environment*: a new kernelspec appears on B's
Jupyter server, the notebook opens with it, and its cell prints the exact versions of the
conda and the pip package. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.publish import Destination, Publisher
from tests.support import processes, publish
from tests.support.environments import runner_indexes
from tests.support.lab import (
    EXECUTED,
    LabServer,
    isolated_jupyter_env,
    lab_page,
    open_lab,
    wait_for_connected_kernel,
)
from tests.support.newenvs import PYTHON
from tests.support.server import RepoServer

pytestmark = pytest.mark.browser

BUILD_TIMEOUT_MS = 300_000
ATTACH_ENVIRONMENT = "Attach the kernel\u2019s environment"
CONDA_VERSION, PIP_VERSION = "1.3", "2.4"


@dataclass(frozen=True)
class UserA:
    """A's names, token, Lab, and the kernel A's notebook runs on."""

    login: str
    token: str
    lab: LabServer
    conda_name: str
    pip_name: str
    kernel_name: str
    kernel_display_name: str
    #: The prefix of A's kernel environment.
    prefix: Path
    #: The notebook in A's workspace.
    notebook: str


def versions_cell(conda_name: str, pip_name: str) -> str:
    """What a user runs to see the versions: ``versions: <conda> <pip>``, then where."""
    return (
        "import importlib, pathlib, sys\n"
        f"conda = pathlib.Path(sys.prefix, 'share', {conda_name!r}, 'VERSION').read_text()\n"
        f"pip = importlib.import_module({pip_name.replace('-', '_')!r}).__version__\n"
        "print('versions:', conda.strip(), pip)\n"
        "print('prefix:', sys.prefix)"
    )


def lab_config(root: Path, config: dict) -> None:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "jupyter_server_config.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def user_a(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserA]:
    """User A: a public conda package and wheel in A's namespace; an environment made of
    them (``jupyter repo env create`` from a spec A published, so it is a conda prefix
    with ``conda-meta/`` and a pip part), registered as a kernel of A's Jupyter; A's Lab,
    logged in with A's token; a notebook on that kernel in A's workspace."""
    unique = uuid.uuid4().hex[:8]
    login = server.create_user(f"a{unique}")
    token = server.token(login)
    root = tmp_path_factory.mktemp("lab-a")
    conda_name, pip_name = f"jrx-{unique}", f"jre-p-{unique}"
    publish.conda(server, token, login, root / "conda", conda_name, CONDA_VERSION)
    publish.wheel(server, token, login, root / "wheels", pip_name, PIP_VERSION)
    client = RepoClient(server.url, token)
    base = f"base-{unique}"
    yml = (
        f"name: {base}\ndependencies:\n  - python={PYTHON}\n"
        f"  - {conda_name}={CONDA_VERSION}=0\n  - pip\n  - pip:\n    - {pip_name}=={PIP_VERSION}\n"
    )
    Publisher(client).publish_spec_files(
        {"environment.yml": yml, "requirements.txt": f"{pip_name}=={PIP_VERSION}\n"},
        Destination(login, base, "1", public=False),
        default_name=base,
    )
    env = {
        **isolated_jupyter_env(root),
        "JUPYTER_REPO_URL": server.url,
        "JUPYTER_REPO_TOKEN": token,
        "JUPYTER_REPO_ENVS_DIR": str(root / "envs"),
    }
    created = processes.run(
        [
            sys.executable,
            "-m",
            "jupyter_repo",
            "env",
            "create",
            f"{login}/{base}",
            *[f"--extra-index-url={index}" for index in runner_indexes()],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert created.returncode == 0, (created.stdout[-3000:], created.stderr[-3000:])
    kernel_name = f"repo-{login}-{base}-v1"
    prefix = root / "envs" / login / f"{base}-v1"
    assert (prefix / "conda-meta" / f"{conda_name}-{CONDA_VERSION}-0.json").is_file()

    workspace = root / "workspace"
    workspace.mkdir()
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(versions_cell(conda_name, pip_name))]
    )
    notebook.metadata["kernelspec"] = {
        "name": kernel_name,
        "display_name": f"{login}/{base} v1",
        "language": "python",
    }
    (workspace / "team-analysis.ipynb").write_text(nbformat.writes(notebook))
    with LabServer(
        root, workspace, env={"JUPYTER_REPO_URL": server.url, "JUPYTER_REPO_TOKEN": token}
    ) as lab:
        yield UserA(
            login,
            token,
            lab,
            conda_name,
            pip_name,
            kernel_name,
            f"{login}/{base} v1",
            prefix,
            "team-analysis.ipynb",
        )


@pytest.fixture(scope="module")
def lab(
    server: RepoServer, lab_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """User B's Lab (``lab_user``, B's token), its new environments under its own folder,
    ipykernel and the other pip pins not on the repository from the runner's indexes."""
    root = tmp_path_factory.mktemp("lab-b")
    lab_config(
        root,
        {"RepoExtension": {"envs_dir": str(root / "envs"), "extra_index_urls": runner_indexes()}},
    )
    with LabServer(
        root,
        root / "workspace",
        env={"JUPYTER_REPO_URL": server.url, "JUPYTER_REPO_TOKEN": lab_token},
    ) as instance:
        yield instance


def package(server: RepoServer, token: str, owner: str, name: str) -> dict:
    response = requests.get(
        f"{server.api}/package/{owner}/{name}",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def spec_files(server: RepoServer, token: str, owner: str, name: str) -> dict[str, str]:
    """The files of ``owner/name`` 1 by basename, as B (any reader) downloads them."""
    found = {}
    for item in package(server, token, owner, name)["files"]:
        response = requests.get(
            f"{server.api}/download/{owner}/{name}/{item['version']}/{item['basename']}",
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        found[item["basename"]] = response.text
    return found


def show_sidebar(page: Page):  # type: ignore[no-untyped-def]
    panel = page.get_by_role("region", name="Repository", exact=True)
    if not panel.is_visible():
        page.get_by_role("complementary", name="main sidebar").get_by_role(
            "tab", name="Repository"
        ).click()
    panel.wait_for(state="visible")
    return panel


def test_acceptance_1_publish_in_a_lab_and_open_with_its_environment_in_another(
    browser: Browser,
    server: RepoServer,
    user_a: UserA,
    lab: LabServer,
    lab_user: str,
    lab_token: str,
    artifacts_dir: Path,
) -> None:
    a = user_a
    name = f"nb-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()

    # A, in A's Lab: the notebook runs on the environment's kernel and prints its versions.
    with lab_page(browser, artifacts_dir / "two-labs-a-last.png") as page:
        open_lab(page, a.lab, a.notebook)
        toolbar_kernel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName")
        expect(toolbar_kernel).to_have_text(a.kernel_display_name)
        cell = page.locator(".jp-Notebook .jp-CodeCell").first
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        cell.locator(".jp-InputArea-prompt").filter(has_text=EXECUTED).wait_for()
        output = cell.locator(".jp-OutputArea")
        expect(output).to_contain_text(f"versions: {CONDA_VERSION} {PIP_VERSION}")
        expect(output).to_contain_text(f"prefix: {a.prefix}")
        page.keyboard.press("Control+s")

        # Publish it with the kernel's environment attached.
        page.get_by_title("Publish this notebook to the repository").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Name", exact=True).fill(name)
        dialog.get_by_label("Summary").fill("Team analysis, with its environment")
        assert dialog.get_by_label("Namespace").input_value() == a.login
        assert dialog.get_by_label("Visibility").input_value() == "public"
        expect(dialog.get_by_label(ATTACH_ENVIRONMENT)).to_be_checked()
        page.screenshot(path=str(artifacts_dir / "two-labs-a-publish-dialog.png"))
        dialog.get_by_role("button", name="Publish").click()
        dialog.get_by_role("link", name="Open the published page").wait_for(timeout=120_000)
        expect(dialog.get_by_role("link", name=f"{a.login}/{name}-env")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "two-labs-a-published.png"))
    published_after = time.monotonic() - started

    # What B can read of it: the environment pins both packages exactly, with no token.
    files = spec_files(server, lab_token, a.login, f"{name}-env")
    assert f"{a.conda_name}={CONDA_VERSION}=0" in files["environment.yml"]
    assert f"{a.pip_name}=={PIP_VERSION}" in files["requirements.txt"].splitlines()
    explicit = files["conda-explicit.txt"]
    assert f"/{a.login}/noarch/{a.conda_name}-{CONDA_VERSION}-0.conda" in explicit
    assert all(a.token not in text and "/t/" not in text for text in files.values()), files

    # B, in B's Lab: the sidebar, *Open with its environment*.
    kernel_name = f"repo-{a.login}-{name}-env-v1"
    assert kernel_name not in lab.api("GET", "api/kernelspecs").json()["kernelspecs"]
    with lab_page(browser, artifacts_dir / "two-labs-b-last.png") as page:
        open_lab(page, lab)
        panel = show_sidebar(page)
        panel.get_by_role("searchbox", name="Search the repository").fill(name)
        row = panel.locator(f"[data-package='{a.login}/{name}']")
        action = row.get_by_role("button", name="Open with its environment")
        action.wait_for()
        page.screenshot(path=str(artifacts_dir / "two-labs-b-sidebar.png"))
        action.click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(f"Building the environment of {a.login}/{name}")
        log = dialog.locator(".jp-JupyterRepo-envLog")
        expect(log).to_contain_text("py-rattler", timeout=BUILD_TIMEOUT_MS)
        page.screenshot(path=str(artifacts_dir / "two-labs-b-building.png"))

        # A new kernelspec, the notebook open with it.
        page.get_by_role("tab", name=f"{name}.ipynb").wait_for(timeout=BUILD_TIMEOUT_MS)
        expect(dialog).to_have_count(0)
        specs = lab.api("GET", "api/kernelspecs").json()["kernelspecs"]
        assert specs[kernel_name]["spec"]["display_name"] == f"{a.login}/{name}-env v1"
        toolbar_kernel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName")
        expect(toolbar_kernel).to_have_text(f"{a.login}/{name}-env v1", timeout=BUILD_TIMEOUT_MS)
        wait_for_connected_kernel(lab, f"{name}.ipynb")

        # Its cell, run in B's new environment, prints the exact versions.
        b_prefix = Path(specs[kernel_name]["spec"]["argv"][0]).parent.parent
        assert b_prefix != a.prefix and (b_prefix / "conda-meta").is_dir()
        cell = page.locator(".jp-Notebook .jp-CodeCell").first
        output = cell.locator(".jp-OutputArea")
        expect(output).to_contain_text(f"prefix: {a.prefix}")  # what A's run left in it
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        expect(output).to_contain_text(f"prefix: {b_prefix}", timeout=60_000)
        expect(output).to_contain_text(f"versions: {CONDA_VERSION} {PIP_VERSION}")
        expect(output).not_to_contain_text(str(a.prefix))
        page.screenshot(path=str(artifacts_dir / "two-labs-b-done.png"))
    print(
        f"A published after {published_after:.1f} s; "
        f"B ran it after {time.monotonic() - started:.1f} s"
    )
