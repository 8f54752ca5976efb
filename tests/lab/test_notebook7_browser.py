"""Notebook 7 (``jupyter notebook``) with the jupyter-repo extension, in headless Chromium:
the same front-end plugin runs there, so a notebook's toolbar has the Publish button, the
File menu has the repository's entries, and publishing reaches the repository."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from jupyter_repo.demo import builders
from tests.support.lab import LabServer
from tests.support.server import RepoServer

pytestmark = pytest.mark.browser

PUBLISH_BUTTON = "Publish this notebook to the repository"


@pytest.fixture(scope="module")
def lab(
    server: RepoServer, lab_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """Notebook 7 (the ``page`` fixture's server) with the extension configured by the
    administrator's environment variables, like the Lab tests' server."""
    root = tmp_path_factory.mktemp("notebook7")
    workspace = root / "workspace"
    builders.notebook(workspace, "analysis.ipynb", title="Notebook 7 analysis")
    with LabServer(
        root,
        workspace,
        env={"JUPYTER_REPO_URL": server.url, "JUPYTER_REPO_TOKEN": lab_token},
        notebook=True,
    ) as instance:
        yield instance


def wait_for_idle_kernel(notebook: LabServer, timeout: float = 90) -> None:
    """The notebook's kernel answers (so its environment is what gets attached)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kernels = notebook.api("GET", "api/kernels").json()
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            return
        time.sleep(0.5)
    raise AssertionError(f"no idle kernel after {timeout} s: {kernels}")


def open_notebook(page: Page, notebook: LabServer, path: str) -> None:
    page.goto(f"{notebook.url}/notebooks/{path}?token={notebook.token}")
    page.get_by_title(PUBLISH_BUTTON).wait_for()
    wait_for_idle_kernel(notebook)


def test_publish_from_the_notebook_toolbar(
    page: Page,
    lab: LabServer,
    server: RepoServer,
    lab_user: str,
    lab_token: str,
    unique: str,
    artifacts_dir: Path,
) -> None:
    name = f"nb7-{unique}"
    open_notebook(page, lab, "analysis.ipynb")
    page.get_by_title(PUBLISH_BUTTON).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Summary").fill("Published from Notebook 7")
    assert dialog.get_by_label("Namespace").input_value() == lab_user
    page.screenshot(path=str(artifacts_dir / "notebook7-publish-dialog.png"))
    dialog.get_by_role("button", name="Publish").click()
    link = dialog.get_by_role("link", name="Open the published page")
    link.wait_for(timeout=120_000)
    page.screenshot(path=str(artifacts_dir / "notebook7-published.png"))
    assert str(link.get_attribute("href")).startswith(server.url)

    package = requests.get(
        f"{server.api}/package/{lab_user}/{name}",
        headers={"Authorization": f"token {lab_token}"},
        timeout=30,
    )
    assert package.status_code == 200, package.text
    files = package.json()["files"]
    assert [(f["type"], f["version"]) for f in files] == [("ipynb", "1")]


def test_the_file_menu_has_the_repository_entries(page: Page, lab: LabServer) -> None:
    open_notebook(page, lab, "analysis.ipynb")
    page.get_by_role("menuitem", name="File").click()
    menu = page.get_by_role("menu")
    expect(menu.get_by_role("menuitem", name="Publish to repository…")).to_be_visible()
