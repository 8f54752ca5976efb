"""Acceptance 1 of issue 17 in JupyterLab: user A shares a notebook with an environment that
has a conda part (a tiny conda package from A's channel on the repository) and a pip part (a
wheel from A's index); user B, in B's own JupyterLab, finds it in the Repository panel and
clicks *Open with its environment*: the server builds the environment (progress and live
log in a dialog), a new kernelspec appears on B's Jupyter server, the notebook opens with
that kernel, and its cell prints the exact versions of both packages.

A publishes with the Python client (what ``jupyter repo publish env`` and a notebook publish
send), so the environment's spec is the one this test controls; B does everything in the
page (Debian Chromium through playwright). Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.environments import runner_indexes
from tests.support.lab import LabServer, open_lab, wait_for_connected_kernel
from tests.support.newenvs import AttachedNotebook, attached_notebook
from tests.support.server import RepoServer

pytestmark = pytest.mark.browser

BUILD_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def shared(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> AttachedNotebook:
    """User A's notebook and its environment, public in A's namespace."""
    owner = server.create_user(f"a{time.time_ns() % 10**10}")
    token = server.token(owner, ["api:write"])
    return attached_notebook(server, owner, token, tmp_path_factory.mktemp("user-a"), private=False)


@pytest.fixture(scope="module")
def lab(
    server: RepoServer, lab_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """User B's JupyterLab, logged in to the repository with B's token (``lab_user``); its
    new environments under its own folder, ipykernel from the runner's indexes."""
    root = tmp_path_factory.mktemp("lab-b")
    config = root / "config"
    config.mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "RepoExtension": {
                    "envs_dir": str(root / "envs"),
                    "extra_index_urls": runner_indexes(),
                }
            }
        )
    )
    with LabServer(
        root,
        root / "workspace",
        env={"JUPYTER_REPO_URL": server.url, "JUPYTER_REPO_TOKEN": lab_token},
    ) as instance:
        yield instance


def test_acceptance_1_open_with_its_environment_from_the_sidebar(  # type: ignore[no-untyped-def]
    page, lab: LabServer, shared: AttachedNotebook, artifacts_dir: Path
) -> None:
    owner, env = shared.owner, shared.environment
    kernel_name = f"repo-{owner}-{env}-v1"
    before = lab.api("GET", "api/kernelspecs").json()["kernelspecs"]
    assert kernel_name not in before

    open_lab(page, lab)
    panel = page.get_by_role("region", name="Repository", exact=True)
    if not panel.is_visible():
        page.get_by_role("complementary", name="main sidebar").get_by_role(
            "tab", name="Repository"
        ).click()
    panel.get_by_role("searchbox", name="Search the repository").fill(shared.notebook)
    row = panel.locator(f"[data-package='{owner}/{shared.notebook}']")
    action = row.get_by_role("button", name="Open with its environment")
    action.wait_for()  # shown once the notebook is known to carry an environment
    page.screenshot(path=str(artifacts_dir / "lab-open-with-environment-row.png"))
    action.click()

    # The build: a dialog with the current step and the live log.
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Building the environment of {owner}/{shared.notebook}")
    log = dialog.locator(".jp-JupyterRepo-envLog")
    expect(log).to_contain_text("using its attached environment", timeout=BUILD_TIMEOUT_MS)
    expect(log).to_contain_text("py-rattler", timeout=BUILD_TIMEOUT_MS)
    page.screenshot(path=str(artifacts_dir / "lab-open-with-environment-building.png"))

    # The notebook opens, with the new kernel, which B's Jupyter server lists.
    path = f"analysis-{shared.notebook.removeprefix('nb-')}.ipynb"
    page.get_by_role("tab", name=path).wait_for(timeout=BUILD_TIMEOUT_MS)
    expect(dialog).to_have_count(0)
    specs = lab.api("GET", "api/kernelspecs").json()["kernelspecs"]
    assert specs[kernel_name]["spec"]["display_name"] == f"{owner}/{env} v1"
    assert (lab.workspace / path).exists()
    toolbar_kernel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName")
    expect(toolbar_kernel).to_have_text(f"{owner}/{env} v1", timeout=BUILD_TIMEOUT_MS)
    wait_for_connected_kernel(lab, path)
    sessions = lab.api("GET", "api/sessions").json()
    assert [s["kernel"]["name"] for s in sessions if s["path"] == path] == [kernel_name]

    # Its cell prints the exact versions of the conda and the pip package.
    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-OutputArea")).to_have_text(
        f"versions: {shared.conda_version} {shared.pip_version}", timeout=60_000
    )
    page.screenshot(path=str(artifacts_dir / "lab-open-with-environment-done.png"))


def test_after_open_the_notebook_switches_to_its_environment(  # type: ignore[no-untyped-def]
    page, lab: LabServer, shared: AttachedNotebook, artifacts_dir: Path
) -> None:
    """*Open* first (the notebook's own python3 kernel), then the offer to open it with its
    environment: the environment is built or reused, and the open notebook switches kernel."""
    owner, env = shared.owner, shared.environment
    kernel_name = f"repo-{owner}-{env}-v1"
    open_lab(page, lab)
    panel = page.get_by_role("region", name="Repository", exact=True)
    if not panel.is_visible():
        page.get_by_role("complementary", name="main sidebar").get_by_role(
            "tab", name="Repository"
        ).click()
    panel.get_by_role("searchbox", name="Search the repository").fill(shared.notebook)
    row = panel.locator(f"[data-package='{owner}/{shared.notebook}']")
    row.get_by_role("button", name="Open", exact=True).click()
    expect(panel.get_by_role("status")).to_contain_text("Opened ")
    path = panel.get_by_role("status").inner_text().removeprefix("Opened ").rstrip(".")
    toolbar_kernel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName")
    expect(toolbar_kernel).to_have_text("Python 3 (ipykernel)")

    # The notification offering it (not the panel row's button, which opens another copy).
    page.locator(".Toastify").get_by_role("button", name="Open with its environment").click()
    expect(toolbar_kernel).to_have_text(f"{owner}/{env} v1", timeout=BUILD_TIMEOUT_MS)
    deadline = time.monotonic() + 60  # the session's kernel changes as the new one starts
    while True:
        sessions = lab.api("GET", "api/sessions").json()
        kernels = [s["kernel"]["name"] for s in sessions if s["path"] == path]
        if kernels == [kernel_name] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert kernels == [kernel_name], (path, sessions)
    page.screenshot(path=str(artifacts_dir / "lab-open-then-environment.png"))
