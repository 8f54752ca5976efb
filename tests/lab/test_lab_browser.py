"""JupyterLab with the jupyter-repo extension, driven in headless Chromium (Debian's
/usr/bin/chromium through playwright; video off). What the user does happens in the page,
found the way a user finds it (roles, labels, tooltips, visible text); what arrived is
checked through the repository's own API. One Lab server and one browser serve the whole
module; screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from jupyter_repo.demo import builders
from tests.support.lab import LabServer, open_lab
from tests.support.server import RepoServer

pytestmark = pytest.mark.browser

# The publish dialog's checkbox (its apostrophe is typographic, as the user reads it).
ATTACH_ENVIRONMENT = "Attach the kernel\u2019s environment"


@pytest.fixture(scope="module")
def lab(
    server: RepoServer, lab_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """Lab whose server extension is configured (by the administrator's environment
    variables) with a token of ``lab_user`` on the session's repository."""
    root = tmp_path_factory.mktemp("lab")
    workspace = root / "workspace"
    builders.notebook(workspace, "analysis.ipynb", title="Browser test analysis")
    project = workspace / "field-notes"
    builders.notebook(project, "notes.ipynb", title="Field notes")
    builders.csv_file(project / "data", "readings.csv")
    (project / "requirements.txt").write_text(builders.REQUIREMENTS_TXT)
    with LabServer(
        root, workspace, env={"JUPYTER_REPO_URL": server.url, "JUPYTER_REPO_TOKEN": lab_token}
    ) as instance:
        yield instance


def show_sidebar(page):  # type: ignore[no-untyped-def]
    """Open the Repository panel (Lab may have restored it open already); answer it."""
    panel = page.get_by_role("region", name="Repository", exact=True)
    if not panel.is_visible():
        page.get_by_role("complementary", name="main sidebar").get_by_role(
            "tab", name="Repository"
        ).click()
    panel.wait_for(state="visible")
    return panel


def publish_dialog(page):  # type: ignore[no-untyped-def]
    """The open publish dialog, once its form is up."""
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).wait_for()
    return dialog


