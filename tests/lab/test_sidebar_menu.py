"""Issue 17 in JupyterLab: the Repository panel's rows have Lab's context menu, with the
entries that apply to the row's package (Open, Open with its environment, Install into
this kernel, Create as a new kernel, Copy install command, View on the web); an
environment offers both targets, into this kernel or as a new kernel.

The user right-clicks rows in Debian Chromium (playwright) and uses the entries; what they
did is checked where it lands: the clipboard against the package's web page, the Lab
server's tasks and kernelspecs. The environment used has an empty pip lock, so installing
it into the Lab's own kernel changes nothing there, and building it as a new kernel is a
venv with ipykernel only. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from jupyter_repo.demo import builders
from tests.support import publish
from tests.support.environments import runner_indexes
from tests.support.lab import LabServer, open_lab
from tests.support.server import RepoServer
from tests.web.test_install_snippets import page_snippets

pytestmark = pytest.mark.browser

BUILD_TIMEOUT_MS = 300_000

#: Every entry the rows' menu can have, in its order.
ENTRIES = [
    "Open",
    "Open with its environment",
    "Install into this kernel",
    "Create as a new kernel",
    "Copy install command",
    "View on the web",
]


@dataclass(frozen=True)
class Published:
    owner: str
    wheel: str
    environment: str
    notebook: str
    project: str


@pytest.fixture(scope="module")
def published(
    server: RepoServer, lab_user: str, lab_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Published:
    """In the Lab user's namespace: a wheel, an environment whose pip lock is empty, a
    notebook that names that environment, and a project."""
    root = tmp_path_factory.mktemp("menu-packages")
    unique = uuid.uuid4().hex[:8]
    wheel, environment, notebook = f"jrm-{unique}", f"menu-env-{unique}", f"menu-nb-{unique}"
    publish.wheel(server, lab_token, lab_user, root / "wheels", wheel, "1.0")
    upload = requests.put(
        f"{server.api}/upload/{lab_user}/{environment}/1/requirements.txt",
        params={"type": "env"},
        data=b"# nothing beyond the kernel itself\n",
        timeout=30,
        headers={"Authorization": f"token {lab_token}"},
    )
    assert upload.status_code in (200, 201), upload.text
    document = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('tide')")])
    document.metadata["jupyter_repo"] = {
        "owner": lab_user,
        "name": notebook,
        "version": "1",
        "environment": {"owner": lab_user, "name": environment, "version": "1"},
    }
    path = root / f"{notebook}.ipynb"
    path.write_text(nbformat.writes(document))
    publish.upload(server, lab_token, lab_user, path, package=notebook, version="1")
    project = f"menu-project-{unique}"
    archive = builders.project_archive(root, project)
    publish.upload(
        server, lab_token, lab_user, archive, package=project, version="1", file_type="project"
    )
    return Published(lab_user, wheel, environment, notebook, project)


@pytest.fixture(scope="module")
def lab(
    server: RepoServer, lab_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """The Lab user's JupyterLab; its new environments under its own folder, ipykernel
    from the runner's indexes."""
    root = tmp_path_factory.mktemp("lab-menu")
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


def row_of(page: Page, lab: LabServer, package: str) -> Locator:
    """The package's row in the Repository panel (the Lab user's namespace), once its
    notebook actions are known."""
    open_lab(page, lab)
    panel = page.get_by_role("region", name="Repository", exact=True)
    if not panel.is_visible():
        page.get_by_role("complementary", name="main sidebar").get_by_role(
            "tab", name="Repository"
        ).click()
    row = panel.locator(f".jp-JupyterRepo-namespace [data-package$='/{package}']")
    row.wait_for()
    if package.startswith("menu-nb-"):  # the environment's entries come with its metadata
        row.get_by_role("button", name="Open with its environment").wait_for()
    return row


def menu_of(page: Page, row: Locator) -> Locator:
    """Right-click the row (its title): Lab's context menu."""
    row.locator(".jp-JupyterRepo-itemTitle").click(button="right")
    menu = page.locator(".lm-Menu.lm-MenuBar-menu, .lm-Menu").filter(
        has=page.get_by_role("menuitem")
    )
    menu.first.wait_for()
    return menu.first


def choose(menu: Locator, entry: str) -> None:
    """Point at the entry until the menu marks it active (Lumino acts on the active item
    on mouse-up), then click it."""
    item = menu.get_by_role("menuitem", name=entry)
    item.hover()
    expect(item).to_have_class(re.compile(r"\blm-mod-active\b"))
    item.click()
    expect(menu).to_be_hidden()


def entries(menu: Locator) -> list[str]:
    labels = menu.locator(".lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel")
    return [text for text in labels.all_inner_texts() if text in ENTRIES]


