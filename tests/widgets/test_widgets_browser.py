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
from playwright.sync_api import expect

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.publish import Destination, Publisher
from tests.support import processes, publish
from tests.support.environments import runner_indexes, shared_environment
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
    # The versions arrive with the selection's own request: wait for them like a user.
    expect(version.locator("option")).to_have_text(["1.1", "1.0"])
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


# -- layout at the default notebook width (issue 17, defect 7) ---------------------------------

NOTEBOOK_WIDTH = 800

#: Every element of the widget that is wider inside than its box (a horizontal scrollbar, or
#: content cut off), every label or button whose text is cut ("Environm…"), and every
#: dropdown whose chosen option does not fit ("pip (PyPI index)" cut off).
MEASURE = """(root) => {
  const name = (el) => el.tagName.toLowerCase() + [...el.classList].map((c) => '.' + c).join('');
  const shown = (el) => el.getClientRects().length > 0;
  const overflowing = [];
  for (const el of [root, ...root.querySelectorAll('*')]) {
    if (!shown(el) || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      overflowing.push(`${name(el)}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  const cut = [];
  for (const el of root.querySelectorAll('.widget-label, label, button, .widget-html-content')) {
    if (shown(el) && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      cut.push(`${name(el)} "${el.innerText.trim()}"`);
    }
  }
  const canvas = document.createElement('canvas').getContext('2d');
  for (const select of root.querySelectorAll('select')) {
    const option = select.options[select.selectedIndex];
    if (!shown(select) || !option) continue;
    const style = getComputedStyle(select);
    canvas.font = `${style.fontSize} ${style.fontFamily}`;
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const room = select.clientWidth - padding;
    if (canvas.measureText(option.text).width > room) cut.push(`select "${option.text}"`);
  }
  const box = root.getBoundingClientRect();
  const area = root.closest('.jp-OutputArea-output').getBoundingClientRect();
  return {overflowing, cut, right: box.right, areaRight: area.right, width: box.width};
}"""


def fit_notebook_to(page, width: int) -> None:  # type: ignore[no-untyped-def]
    """Resize the window so the notebook (the panel around its cells) is ``width`` px."""
    notebook = page.locator(".jp-NotebookPanel-notebook").first
    for _ in range(3):
        box = notebook.bounding_box()
        assert box is not None
        if abs(box["width"] - width) < 2:
            return
        size = page.viewport_size
        page.set_viewport_size(
            {"width": int(size["width"] - (box["width"] - width)), "height": size["height"]}
        )
        page.wait_for_timeout(300)  # Lab lays its panels out on resize
    box = notebook.bounding_box()
    assert box is not None and abs(box["width"] - width) < 2, box


def assert_fits(widget, what: str) -> dict:  # type: ignore[no-untyped-def]
    found = widget.evaluate(MEASURE)
    assert (found["overflowing"], found["cut"]) == ([], []), f"{what}: {found}"
    assert found["right"] <= found["areaRight"] + 1, f"{what} runs past the output area: {found}"
    return found


def visible_text(widget) -> str:  # type: ignore[no-untyped-def]
    """What the user reads: the widget's rendered text and its shown text boxes."""
    return widget.evaluate(
        """(root) => root.innerText + '\\n' + [...root.querySelectorAll('textarea')]
            .filter((el) => el.getClientRects().length > 0).map((el) => el.value).join('\\n')"""
    )


