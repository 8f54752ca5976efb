"""Notebook 7 (``jupyter notebook``) with the jupyter-repo extension, in headless Chromium:
the same front-end plugin runs there, so a notebook's toolbar has the Publish button, the
File menu has the repository's entries, and publishing reaches the repository; the notebook
widgets (jupyter_repo.widgets) render in its pages and install into the kernel."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
import requests
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page, expect

from jupyter_repo.demo import builders
from tests.support import processes, publish
from tests.support.lab import LabServer, run_cell, wait_for_connected_kernel
from tests.support.server import RepoServer

pytestmark = pytest.mark.browser

PUBLISH_BUTTON = "Publish this notebook to the repository"
WIDGETS_NOTEBOOK = "widgets.ipynb"


@pytest.fixture(scope="module")
def lab(
    server: RepoServer, lab_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """Notebook 7 (the ``page`` fixture's server) with the extension configured by the
    administrator's environment variables, like the Lab tests' server."""
    root = tmp_path_factory.mktemp("notebook7")
    workspace = root / "workspace"
    builders.notebook(workspace, "analysis.ipynb", title="Notebook 7 analysis")
    nbformat.write(  # an empty cell on this venv's kernel, for the widgets
        new_notebook(
            cells=[new_code_cell("")],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
        ),
        workspace / WIDGETS_NOTEBOOK,
    )
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
    # The dialog re-renders when its check of the name answers; a click before that can
    # be lost (seen once under a parallel CI run): click once the form has settled.
    dialog.get_by_text("is new: publishing creates it").wait_for()
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


@pytest.fixture
def wheel_package(
    server: RepoServer, lab_user: str, lab_token: str, unique: str, tmp_path: Path
) -> Iterator[str]:
    """A tiny package with two versions on the repository, named for this run; uninstalled
    from this venv (the kernel's) afterwards, whatever the test did."""
    name = f"nb7w-{unique}"
    for version in ("1.0", "1.1"):
        publish.wheel(
            server, lab_token, lab_user, tmp_path, name, version, summary="For Notebook 7"
        )
    yield name
    processes.run(
        [sys.executable, "-m", "pip", "uninstall", "-y", "-q", name],
        check=True,
        capture_output=True,
    )


def test_the_search_widget_searches_and_installs_in_notebook_7(
    page: Page,
    lab: LabServer,
    lab_user: str,
    lab_token: str,
    wheel_package: str,
    artifacts_dir: Path,
) -> None:
    """A cell shows PackageSearch; typed letters search the repository, the results render
    in the page, and *Install* puts the chosen version into the kernel's environment."""
    name = wheel_package
    open_notebook(page, lab, WIDGETS_NOTEBOOK)
    wait_for_connected_kernel(lab, WIDGETS_NOTEBOOK)  # else the cell may not run
    output = run_cell(page, "from jupyter_repo.widgets import PackageSearch; PackageSearch()")
    widget = output.locator(".jupyter-repo-search")
    widget.wait_for()

    widget.locator(".jupyter-repo-query input").click()
    page.keyboard.type(name)
    # Results of the first letters may show first (rows are reused): wait for the last.
    expect(widget).to_contain_text(f"1 package matches \u201c{name}\u201d", timeout=30_000)
    row = widget.locator(".jupyter-repo-result:visible").filter(
        has=page.locator(".jupyter-repo-name", has_text=name)
    )
    row.wait_for()
    assert lab_user in row.locator(".jupyter-repo-owner").inner_text()
    page.screenshot(path=str(artifacts_dir / "notebook7-widget-results.png"))
    row.locator(".jupyter-repo-select").click()
    widget.locator(".jupyter-repo-result-selected").filter(has_text=name).wait_for()
    version = widget.locator(".jupyter-repo-version select")
    expect(version.locator("option")).to_have_text(["1.1", "1.0"])  # the latest first
    version.select_option(label="1.0")
    widget.locator(".jupyter-repo-selection", has_text=f"{lab_user}/{name} 1.0").wait_for()
    widget.locator(".jupyter-repo-install").click()

    done = page.locator(".jupyter-repo-search.jupyter-repo-state-succeeded")
    done.wait_for(timeout=120_000)
    page.screenshot(path=str(artifacts_dir / "notebook7-widget-installed.png"))
    status = done.locator(".jupyter-repo-status").inner_text()
    assert f"Installed {lab_user}/{name} 1.0" in status, status
    assert lab_token not in page.content()

    # The kernel imports what was installed, in the page too.
    imported = run_cell(page, f"import {name.replace('-', '_')} as m; print(m.__version__)")
    expect(imported).to_have_text("1.0")