def tasks_of(lab: LabServer, kind: str) -> list[dict]:
    return [
        task
        for task in lab.api("GET", "jupyter-repo/tasks").json()["items"]
        if task["kind"] == kind
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "notebook",
            [
                "Open",
                "Open with its environment",
                "Install into this kernel",
                "Create as a new kernel",
                "Copy install command",
                "View on the web",
            ],
        ),
        (
            "environment",
            [
                "Install into this kernel",
                "Create as a new kernel",
                "Copy install command",
                "View on the web",
            ],
        ),
        ("wheel", ["Install into this kernel", "Copy install command", "View on the web"]),
        ("project", ["Open", "Copy install command", "View on the web"]),
    ],
)
def test_right_click_on_a_row_shows_the_entries_of_its_package_type(
    page: Page,
    lab: LabServer,
    published: Published,
    kind: str,
    expected: list[str],
    artifacts_dir: Path,
) -> None:
    row = row_of(page, lab, getattr(published, kind))
    menu = menu_of(page, row)
    assert entries(menu) == expected
    page.screenshot(path=str(artifacts_dir / f"lab-row-menu-{kind}.png"))
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()


@pytest.mark.parametrize(("kind", "client"), [("wheel", "pip"), ("notebook", "jupyter-repo")])
def test_copy_install_command_copies_the_snippet_of_the_web_page(
    page: Page,
    lab: LabServer,
    server: RepoServer,
    published: Published,
    kind: str,
    client: str,
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    package = getattr(published, kind)
    row = row_of(page, lab, package)
    choose(menu_of(page, row), "Copy install command")
    expect(page.locator(".Toastify")).to_contain_text(
        f"Copied the install command of {published.owner}/{package}"
    )
    copied = page.evaluate("navigator.clipboard.readText()")
    web_page = requests.get(f"{server.url}/{published.owner}/{package}", timeout=30)
    assert web_page.status_code == 200
    assert copied.split("\n") == page_snippets(web_page.text)[client]
    if kind == "notebook":  # its environment's line comes along
        assert f"jupyter repo env create {published.owner}/{published.environment}" in copied


def test_open_a_project_row_unpacks_it_and_shows_its_folder(
    page: Page, lab: LabServer, published: Published, artifacts_dir: Path
) -> None:
    """Open on a project: a new folder in the workspace, shown in the file browser."""
    row = row_of(page, lab, published.project)
    choose(menu_of(page, row), "Open")
    expect(page.locator(".Toastify")).to_contain_text(
        f"Unpacked the project into {published.project}/"
    )
    listing = page.locator(".jp-FileBrowser .jp-DirListing-content")
    expect(page.locator(".jp-FileBrowser .jp-BreadCrumbs")).to_contain_text(published.project)
    expect(listing).to_contain_text("README.md")
    page.screenshot(path=str(artifacts_dir / "lab-row-menu-open-project.png"))
    assert (lab.workspace / published.project / "README.md").is_file()


def test_install_into_this_kernel_on_an_environment_row(
    page: Page, lab: LabServer, published: Published, artifacts_dir: Path
) -> None:
    """Asked first, naming the environment and the kernel; then the install task runs to
    its end and the panel says so."""
    before = len(tasks_of(lab, "install-environment"))
    row = row_of(page, lab, published.environment)
    choose(menu_of(page, row), "Install into this kernel")
    confirm = page.get_by_role("dialog").filter(
        has_text="Install into the kernel\u2019s environment?"
    )
    expect(confirm).to_contain_text(
        f"This installs 0 packages from {published.owner}/{published.environment} version 1 "
        "into the environment of the kernel \u201cPython 3 (ipykernel)\u201d"
    )
    page.screenshot(path=str(artifacts_dir / "lab-row-menu-install-confirm.png"))
    confirm.get_by_role("button", name="Install").click()
    status = page.get_by_role("region", name="Repository", exact=True).get_by_role("status")
    expect(status).to_contain_text(
        f"Installed {published.owner}/{published.environment} 1 into", timeout=120_000
    )
    expect(status).not_to_have_class("jp-JupyterRepo-error")
    tasks = tasks_of(lab, "install-environment")
    assert len(tasks) == before + 1 and tasks[-1]["state"] == "succeeded", tasks


def test_create_as_a_new_kernel_on_an_environment_row(
    page: Page, lab: LabServer, published: Published, artifacts_dir: Path
) -> None:
    """The build shows its progress and log; then the new kernel is on the Lab server and
    the panel names it."""
    owner, environment = published.owner, published.environment
    kernel_name = f"repo-{owner}-{environment}-v1"
    assert kernel_name not in lab.api("GET", "api/kernelspecs").json()["kernelspecs"]
    row = row_of(page, lab, environment)
    choose(menu_of(page, row), "Create as a new kernel")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Building the environment of {owner}/{environment}")
    expect(dialog.locator(".jp-JupyterRepo-envLog")).not_to_be_empty(timeout=BUILD_TIMEOUT_MS)
    page.screenshot(path=str(artifacts_dir / "lab-row-menu-create-building.png"))
    status = page.get_by_role("region", name="Repository", exact=True).get_by_role("status")
    expect(status).to_have_text(
        f"Created the kernel \u201c{owner}/{environment} v1\u201d from {owner}/{environment}.",
        timeout=BUILD_TIMEOUT_MS,
    )
    expect(dialog).to_have_count(0)
    specs = lab.api("GET", "api/kernelspecs").json()["kernelspecs"]
    assert specs[kernel_name]["spec"]["display_name"] == f"{owner}/{environment} v1"
    [task] = tasks_of(lab, "create-environment")
    assert task["state"] == "succeeded"