def test_defect_7_search_widget_fits_800px_after_an_install(  # type: ignore[no-untyped-def]
    page, lab: LabServer, lab_user: str, wheel_package: str, artifacts_dir: Path
) -> None:
    """Issue 17, defect 7: at the default notebook width every widget showed a horizontal
    scrollbar (two under the log), and "pip (PyPI index)" was cut off."""
    name = wheel_package
    open_lab(page, lab, NOTEBOOK)
    fit_notebook_to(page, NOTEBOOK_WIDTH)
    output = run_cell(page, f"from jupyter_repo.widgets import search; search({name!r})")
    widget = output.locator(".jupyter-repo-search")
    row = widget.locator(".jupyter-repo-result:visible").filter(has_text=name)
    row.locator(".jupyter-repo-select").click()
    widget.locator(".jupyter-repo-result-selected").wait_for()
    method = widget.locator(".jupyter-repo-method select option").first
    assert method.inner_text().replace("\xa0", " ") == "pip (PyPI index)"
    assert_fits(widget, "search, a package selected")
    widget.locator(".jupyter-repo-install").click()
    page.locator(".jupyter-repo-search.jupyter-repo-state-succeeded").wait_for(timeout=120_000)
    widget.locator(".jupyter-repo-log textarea").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "widgets-layout-search-800.png"))
    assert_fits(widget, "search, after the install")


