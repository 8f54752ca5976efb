"""The notebook widgets in JupyterLab, driven in headless Chromium like a user would: a cell
shows the widget, the user types, clicks and waits; what the install did is checked in a
fresh process of the kernel's interpreter (this venv's). One Lab server (whose kernels see
JUPYTER_REPO_URL / JUPYTER_REPO_TOKEN) and one browser serve the module; screenshots go to
test-artifacts/."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.support import processes, publish
from tests.support.lab import LabServer, open_lab, run_cell
from tests.support.server import RepoServer

pytestmark = pytest.mark.browser

NOTEBOOK = "widgets.ipynb"


@pytest.fixture(scope="module")
def lab(
    server: RepoServer, lab_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """Lab with an empty notebook; its kernels get the repository's URL and a token of
    ``lab_user`` from the environment, the way the widget reads them."""
    root = tmp_path_factory.mktemp("lab")
    workspace = root / "workspace"
    workspace.mkdir()
    notebook = new_notebook(
        cells=[new_code_cell("")],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(notebook, workspace / NOTEBOOK)
    with LabServer(
        root, workspace, env={"JUPYTER_REPO_URL": server.url, "JUPYTER_REPO_TOKEN": lab_token}
    ) as instance:
        yield instance


def test_an_ipywidget_renders_in_this_venvs_kernel(page, lab: LabServer) -> None:  # type: ignore[no-untyped-def]
    """The harness itself: the kernel is this venv's Python and the widget manager
    (@jupyter-widgets/jupyterlab-manager) renders a widget's view."""
    open_lab(page, lab, NOTEBOOK)
    output = run_cell(
        page, 'import sys, ipywidgets; print(sys.executable); ipywidgets.Text(placeholder="probe")'
    )
    output.locator(".jupyter-widgets input[placeholder='probe']").wait_for()
    assert (
        output.locator("[data-mime-type='application/vnd.jupyter.stdout']")
        .first.inner_text()
        .strip()
        == sys.executable
    )


@pytest.fixture
def wheel_package(
    server: RepoServer, lab_user: str, lab_token: str, unique: str, tmp_path: Path
) -> Iterator[str]:
    """A tiny pure-Python package with two versions on the repository, named for this run;
    uninstalled from this venv afterwards, whatever the test did."""
    name = f"wbrowse-{unique}"
    for version in ("1.0", "1.1"):
        publish.wheel(
            server,
            lab_token,
            lab_user,
            tmp_path,
            name,
            version,
            summary="Installed from the widget by the browser test",
        )
    yield name
    processes.run(
        [sys.executable, "-m", "pip", "uninstall", "-y", "-q", name],
        check=True,
        capture_output=True,
    )


def installed_version(name: str) -> str:
    """The version a fresh process of this venv's Python imports (a new interpreter, so
    nothing cached from before the install)."""
    module = name.replace("-", "_")
    result = processes.run(
        [sys.executable, "-c", f"import {module}; print({module}.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_search_pick_a_version_and_install_from_the_widget(  # type: ignore[no-untyped-def]
    page, lab: LabServer, lab_user: str, lab_token: str, wheel_package: str, artifacts_dir: Path
) -> None:
    name = wheel_package
    open_lab(page, lab, NOTEBOOK)
    output = run_cell(page, "from jupyter_repo.widgets import PackageSearch; PackageSearch()")
    widget = output.locator(".jupyter-repo-search")
    widget.wait_for()

    # Typed key by key, like a user: each keystroke is a search the widget debounces.
    widget.locator(".jupyter-repo-query input").click()
    page.keyboard.type(name)
    row = widget.locator(".jupyter-repo-result:visible").filter(
        has=page.locator(".jupyter-repo-name", has_text=name)
    )
    row.wait_for()
    assert lab_user in row.locator(".jupyter-repo-owner").inner_text()
    row.locator(".jupyter-repo-select").click()
    widget.locator(".jupyter-repo-result-selected").filter(has_text=name).wait_for()

    # The latest version comes first; the user picks the older one.
    version = widget.locator(".jupyter-repo-version select")
    assert version.locator("option").all_inner_texts() == ["1.1", "1.0"]
    version.select_option(label="1.0")
    widget.locator(".jupyter-repo-selection", has_text=f"{lab_user}/{name} 1.0").wait_for()
    widget.locator(".jupyter-repo-install").click()

    done = page.locator(".jupyter-repo-search.jupyter-repo-state-succeeded")
    done.wait_for(timeout=120_000)
    page.screenshot(path=str(artifacts_dir / "widgets-installed.png"))
    status = done.locator(".jupyter-repo-status").inner_text()
    assert f"Installed {lab_user}/{name} 1.0" in status, status
    # pip's log is shown live, with the token masked in its index URL.
    assert name in done.locator(".jupyter-repo-log textarea").input_value()
    assert lab_token not in page.content()

    assert installed_version(name) == "1.0"
