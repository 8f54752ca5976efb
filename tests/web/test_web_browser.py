"""The web pages in headless Chromium (Debian's, driven by playwright): what a person sees.

One browser for the module; a fresh context (cookies) per person. Screenshots go to
``test-artifacts/web/``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from jupyter_repo.demo import builders
from tests.support.hostile import hostile_notebook
from tests.support.server import PASSWORD, RepoServer
from tests.support.web import active_content, upload

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[object]:
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shots(artifacts_dir: Path) -> Path:
    directory = artifacts_dir / "web"
    directory.mkdir(exist_ok=True)
    return directory


def submit(page: Page, button_name: str) -> None:
    """Press a form's button and wait for the page the server answers with."""
    with page.expect_navigation():
        page.get_by_role("button", name=button_name, exact=True).click()


def log_in(page: Page, server: RepoServer, login: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    submit(page, "Log in")
    assert page.url == f"{server.url}/account"


def test_anonymous_search_to_package_to_install(
    server: RepoServer, user: str, unique: str, samples: Path, new_context, shots: Path
) -> None:
    name = f"browse{unique}"
    token = server.token(user)
    conda = builders.conda_package(samples, name, "1.0", subdir="linux-64", build="h0_0")
    upload(server, token, user, name, "1.0", conda, basename=f"linux-64/{conda.name}")
    upload(server, token, user, name, "1.0", builders.wheel(samples, name, "1.0"))
    page = new_context().new_page()

    page.goto(server.url + "/")
    page.locator("#home-search-q").fill(name)
    page.locator("#home-search-q").press("Enter")
    page.wait_for_url("**/search?**")
    assert "1 package found" in page.locator(".result-count").inner_text()
    page.screenshot(path=shots / "search.png", full_page=True)

    page.get_by_role("link", name=f"{user}/{name}").click()
    page.wait_for_url(f"{server.url}/{user}/{name}")
    assert page.locator("h1").inner_text() == name
    conda_command = page.locator("#install-conda pre").inner_text()
    assert conda_command == f"conda install -c {server.url}/conda/{user} {name}"
    pip_command = page.locator("#install-pip pre").inner_text()
    assert pip_command == f"pip install --index-url {server.url}/pypi/{user}/simple {name}"
    assert f"anaconda download {user}/{name}" in page.locator("#install-anaconda").inner_text()
    assert (
        page.locator("#install-jupyter-repo pre").inner_text()
        == f"jupyter repo install {user}/{name} --url {server.url}"
    )
    row = page.locator("table.files tbody tr", has_text=f"linux-64/{conda.name}")
    assert "linux-64" in row.inner_text() and "main" in row.inner_text()
    page.locator("#install-heading").scroll_into_view_if_needed()
    page.screenshot(path=shots / "package-install.png", full_page=True)


def test_login_create_token_use_it_revoke_it(
    server: RepoServer, user: str, new_context, shots: Path
) -> None:
    page = new_context().new_page()
    log_in(page, server, user)
    page.get_by_label("Name", exact=True).fill("browser-token")
    page.get_by_role("radio", name="Download").check()
    page.get_by_label("Expires after").select_option("7")
    submit(page, "Create token")
    secret = page.locator("#new-token-value").inner_text().strip()
    assert secret.startswith("jr-")
    page.screenshot(path=shots / "token-created.png", full_page=True)

    def whoami() -> requests.Response:
        return requests.get(
            f"{server.api}/user", headers={"Authorization": f"token {secret}"}, timeout=30
        )

    assert whoami().status_code == 200 and whoami().json()["login"] == user

    submit(page, "Revoke browser-token")  # first: what revoking means
    assert page.locator("h1").inner_text() == "Revoke the token “browser-token”?"
    assert whoami().status_code == 200
    page.screenshot(path=shots / "token-revoke-confirm.png", full_page=True)
    submit(page, "Revoke browser-token")
    assert page.url == f"{server.url}/account"
    assert "“browser-token” is revoked" in page.get_by_role("status").first.inner_text()
    assert page.get_by_role("button", name="Revoke browser-token").count() == 0
    assert whoami().status_code == 401
    page.screenshot(path=shots / "token-revoked.png", full_page=True)


def test_org_admin_grants_a_private_package_to_a_group(
    server: RepoServer, unique: str, samples: Path, new_context, shots: Path
) -> None:
    admin = server.create_user(f"admin{unique}")
    member = server.create_user(f"member{unique}")
    other = server.create_user(f"other{unique}")
    org = server.create_org(f"lab{unique}", admin)
    upload(
        server,
        server.token(admin),
        org,
        "secret-tool",
        "0.1",
        builders.wheel(samples, "secret-tool", "0.1"),
        private=1,
    )

    page = new_context().new_page()
    log_in(page, server, admin)
    page.goto(f"{server.url}/orgs/{org}")
    page.get_by_label("New group").fill("team")
    page.get_by_label("Permission").select_option("read")
    submit(page, "Create group")
    assert page.url == f"{server.url}/orgs/{org}/groups/team"
    page.get_by_label("Add a member").fill(member)
    submit(page, "Add member")
    page.get_by_label("Grant a package").fill("secret-tool")
    submit(page, "Grant")
    assert page.url == f"{server.url}/orgs/{org}/groups/team"
    assert page.get_by_role("link", name=member).count() == 1
    assert page.get_by_role("link", name="secret-tool").count() == 1
    page.screenshot(path=shots / "group-admin.png", full_page=True)

    member_page = new_context().new_page()
    log_in(member_page, server, member)
    response = member_page.goto(f"{server.url}/{org}/secret-tool")
    assert response is not None and response.status == 200
    assert member_page.locator("h1").inner_text() == "secret-tool"
    assert member_page.locator(".badge-private").first.is_visible()
    member_page.screenshot(path=shots / "member-sees-private.png", full_page=True)

    other_page = new_context().new_page()
    log_in(other_page, server, other)
    response = other_page.goto(f"{server.url}/{org}/secret-tool")
    assert response is not None and response.status == 404
    assert other_page.locator("h1").inner_text() == "Not found"
    unknown = other_page.context.request.get(f"{server.url}/{org}/no-such-tool")
    assert unknown.status == 404 and unknown.text() == response.text()
    other_page.screenshot(path=shots / "other-gets-404.png", full_page=True)


def test_notebook_page_shows_code_markdown_image_and_table(
    server: RepoServer, user: str, samples: Path, new_context, shots: Path
) -> None:
    notebook = builders.notebook(samples, "report.ipynb", title="Quarterly report")
    upload(server, server.token(user), user, "report", "1", notebook, type="ipynb")
    page = new_context().new_page()
    page.goto(f"{server.url}/{user}/report")
    page.get_by_role("link", name="View the notebook (1)").click()
    page.wait_for_url(f"{server.url}/{user}/report/files/1/report.ipynb")

    notebook_box = page.locator(".notebook")
    assert notebook_box.locator(".text_cell_render h1").inner_text().startswith("Quarterly report")
    assert (
        "short analysis of sample data"
        in notebook_box.locator(".text_cell_render p").first.inner_text()
    )
    assert "total = sum(range(10))" in notebook_box.locator(".input_area").first.inner_text()
    image = notebook_box.locator(".output_png img")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 16
    table = notebook_box.locator("table.dataframe")
    assert table.locator("thead th").all_inner_texts() == ["", "a", "b"]
    assert table.locator("tbody tr").count() == 2
    assert page.get_by_role("link", name="Download report.ipynb").get_attribute("href") == (
        f"/{user}/report/download/1/report.ipynb"
    )
    page.screenshot(path=shots / "notebook.png", full_page=True)


class _Beacon(BaseHTTPRequestHandler):
    """Records every request: any hit means content reached out."""

    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def beacon() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Beacon", (_Beacon,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/beacon", hits
    httpd.shutdown()
    httpd.server_close()


def test_hostile_notebook_executes_nothing(
    server: RepoServer,
    user: str,
    samples: Path,
    new_context,
    beacon: tuple[str, list[str]],
    shots: Path,
) -> None:
    beacon_url, beacon_hits = beacon
    path = samples / "hostile.ipynb"
    path.write_text(json.dumps(hostile_notebook(beacon_url)))
    upload(server, server.token(user), user, "hostile", "1", path, type="ipynb")

    context = new_context()
    page = context.new_page()
    dialogs: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    requested: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(str(error)))
    context.on("request", lambda request: requested.append(request.url))

    # The listeners work: a page that does run script is caught.
    page.set_content("<script>console.log('control')</script>")
    assert console == ["log: control"]
    console.clear()

    notebook_path = f"/{user}/hostile/files/1/hostile.ipynb"
    response = page.goto(server.url + notebook_path, wait_until="load")
    assert response is not None and response.status == 200
    assert page.locator(".notebook h1").first.inner_text().startswith("Hostile notebook")
    assert page.locator(".notebook").get_by_text("hover me").first.is_visible()
    # Poke everything a person might: hover, click the would-be script links, toggle.
    page.locator(".notebook").get_by_text("hover me").first.hover()
    for text in ("click-js", "click-js-2", "click-data", "click-md"):
        for link in page.locator(".notebook a", has_text=text).all():
            link.click()
    page.locator(".notebook summary").first.click()
    page.wait_for_timeout(500)
    page.screenshot(path=shots / "hostile-notebook.png", full_page=True)

    assert active_content(page.content()) == []
    assert dialogs == []
    assert console == []
    assert errors == []
    assert beacon_hits == []
    network = [url for url in requested if not url.startswith("data:")]
    server_paths = {urlsplit(url).path for url in network}
    assert all(url.startswith(server.url + "/") for url in network), network
    assert server_paths <= {notebook_path, "/static/style.css", "/static/favicon.svg"}, network
    assert page.url.split("#")[0] == server.url + notebook_path  # nothing navigated away
