"""JupyterLab with the jupyter-repo extension, driven in headless Chromium (Debian's
/usr/bin/chromium through playwright; video off). What the user does happens in the page;
what arrived is checked through the repository's own API. One Lab server and one browser
serve the whole module; screenshots go to test-artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from jupyter_repo.demo import builders
from tests.support.lab import LabServer, open_lab
from tests.support.server import RepoServer

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def lab(server: RepoServer, lab_token: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """Lab whose server extension is configured (by the administrator's environment
    variables) with a token of ``lab_user`` on the session's repository."""
    root = tmp_path_factory.mktemp("lab")
    workspace = root / "workspace"
    builders.notebook(workspace, "analysis.ipynb", title="Browser test analysis")
    project = workspace / "field-notes"
    builders.notebook(project, "notes.ipynb", title="Field notes")
    builders.csv_file(project / "data", "readings.csv")
    (project / "requirements.txt").write_text(builders.REQUIREMENTS_TXT)
    with LabServer(root, workspace, env={"JUPYTER_REPO_URL": server.url,
                                         "JUPYTER_REPO_TOKEN": lab_token}) as instance:
        yield instance


def show_sidebar(page) -> None:  # type: ignore[no-untyped-def]
    """Open the Repository panel (Lab may have restored it open already)."""
    if not page.locator("#jupyter-repo-sidebar").is_visible():
        page.locator(".jp-SideBar [data-id='jupyter-repo-sidebar']").click()
    page.locator("#jupyter-repo-sidebar").wait_for(state="visible")