def test_defect_7_environment_installer_fits_800px_with_a_table_and_one_summary(  # type: ignore[no-untyped-def]
    page,
    lab: LabServer,
    server: RepoServer,
    lab_user: str,
    unique: str,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    """Issue 17, defect 7: "Environment" was cut to "Environm…", the change table's columns
    ran together and *Show changes* repeated the summary three times."""
    shared = shared_environment(server, lab_user, unique, tmp_path)
    open_lab(page, lab, NOTEBOOK)
    fit_notebook_to(page, NOTEBOOK_WIDTH)
    output = run_cell(
        page,
        "from jupyter_repo.widgets import EnvironmentInstaller; "
        f"EnvironmentInstaller({shared.spec!r}, target={shared.python!r})",
    )
    widget = output.locator(".jupyter-repo-env-installer")
    widget.wait_for()
    label = widget.locator(".jupyter-repo-env-spec .widget-label")
    assert label.inner_text() == "Environment"
    assert_fits(widget, "installer")

    widget.locator(".jupyter-repo-env-show").click()
    page.locator(".jupyter-repo-env-installer.jupyter-repo-env-planned").wait_for()
    table = widget.locator(".jupyter-repo-env-plan table")
    table.wait_for()
    page.screenshot(path=str(artifacts_dir / "widgets-layout-environment-800.png"))
    assert_fits(widget, "installer, changes shown")

    # A table: one header and one row per change, columns apart from each other.
    assert table.locator("th").all_inner_texts() == [
        "Change",
        "Package",
        "Installed",
        "Wanted",
        "Via",
    ]
    assert table.locator("tbody tr").count() == 3
    gaps = table.evaluate(
        """(table) => [...table.rows].flatMap((row) => [...row.cells].slice(1).map((cell, i) => {
            const text = (el) => { const r = document.createRange(); r.selectNodeContents(el);
                                   return r.getBoundingClientRect(); };
            return text(cell).left - text(row.cells[i]).right;
        }))"""
    )
    assert min(gaps) >= 8, gaps

    # The summary once: not again in the status line or a shown log.
    summary = "1 to add, 1 to upgrade, 1 to downgrade, 1 unchanged"
    assert visible_text(widget).count(summary) == 1, visible_text(widget)

    # Issue 17: the other target, side by side with this one; its button and note fit too.
    choice = widget.locator(".jupyter-repo-env-target button")
    assert choice.all_inner_texts() == ["Into this kernel", "As a new kernel"]
    choice.filter(has_text="As a new kernel").click()
    widget.locator(".jupyter-repo-env-create").wait_for()
    widget.locator(".jupyter-repo-env-new-kernel-note").wait_for()
    assert widget.locator(".jupyter-repo-env-show").is_hidden()
    assert widget.locator(".jupyter-repo-env-apply").is_hidden()
    assert widget.locator(".jupyter-repo-env-plan table").count() == 0  # the plan was withdrawn
    page.screenshot(path=str(artifacts_dir / "widgets-layout-environment-new-kernel-800.png"))
    assert_fits(widget, "installer, as a new kernel")


# -- as a new kernel (issue 17), last: it changes the notebook's kernel -----------------------


def test_issue_17_environment_installer_creates_a_kernel_lab_switches_to(  # type: ignore[no-untyped-def]
    page,
    lab: LabServer,
    server: RepoServer,
    lab_user: str,
    lab_token: str,
    unique: str,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    """*As a new kernel* from a cell: the widget builds the environment (a conda package
    from the owner's channel, a wheel from the owner's index) in Lab's kernel, says how to
    switch to it, and doing what it says runs the notebook on the new kernel."""
    python = "{}.{}".format(*sys.version_info[:2])
    x, p = f"jrx-nk-{unique}", f"jre-nk-{unique}"
    publish.conda(server, lab_token, lab_user, tmp_path / "conda", x, "1.0", private=True)
    publish.wheel(server, lab_token, lab_user, tmp_path / "wheels", p, "1.0", private=True)
    client = RepoClient(server.url, lab_token)
    channel = client.conda_channel(lab_user)
    name = f"nk-env-{unique}"
    Publisher(client).publish_spec_files(
        {
            "environment.yml": f"name: team\ndependencies:\n  - python={python}\n"
            f"  - {x}=1.0=0\n  - pip\n  - pip:\n    - {p}==1.0\n",
            "requirements.txt": f"{p}==1.0\n",
            "conda-explicit.txt": f"@EXPLICIT\n{channel}/noarch/{x}-1.0-0.conda\n",
        },
        Destination(lab_user, name, "1", public=False),
        default_name=name,
    )
    display = f"{lab_user}/{name} v1"

    open_lab(page, lab, NOTEBOOK)
    fit_notebook_to(page, NOTEBOOK_WIDTH)
    indexes = tuple(runner_indexes())  # where ipykernel comes from on a machine without PyPI
    output = run_cell(
        page,
        "from jupyter_repo.widgets import EnvironmentInstaller; "
        f"EnvironmentInstaller({lab_user + '/' + name!r}, new_kernel=True, "
        f"extra_index_urls={indexes!r})",
    )
    widget = output.locator(".jupyter-repo-env-installer")
    widget.locator(".jupyter-repo-env-create").click()
    done = page.locator(".jupyter-repo-env-installer.jupyter-repo-env-succeeded")
    done.wait_for(timeout=300_000)
    page.screenshot(path=str(artifacts_dir / "widgets-new-kernel-created.png"))
    assert_fits(widget, "installer, a new kernel created")
    status = " ".join(done.locator(".jupyter-repo-status").inner_text().split())
    assert status.startswith(f"✔ Created the kernel '{display}' ("), status
    assert f"To use it: Kernel → Change Kernel… → {display} " in status, status
    assert "uv pip install" in done.locator(".jupyter-repo-log textarea").input_value()
    assert lab_token not in page.content()

    # Do what it says (after a reload: Lab asks for the kernels once a minute).
    open_lab(page, lab, NOTEBOOK)
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_role("menuitem", name="Change Kernel…").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select").select_option(label=display)
    dialog.get_by_role("button", name="Select").click()
    # The status bar names the kernel (the toolbar's name went into its overflow menu).
    page.locator("#jp-main-statusbar", has_text=f"{display} | Idle").wait_for()
    printed = run_cell(
        page,
        "import sys, pathlib, importlib; print(sys.prefix, "
        f"importlib.import_module({p.replace('-', '_')!r}).__version__, "
        f"pathlib.Path(sys.prefix, 'share', {x!r}, 'VERSION').read_text().strip())",
    )
    text = printed.locator("[data-mime-type='application/vnd.jupyter.stdout']").inner_text()
    page.screenshot(path=str(artifacts_dir / "widgets-new-kernel-switched.png"))
    prefix = lab.root / "data" / "repo-envs" / lab_user / f"{name}-v1"
    assert text.split() == [str(prefix), "1.0", "1.0"], text