def click_notebook_publish(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_title("Publish this notebook to the repository").click()


def repository_package(server: RepoServer, token: str, owner: str, name: str) -> dict:
    response = requests.get(
        f"{server.api}/package/{owner}/{name}",
        timeout=30,
        headers={"Authorization": f"token {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def fill_and_publish(page, name: str, summary: str) -> str:  # type: ignore[no-untyped-def]
    """Fill the publish dialog, press Publish, wait for the link; answer the link."""
    dialog = publish_dialog(page)
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Summary").fill(summary)
    dialog.get_by_role("button", name="Publish").click()
    link = dialog.get_by_role("link", name="Open the published page")
    link.wait_for(timeout=120_000)
    return str(link.get_attribute("href"))


def test_publish_notebook_through_the_dialog(
    page,
    lab: LabServer,
    server: RepoServer,  # type: ignore[no-untyped-def]
    lab_user: str,
    lab_token: str,
    unique: str,
    artifacts_dir: Path,
) -> None:
    name = f"nb-{unique}"
    open_lab(page, lab, "analysis.ipynb")
    click_notebook_publish(page)
    dialog = publish_dialog(page)
    assert dialog.get_by_label("Namespace").input_value() == lab_user
    assert dialog.get_by_label("Label").input_value() == "main"
    assert dialog.get_by_label("Visibility").input_value() == "public"
    assert dialog.get_by_label(ATTACH_ENVIRONMENT).is_checked()
    page.screenshot(path=str(artifacts_dir / "lab-publish-dialog.png"))

    href = fill_and_publish(page, name, "Published from the browser test")
    page.screenshot(path=str(artifacts_dir / "lab-publish-done.png"))
    assert href.startswith(server.url) and name in href
    expect(dialog.get_by_role("link", name=f"{lab_user}/{name}-env")).to_be_visible()

    # Through the repository's API: the notebook arrived, and so did its environment.
    package = repository_package(server, lab_token, lab_user, name)
    notebooks = [f for f in package["files"] if f["type"] == "ipynb"]
    assert [f["version"] for f in notebooks] == ["1"]
    download = requests.get(
        f"{server.api}/download/{lab_user}/{name}/1/{notebooks[0]['basename']}",
        timeout=30,
        headers={"Authorization": f"token {lab_token}"},
    )
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


def test_publish_folder_as_project_from_the_file_browser(
    page,
    lab: LabServer,  # type: ignore[no-untyped-def]
    server: RepoServer,
    lab_user: str,
    lab_token: str,
    unique: str,
    artifacts_dir: Path,
) -> None:
    name = f"project-{unique}"
    open_lab(page, lab)
    page.get_by_role("listitem").filter(has_text="field-notes").click(button="right")
    menu_entry = page.get_by_role("menuitem", name="Publish to repository…")
    menu_entry.wait_for()
    page.screenshot(path=str(artifacts_dir / "lab-project-context-menu.png"))
    menu_entry.click()
    dialog = publish_dialog(page)
    expect(dialog.get_by_text("Publishes the folder, as a project, “field-notes”.")).to_be_visible()
    assert dialog.get_by_label(ATTACH_ENVIRONMENT).count() == 0

    href = fill_and_publish(page, name, "A folder published as a project")
    page.screenshot(path=str(artifacts_dir / "lab-project-published.png"))
    assert name in href

    package = repository_package(server, lab_token, lab_user, name)
    assert [f["type"] for f in package["files"]] == ["project"]
    assert package["files"][0]["basename"].endswith(".tar.gz")


def test_finding_5_project_dialog_shows_the_files_before_publishing(  # type: ignore[no-untyped-def]
    page,
    lab: LabServer,
    server: RepoServer,
    lab_user: str,
    lab_token: str,
    unique: str,
    artifacts_dir: Path,
) -> None:
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
    for relative in (
        ".kube/config",
        ".docker/config.json",
        ".npmrc",
        ".pgpass",
        ".bash_history",
        ".config/gcloud/credentials.db",
        ".gitconfig",
    ):
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text("token=do-not-publish\n")
    (project / ".notes.md").write_text("hidden\n")  # 7 bytes
    open_lab(page, lab)
    page.get_by_role("listitem").filter(has_text=folder).click(button="right")
    page.get_by_role("menuitem", name="Publish to repository…").click()
    dialog = publish_dialog(page)
    expect(dialog.get_by_text(" will be published.")).to_have_text(
        "2 files, 27 bytes will be published."
    )
    listed = dialog.get_by_role("list").get_by_role("listitem")
    expect(listed).to_have_text(["data/rain.csv13 bytes", "requirements.txt14 bytes"])
    credentials = dialog.get_by_text("Never published (credentials):").inner_text()
    assert all(name in credentials for name in (".npmrc", ".pgpass", ".bash_history", ".gitconfig"))
    assert ".notes.md" in dialog.get_by_text("hidden left out:").inner_text()
    page.screenshot(path=str(artifacts_dir / "lab-project-preview.png"))

    dialog.get_by_label("Include hidden files and folders").check()
    expect(dialog.get_by_text(" will be published.")).to_have_text(
        "3 files, 34 bytes will be published."
    )
    expect(listed).to_have_text(
        [".notes.md7 bytes", "data/rain.csv13 bytes", "requirements.txt14 bytes"]
    )
    assert ".npmrc" in dialog.get_by_text("Never published (credentials):").inner_text()

    name = f"creds-{unique}"
    fill_and_publish(page, name, "Credentials stay home")
    download = requests.get(
        f"{server.api}/download/{lab_user}/{name}/1/{name}.tar.gz",
        timeout=30,
        headers={"Authorization": f"token {lab_token}"},
    )
    assert download.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(download.content)) as tar:
        assert sorted(tar.getnames()) == [
            f"{name}/{path}" for path in (".notes.md", "data/rain.csv", "requirements.txt")
        ]


def test_open_published_notebook_from_the_sidebar(
    page,
    lab: LabServer,
    server: RepoServer,  # type: ignore[no-untyped-def]
    lab_user: str,
    lab_token: str,
    unique: str,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    name = f"shared-{unique}"
    source = builders.notebook(tmp_path, f"{name}.ipynb", title=f"Shared notebook {unique}")
    upload = requests.put(
        f"{server.api}/upload/{lab_user}/{name}/1/{source.name}",
        params={"type": "ipynb", "summary": "Opened from the sidebar"},
        data=source.read_bytes(),
        timeout=30,
        headers={"Authorization": f"token {lab_token}"},
    )
    assert upload.status_code in (200, 201), upload.text

    open_lab(page, lab)
    panel = show_sidebar(page)
    row = panel.locator(f"[data-package='{lab_user}/{name}']")
    row.wait_for()
    page.screenshot(path=str(artifacts_dir / "lab-sidebar.png"))
    row.get_by_role("button", name="Open").click()

    # The notebook is downloaded into the workspace and opened in the main area.
    page.get_by_role("main").get_by_role("heading", name=f"Shared notebook {unique}").wait_for()
    page.screenshot(path=str(artifacts_dir / "lab-opened-from-sidebar.png"))
    assert (lab.workspace / f"{name}.ipynb").exists()
    assert page.get_by_role("tab", name=f"{name}.ipynb").count() == 1
    expect(panel.get_by_role("status")).to_have_text(f"Opened {name}.ipynb.")

    # The search finds it too.
    panel.get_by_role("searchbox", name="Search the repository").fill(name)
    expect(panel.get_by_role("heading", name="Search results (1)")).to_be_visible()
    panel.get_by_text(f"{lab_user}/{name}", exact=True).wait_for()  # owner/name: a result


def test_share_environment_of_the_running_kernel(
    page,
    lab: LabServer,
    server: RepoServer,  # type: ignore[no-untyped-def]
    lab_user: str,
    lab_token: str,
    unique: str,
    artifacts_dir: Path,
) -> None:
    name = f"kernel-env-{unique}"
    open_lab(page, lab, "analysis.ipynb")
    page.get_by_role("menuitem", name="File").click()
    page.get_by_role("menuitem", name="Share environment…").click()
    dialog = publish_dialog(page)
    expect(dialog.get_by_text("Share environment", exact=True)).to_be_visible()
    expect(dialog.get_by_text("Publishes the environment of the kernel “python3”")).to_be_visible()
    # Defect 5 (issue 17): the name proposed is the one the notebook's publish gave (or
    # would give) its environment, ``<notebook>-env``, never ``analysis-environment``.
    record = json.loads((lab.workspace / "analysis.ipynb").read_text())["metadata"].get(
        "jupyter_repo", {}
    )
    attached = (record.get("environment") or {}).get("name")
    expect(dialog.get_by_label("Name", exact=True)).to_have_value(attached or "analysis-env")

    fill_and_publish(page, name, "The kernel's environment")
    page.screenshot(path=str(artifacts_dir / "lab-share-environment.png"))
    package = repository_package(server, lab_token, lab_user, name)
    assert package["files"] and {f["type"] for f in package["files"]} == {"env"}


def test_settings_dialog_logs_out_after_confirming_and_logs_in_with_a_token(
    page,
    lab: LabServer,
    server: RepoServer,  # type: ignore[no-untyped-def]
    lab_user: str,
    artifacts_dir: Path,
) -> None:
    """Log out asks first and says what it does (issue 17, defect 10); the dialog says
    what is wrong with a URL or a token, and takes a URL without its scheme (defect 8)."""
    token = server.token(lab_user)
    open_lab(page, lab)
    panel = show_sidebar(page)
    settings_button = panel.get_by_role("button", name="Repository settings and login…")
    settings_button.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Connected to {server.url} as {lab_user}.")).to_be_visible()
    assert dialog.get_by_label("Repository URL").input_value() == server.url

    # Log out: a confirmation says what will happen; Cancel keeps the login.
    confirm = page.get_by_role("dialog").filter(has_text="Log out of the repository?")
    for answer in ("Cancel", "Log out"):
        dialog.get_by_role("button", name="Log out").click()
        expect(
            confirm.get_by_text(f"You are logged in to {server.url} as {lab_user}.")
        ).to_be_visible()
        expect(confirm.get_by_text("Logging out forgets the token saved")).to_be_visible()
        if answer == "Cancel":
            page.screenshot(path=str(artifacts_dir / "lab-logout-confirm.png"))
        confirm.get_by_role("button", name=answer).click()
        confirm.wait_for(state="detached")
        connected = lab.api("GET", "jupyter-repo/status").json()["connected"]
        assert connected is (answer == "Cancel")
        if answer == "Cancel":
            settings_button.click()
    expect(panel.get_by_text("Not logged in.", exact=False)).to_be_visible()

    settings_button.click()
    url_field = dialog.get_by_label("Repository URL")
    token_field = dialog.get_by_label("Token", exact=True)
    log_in = dialog.get_by_role("button", name="Log in")
    # The token's placeholder is shown whole, and the hint under it says where tokens come from.
    placeholder_fits = token_field.evaluate(
        """field => {
            const style = getComputedStyle(field);
            const context = document.createElement('canvas').getContext('2d');
            context.font = style.font;
            const room = field.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            return context.measureText(field.placeholder).width <= room;
        }"""
    )
    assert placeholder_fits, token_field.get_attribute("placeholder")
    expect(dialog.get_by_text("Create one on the repository\u2019s account page")).to_be_visible()

    # A refused token is called refused (not "log in again"); the dialog stays open.
    token_field.fill("jr-not-a-real-token")
    log_in.click()
    error = dialog.get_by_role("alert")
    expect(error).to_contain_text(f"The repository at {server.url} refused this token")
    page.screenshot(path=str(artifacts_dir / "lab-login-refused.png"))
    assert "again" not in error.inner_text()

    # A URL without http:// keeps "Log in" usable; editing clears the old error.
    url_field.fill(server.url.removeprefix("http://"))
    expect(error).to_be_hidden()
    expect(log_in).to_be_enabled()
    token_field.fill(token)
    log_in.click()
    dialog.wait_for(state="detached")
    status = lab.api("GET", "jupyter-repo/status").json()
    assert status["connected"] and status["user"]["login"] == lab_user
    assert status["url"] == server.url
    expect(panel.get_by_text(f"{lab_user} at {server.url}")).to_be_visible()


def lab_settings(lab: LabServer) -> dict:
    """The extension's settings as Lab stored them (the user's values only)."""
    response = lab.api("GET", "lab/api/settings/jupyter-repo:plugin")
    assert response.status_code == 200, response.text
    return response.json()["settings"]


def test_settings_editor_shows_the_settings_and_the_dialog_follows_them(  # type: ignore[no-untyped-def]
    page,
    lab: LabServer,
    server: RepoServer,
    lab_user: str,
    lab_token: str,
    unique: str,
    artifacts_dir: Path,
) -> None:
    """The extension's settings appear in Lab's Settings Editor with their titles; what
    the user changes there becomes the publish dialog's defaults at once, and what is
    published with them arrives private, under the chosen label."""
    open_lab(page, lab, "analysis.ipynb")
    try:
        page.get_by_role("menuitem", name="Settings").click()
        page.get_by_role("menuitem", name="Settings Editor").click()
        main = page.get_by_role("main")
        main.get_by_role("tab", name="Repository", exact=True).click()
        form = main.get_by_role("group", name="Repository", exact=True)
        fields = {
            title: form.locator(".small-field").filter(
                has=page.get_by_role("heading", name=title, exact=True)
            )
            for title in (
                "Repository URL",
                "Default namespace",
                "Default visibility",
                "Default label",
            )
        }
        for field in fields.values():
            expect(field).to_be_visible()
        expect(fields["Default label"].get_by_role("textbox")).to_have_value("main")
        attach = form.get_by_label("Attach the kernel's environment")
        expect(attach).to_be_checked()
        page.screenshot(path=str(artifacts_dir / "lab-settings-editor.png"))

        fields["Default visibility"].get_by_role("combobox").select_option(
            label="Private: only you and those you share it with"
        )
        fields["Default label"].get_by_role("textbox").fill("dev")
        attach.uncheck()
        # Lab saves the form a moment after the last change.
        chosen = {"defaultVisibility": "private", "defaultLabel": "dev", "attachEnvironment": False}
        deadline = time.monotonic() + 30
        while {key: lab_settings(lab).get(key) for key in chosen} != chosen:
            assert time.monotonic() < deadline, lab_settings(lab)
            time.sleep(0.2)

        # Without reloading Lab: the notebook's publish dialog starts from the settings.
        main.get_by_role("tab", name="analysis.ipynb").click()
        click_notebook_publish(page)
        dialog = publish_dialog(page)
        # A new package (the notebook's earlier one would start from its own settings).
        name = f"private-{unique}"
        dialog.get_by_label("Name", exact=True).fill(name)
        expect(dialog.get_by_text(f"{lab_user}/{name} is new")).to_be_visible()
        assert dialog.get_by_label("Visibility").input_value() == "private"
        assert dialog.get_by_label("Label").input_value() == "dev"
        assert not dialog.get_by_label(ATTACH_ENVIRONMENT).is_checked()
        page.screenshot(path=str(artifacts_dir / "lab-publish-dialog-from-settings.png"))
        fill_and_publish(page, name, "Private by default")

        package = repository_package(server, lab_token, lab_user, name)
        assert package["public"] is False
        assert [file["labels"] for file in package["files"]] == [["dev"]]
        anonymous = requests.get(f"{server.api}/package/{lab_user}/{name}", timeout=30)
        assert anonymous.status_code == 404
    finally:
        restored = lab.api("PUT", "lab/api/settings/jupyter-repo:plugin", json={"raw": "{}"})
        assert restored.status_code == 204, restored.text


def test_republish_starts_from_the_package_and_a_private_page_opens_after_login(  # type: ignore[no-untyped-def]
    page,
    browser,
    lab: LabServer,
    server: RepoServer,
    lab_user: str,
    lab_token: str,
    unique: str,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    """Issue 17, defect 4: the dialog starts from the package's visibility and label,
    applies a change, and says (also as a Lab notification) what the version got.
    Defect 9: the link to a private package's page goes through the repository's login,
    which returns to the page."""
    from tests.support.server import PASSWORD

    name = f"tides-{unique}"
    earlier = builders.notebook(tmp_path, f"{name}.ipynb", title="Tides")
    upload = requests.put(
        f"{server.api}/upload/{lab_user}/{name}/1/{earlier.name}",
        params={"type": "ipynb", "private": "1", "label": "tidal"},
        data=earlier.read_bytes(),
        timeout=30,
        headers={"Authorization": f"token {lab_token}"},
    )
    assert upload.status_code in (200, 201), upload.text

    open_lab(page, lab, "analysis.ipynb")
    click_notebook_publish(page)
    dialog = publish_dialog(page)
    dialog.get_by_label(ATTACH_ENVIRONMENT).uncheck()
    # Typed and published at once (in one tick, so the test does not depend on timing):
    # the dialog first shows the package's settings (never publishing over them unseen),
    # then publishes on the next press.
    dialog.get_by_label("Name", exact=True).evaluate(
        """(field, name) => {
            field.value = name;
            field.dispatchEvent(new Event('input', { bubbles: true }));
            field.closest('.jp-Dialog').querySelector('.jp-mod-accept').click();
        }""",
        name,
    )
    expect(dialog.get_by_role("alert")).to_have_text(
        "This package exists: its visibility and label are now shown. Check them, then "
        "press Publish again."
    )
    expect(
        dialog.get_by_text(
            f"{lab_user}/{name} exists (private, latest version 1 has label “tidal”)"
        )
    ).to_be_visible()
    assert dialog.get_by_label("Visibility").input_value() == "private"
    assert dialog.get_by_label("Label").input_value() == "tidal"
    page.screenshot(path=str(artifacts_dir / "lab-republish-dialog.png"))
    dialog.get_by_role("button", name="Publish").click()
    said = (
        f"Published {lab_user}/{name}, version 2: private (only you and those you share it "
        "with), label “tidal”."
    )
    expect(dialog.get_by_text(said)).to_be_visible(timeout=120_000)
    expect(page.locator(".jp-toastContainer").get_by_text(said)).to_be_visible()
    link = dialog.get_by_role("link", name="Open the published page")
    href = link.get_attribute("href")
    assert href == f"{server.url}/login?next=%2F{lab_user}%2F{name}"
    page.screenshot(path=str(artifacts_dir / "lab-republish-private-done.png"))
    dialog.get_by_role("button", name="Close").click()

    # A browser not signed in to the repository follows the link: login, then the page.
    context = browser.new_context()
    try:
        web = context.new_page()
        web.goto(href)
        web.get_by_label("Username").fill(lab_user)
        web.get_by_label("Password").fill(PASSWORD)
        web.get_by_role("button", name="Log in").click()
        web.wait_for_url(f"{server.url}/{lab_user}/{name}")
        expect(web.get_by_role("heading", name=name, exact=False).first).to_be_visible()
        web.screenshot(path=str(artifacts_dir / "web-private-page-after-login.png"))
    finally:
        context.close()

    # The notebook now names the package: the dialog starts from it; Public is applied.
    click_notebook_publish(page)
    dialog = publish_dialog(page)
    expect(dialog.get_by_text(f"{lab_user}/{name} exists (private")).to_be_visible()
    assert dialog.get_by_label("Name", exact=True).input_value() == name
    earlier_link = dialog.get_by_role("link", name=f"{server.url}/{lab_user}/{name}")
    assert earlier_link.get_attribute("href") == href  # private: through the login
    dialog.get_by_label("Visibility").select_option("public")
    dialog.get_by_label(ATTACH_ENVIRONMENT).uncheck()
    dialog.get_by_role("button", name="Publish").click()
    expect(
        dialog.get_by_text(
            f"Published {lab_user}/{name}, version 3: public (anyone can find and open it), "
            "label “tidal”."
        )
    ).to_be_visible(timeout=120_000)
    assert dialog.get_by_role("link", name="Open the published page").get_attribute("href") == (
        f"{server.url}/{lab_user}/{name}"
    )
    anonymous = requests.get(f"{server.api}/package/{lab_user}/{name}", timeout=30)
    assert anonymous.status_code == 200 and anonymous.json()["versions"] == ["1", "2", "3"]


def test_install_from_the_sidebar_asks_first_and_shows_what_it_installs(  # type: ignore[no-untyped-def]
    page,
    lab: LabServer,
    server: RepoServer,
    lab_user: str,
    lab_token: str,
    unique: str,
    artifacts_dir: Path,
) -> None:
    """Issue 17, defect 10: installing into the kernel's environment is confirmed first,
    with the packages it would install; Cancel starts nothing."""
    name = f"reef-env-{unique}"
    spec = (
        "name: reef\ndependencies:\n  - python=3.11\n  - numpy>=1.26\n"
        "  - pip:\n    - jr-probe==1.2.3\n"
    )
    upload = requests.put(
        f"{server.api}/upload/{lab_user}/{name}/1/environment.yml",
        params={"type": "env"},
        data=spec.encode(),
        timeout=30,
        headers={"Authorization": f"token {lab_token}"},
    )
    assert upload.status_code in (200, 201), upload.text

    def install_tasks() -> int:
        tasks = lab.api("GET", "jupyter-repo/tasks").json()["items"]
        return sum(task["kind"] == "install-environment" for task in tasks)

    before = install_tasks()
    open_lab(page, lab)
    panel = show_sidebar(page)
    row = panel.locator(f"[data-package='{lab_user}/{name}']")
    row.get_by_role("button", name="Install into this kernel").click()
    confirm = page.get_by_role("dialog").filter(
        has_text="Install into the kernel\u2019s environment?"
    )
    expect(
        confirm.get_by_text(f"This installs 3 packages from {lab_user}/{name} version 1")
    ).to_be_visible()
    expect(confirm.get_by_role("listitem")).to_have_text(
        ["conda: python=3.11", "conda: numpy>=1.26", "pip: jr-probe==1.2.3"]
    )
    page.screenshot(path=str(artifacts_dir / "lab-install-confirm.png"))
    confirm.get_by_role("button", name="Cancel").click()
    confirm.wait_for(state="detached")
    assert install_tasks() == before
    expect(panel.get_by_role("status")).to_be_hidden()