def repository_package(server: RepoServer, token: str, owner: str, name: str) -> dict:
    response = requests.get(f"{server.api}/package/{owner}/{name}", timeout=30,
                            headers={"Authorization": f"token {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def fill_and_publish(page, name: str, summary: str) -> str:  # type: ignore[no-untyped-def]
    """Fill the publish dialog, press Publish, wait for the link; answer the link."""
    form = page.locator(".jp-JupyterRepo-publishForm")
    form.wait_for()
    form.locator("input[name='name']").fill(name)
    form.locator("input[name='summary']").fill(summary)
    page.locator(".jp-Dialog-button.jp-mod-accept", has_text="Publish").click()
    link = form.locator(".jp-JupyterRepo-result a", has_text="Open the published page")
    link.wait_for(timeout=120_000)
    return str(link.get_attribute("href"))


def test_publish_notebook_through_the_dialog(page, lab: LabServer, server: RepoServer,  # type: ignore[no-untyped-def]
                                             lab_user: str, lab_token: str, unique: str,
                                             artifacts_dir: Path) -> None:
    name = f"nb-{unique}"
    open_lab(page, lab, "analysis.ipynb")
    page.locator(".jp-JupyterRepo-publishButton").click()
    form = page.locator(".jp-JupyterRepo-publishForm")
    form.wait_for()
    assert form.locator("select[name='namespace']").input_value() == lab_user
    assert form.locator("input[name='attach_environment']").is_checked()
    page.screenshot(path=str(artifacts_dir / "lab-publish-dialog.png"))

    href = fill_and_publish(page, name, "Published from the browser test")
    page.screenshot(path=str(artifacts_dir / "lab-publish-done.png"))
    assert href.startswith(server.url) and name in href
    environment_link = form.locator(".jp-JupyterRepo-result a", has_text=f"{name}-env")
    assert environment_link.is_visible()

    # Through the repository's API: the notebook arrived, and so did its environment.
    package = repository_package(server, lab_token, lab_user, name)
    notebooks = [f for f in package["files"] if f["type"] == "ipynb"]
    assert [f["version"] for f in notebooks] == ["1"]
    download = requests.get(f"{server.api}/download/{lab_user}/{name}/1/"
                            f"{notebooks[0]['basename']}", timeout=30,
                            headers={"Authorization": f"token {lab_token}"})
    published = json.loads(download.content)
    assert "".join(published["cells"][0]["source"]).startswith("# Browser test analysis")
    record = published["metadata"]["jupyter_repo"]
    assert record["environment"]["name"] == f"{name}-env"
    environment = repository_package(server, lab_token, lab_user, f"{name}-env")
    assert environment["files"] and {f["type"] for f in environment["files"]} == {"env"}

    # The publish was recorded in the notebook in the workspace too (never the token).
    on_disk = json.loads((lab.workspace / "analysis.ipynb").read_text())
    assert on_disk["metadata"]["jupyter_repo"]["name"] == name
    assert lab_token not in (lab.workspace / "analysis.ipynb").read_text()


def test_publish_folder_as_project_from_the_file_browser(page, lab: LabServer,  # type: ignore[no-untyped-def]
                                                         server: RepoServer, lab_user: str,
                                                         lab_token: str, unique: str,
                                                         artifacts_dir: Path) -> None:
    name = f"project-{unique}"
    open_lab(page, lab)
    item = page.locator(".jp-DirListing-item", has_text="field-notes")
    item.click(button="right")
    menu_entry = page.locator(".lm-Menu-item[data-command='jupyter-repo:publish-selected']")
    page.screenshot(path=str(artifacts_dir / "lab-project-context-menu.png"))
    menu_entry.click()
    description = page.locator(".jp-JupyterRepo-publishForm .jp-JupyterRepo-description")
    assert "field-notes" in description.inner_text()
    assert page.locator(".jp-JupyterRepo-publishForm input[name='attach_environment']").count() == 0

    href = fill_and_publish(page, name, "A folder published as a project")
    page.screenshot(path=str(artifacts_dir / "lab-project-published.png"))
    assert name in href

    package = repository_package(server, lab_token, lab_user, name)
    assert [f["type"] for f in package["files"]] == ["project"]
    assert package["files"][0]["basename"].endswith(".tar.gz")


def test_finding_5_project_dialog_shows_the_files_before_publishing(  # type: ignore[no-untyped-def]
        page, lab: LabServer, server: RepoServer, lab_user: str, lab_token: str, unique: str,
        artifacts_dir: Path) -> None:
    """The project dialog lists what would be packed (count, size, the files) before
    Publish; credential files are named as never published, hidden ones go only when
    asked; the archive in the repository holds exactly what was shown."""
    import io
    import tarfile

    folder = f"creds-{unique}"
    project = lab.workspace / folder
    (project / "data").mkdir(parents=True)
    (project / "requirements.txt").write_text("numpy==1.26.4\n")  # 14 bytes
    (project / "data" / "rain.csv").write_text("day,mm\n1,3.5\n")  # 13 bytes
    for relative in (".kube/config", ".docker/config.json", ".npmrc", ".pgpass",
                     ".bash_history", ".config/gcloud/credentials.db", ".gitconfig"):
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text("token=do-not-publish\n")
    (project / ".notes.md").write_text("hidden\n")  # 7 bytes
    open_lab(page, lab)
    page.locator(".jp-DirListing-item", has_text=folder).click(button="right")
    page.locator(".lm-Menu-item[data-command='jupyter-repo:publish-selected']").click()
    form = page.locator(".jp-JupyterRepo-publishForm")
    summary = form.locator(".jp-JupyterRepo-previewSummary")
    expect(summary).to_have_text("2 files, 27 bytes will be published.")
    listed = form.locator(".jp-JupyterRepo-previewList .jp-JupyterRepo-previewPath")
    expect(listed).to_have_text(["data/rain.csv", "requirements.txt"])
    credentials = form.locator(".jp-JupyterRepo-previewCredentials").inner_text()
    assert all(name in credentials for name in (".npmrc", ".pgpass", ".bash_history",
                                                ".gitconfig"))
    assert ".notes.md" in form.locator(".jp-JupyterRepo-previewHidden").inner_text()
    page.screenshot(path=str(artifacts_dir / "lab-project-preview.png"))

    form.locator("input[name='include_hidden']").check()
    expect(summary).to_have_text("3 files, 34 bytes will be published.")
    expect(listed).to_have_text([".notes.md", "data/rain.csv", "requirements.txt"])
    assert ".npmrc" in form.locator(".jp-JupyterRepo-previewCredentials").inner_text()

    name = f"creds-{unique}"
    fill_and_publish(page, name, "Credentials stay home")
    download = requests.get(f"{server.api}/download/{lab_user}/{name}/1/{name}.tar.gz",
                            timeout=30, headers={"Authorization": f"token {lab_token}"})
    assert download.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(download.content)) as tar:
        assert sorted(tar.getnames()) == [f"{name}/{path}" for path in (
            ".notes.md", "data/rain.csv", "requirements.txt")]


def test_open_published_notebook_from_the_sidebar(page, lab: LabServer, server: RepoServer,  # type: ignore[no-untyped-def]
                                                  lab_user: str, lab_token: str, unique: str,
                                                  tmp_path: Path, artifacts_dir: Path) -> None:
    name = f"shared-{unique}"
    source = builders.notebook(tmp_path, f"{name}.ipynb", title=f"Shared notebook {unique}")
    upload = requests.put(f"{server.api}/upload/{lab_user}/{name}/1/{source.name}",
                          params={"type": "ipynb", "summary": "Opened from the sidebar"},
                          data=source.read_bytes(), timeout=30,
                          headers={"Authorization": f"token {lab_token}"})
    assert upload.status_code in (200, 201), upload.text

    open_lab(page, lab)
    show_sidebar(page)
    row = page.locator(f".jp-JupyterRepo-item[data-package='{lab_user}/{name}']")
    row.wait_for()
    page.screenshot(path=str(artifacts_dir / "lab-sidebar.png"))
    row.locator("[data-action='open']").click()

    # The notebook is downloaded into the workspace and opened in the main area.
    page.locator(".jp-Notebook .jp-MarkdownOutput h1",
                 has_text=f"Shared notebook {unique}").wait_for()
    page.screenshot(path=str(artifacts_dir / "lab-opened-from-sidebar.png"))
    assert (lab.workspace / f"{name}.ipynb").exists()
    assert page.locator(".lm-TabBar-tab", has_text=f"{name}.ipynb").count() == 1

    # The search finds it too.
    page.locator(".jp-JupyterRepo-search").fill(name)
    found = page.locator(f".jp-JupyterRepo-searchResults "
                         f".jp-JupyterRepo-item[data-package='{lab_user}/{name}']")
    found.wait_for()


def test_share_environment_of_the_running_kernel(page, lab: LabServer, server: RepoServer,  # type: ignore[no-untyped-def]
                                                 lab_user: str, lab_token: str, unique: str,
                                                 artifacts_dir: Path) -> None:
    name = f"kernel-env-{unique}"
    open_lab(page, lab, "analysis.ipynb")
    page.locator(".lm-MenuBar-item", has_text="File").click()
    page.locator(".lm-Menu-item[data-command='jupyter-repo:share-environment']").click()
    page.locator(".jp-Dialog-header", has_text="Share environment").wait_for()
    description = page.locator(".jp-JupyterRepo-publishForm .jp-JupyterRepo-description")
    assert "kernel “python3”" in description.inner_text()

    fill_and_publish(page, name, "The kernel's environment")
    page.screenshot(path=str(artifacts_dir / "lab-share-environment.png"))
    package = repository_package(server, lab_token, lab_user, name)
    assert package["files"] and {f["type"] for f in package["files"]} == {"env"}


def test_settings_dialog_logs_in_with_a_token(page, lab: LabServer, server: RepoServer,  # type: ignore[no-untyped-def]
                                              lab_user: str, artifacts_dir: Path) -> None:
    token = server.token(lab_user)
    open_lab(page, lab)
    show_sidebar(page)
    page.locator("#jupyter-repo-sidebar [data-action='settings']").click()
    form = page.locator(".jp-JupyterRepo-loginForm")
    assert f"as {lab_user}" in form.locator(".jp-JupyterRepo-connection").inner_text()
    assert form.locator("input[name='url']").input_value() == server.url

    # A refused token is explained in the dialog, which stays open.
    form.locator("input[name='token']").fill("jr-not-a-real-token")
    page.locator(".jp-Dialog-button.jp-mod-accept", has_text="Log in").click()
    error = form.locator(".jp-JupyterRepo-error")
    error.wait_for()
    page.screenshot(path=str(artifacts_dir / "lab-login-refused.png"))
    assert "token" in error.inner_text().lower()

    form.locator("input[name='token']").fill(token)
    page.locator(".jp-Dialog-button.jp-mod-accept", has_text="Log in").click()
    form.wait_for(state="detached")
    status = lab.api("GET", "jupyter-repo/status").json()
    assert status["connected"] and status["user"]["login"] == lab_user
    assert page.locator("#jupyter-repo-sidebar .jp-JupyterRepo-connection").inner_text() == (
        f"{lab_user} at {server.url}")
