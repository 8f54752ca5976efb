"""Every kind of web page in Chromium, as people see it: on a phone (400 px) and a desktop
(1400 px), in light and dark color schemes. No page scrolls sideways, and axe-core finds no
serious or critical accessibility violation. Screenshots go to ``test-artifacts/web-layout/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from jupyter_repo.demo import builders
from jupyter_repo.repository.services import accounts, web_sessions
from tests.support import axe
from tests.support.server import RepoServer
from tests.support.web import upload
from tests.web.test_web_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

WIDTHS = (400, 1400)
SCHEMES = ("light", "dark")
LONG = "a-package-name-that-goes-on-and-on-without-any-break-at-all"


@dataclass(frozen=True)
class World:
    """What the pages show: one user's packages of every type, an organization, tokens."""

    server: RepoServer
    user: str
    org: str
    package: str
    session_secret: str

    def url(self, path: str) -> str:
        return self.server.url + path.format(user=self.user, org=self.org, package=self.package)


@pytest.fixture(scope="module")
def world(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    samples = tmp_path_factory.mktemp("layout")
    suffix = samples.name[-6:].replace("_", "").lower()
    user = server.create_user(f"layout{suffix}")
    org = server.create_org(f"layoutorg{suffix}", user)
    server.add_to_group(org, "readers-with-a-rather-long-group-name", user, as_user=user)
    token = server.token(user)
    package = f"{LONG}-{suffix}"
    for version, subdir in (("1.0", "linux-64"), ("1.0", "osx-arm64"), ("1.1", "linux-64")):
        conda = builders.conda_package(
            samples / version / subdir,
            package,
            version,
            subdir=subdir,
            build="py312h0123456_0_with_a_long_build_string",
        )
        upload(server, token, user, package, version, conda, basename=f"{subdir}/{conda.name}")
    upload(server, token, user, package, "1.1", builders.wheel(samples, package, "1.1"))
    upload(
        server, token, user, "report", "1", builders.notebook(samples, "report.ipynb"), type="ipynb"
    )
    second = builders.notebook(samples / "v2", "report.ipynb", title="Second version")
    upload(server, token, user, "report", "2", second, type="ipynb")
    upload(server, token, user, "analysis-env", "1", builders.environment_file(samples), type="env")
    upload(
        server, token, user, "demo-project", "1", builders.project_archive(samples), type="project"
    )
    upload(server, token, user, "measurements", "1", builders.csv_file(samples), type="file")
    upload(
        server,
        token,
        org,
        "private-tool",
        "0.1",
        builders.wheel(samples / "org", "private-tool", "0.1"),
        private=1,
    )
    for name in ("laptop", "continuous-integration-runner-for-the-nightly-builds"):
        server.token(user, ["read"], name=name)
    account = server.call(lambda s: accounts.get_user(s, user).id, write=False)
    secret = server.call(web_sessions.start, account, max_age=3600)
    return World(server, user, org, package, secret)


def press(button: str, **fields: str) -> Callable[[Page], None]:
    """Fill in ``fields`` (by label) and press ``button``: the page the server answers."""

    def act(page: Page) -> None:
        for label, value in fields.items():
            page.get_by_label(label, exact=True).fill(value)
        with page.expect_navigation():
            page.get_by_role("button", name=button, exact=True).click()

    return act


#: Page type -> (path, signed in, what to do there). Each kind of page the site has.
PAGES: dict[str, tuple[str, bool, Callable[[Page], None] | None]] = {
    "home": ("/", False, None),
    "search": ("/search?q=package", False, None),
    "search-typo": ("/search?q=package&platform=..%2Fetc&type=notebok", False, None),
    "owner": ("/{user}?sort=updated", False, None),
    "package": ("/{user}/{package}", False, None),
    "package-as-owner": ("/{user}/{package}", True, None),
    "conda-file": (
        "/{user}/{package}/files/1.1/linux-64/"
        "{package}-1.1-py312h0123456_0_with_a_long_build_string.conda",
        False,
        None,
    ),
    "notebook": ("/{user}/report/files/1/report.ipynb", False, None),
    "notebook-diff": ("/{user}/report/diff/1/2", False, None),
    "environment": ("/{user}/analysis-env/files/1/environment.yml", False, None),
    "project": ("/{user}/demo-project/files/1/demo-project.tar.gz", False, None),
    "data-file": ("/{user}/measurements/files/1/measurements.csv", False, None),
    "project-member": (
        "/{user}/demo-project/files/1/demo-project.tar.gz?path=README.md",
        False,
        None,
    ),
    "login": ("/login", False, None),
    "logout": ("/logout", True, None),
    "account": ("/account", True, None),
    "org": ("/orgs/{org}", True, None),
    "group": ("/orgs/{org}/groups/readers-with-a-rather-long-group-name", True, None),
    "labels": ("/labels/{user}", True, None),
    "private-package": ("/{org}/private-tool", True, None),
    "not-found": ("/{user}/no-such-package", False, None),
    "bad-request": ("/search?page=0", False, None),
    "confirm-revoke": ("/account", True, press("Revoke laptop")),
    "confirm-private": ("/{user}/{package}", True, press("Make it private")),
    "form-error": ("/{user}/{package}", True, press("Add the label", Label="not a label!")),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser: Browser, world: World) -> Iterator[Callable[..., Page]]:
    contexts = []

    def open_(kind: str, width: int, scheme: Any) -> Page:
        path, signed_in, act = PAGES[kind]
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        context.set_default_timeout(15_000)
        contexts.append(context)
        if signed_in:
            context.add_cookies(
                [
                    {
                        "name": "jupyter_repo_session",
                        "value": world.session_secret,
                        "url": world.server.url,
                    }
                ]
            )
        page = context.new_page()
        response = page.goto(world.url(path))
        assert response is not None and response.status < 500
        if act is not None:
            act(page)
        return page

    yield open_
    for context in contexts:
        context.close()


#: Widths wider than the viewport, and the elements sticking out (for the failure message).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (node) => {
    for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const outside = [...document.querySelectorAll('body *')]
    .filter((node) => node.getBoundingClientRect().right > width + 1 && !clipped(node))
    .slice(0, 8)
    .map((node) => `${node.tagName.toLowerCase()}.${node.className} ` +
      `(${Math.round(node.getBoundingClientRect().width)} px wide, ` +
      `${getComputedStyle(node).display})`);
  return {page: document.documentElement.scrollWidth, viewport: width, outside};
}"""


@pytest.fixture
def shots(artifacts_dir: Path) -> Path:
    directory = artifacts_dir / "web-layout"
    directory.mkdir(exist_ok=True)
    return directory


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("kind", PAGES)
def test_no_page_scrolls_sideways_nor_fails_axe(
    open_page: Callable[..., Page], kind: str, scheme: str, shots: Path
) -> None:
    """One load of the page per color scheme, then each width in turn: the pages run no
    script (their CSP forbids it), so their layout follows the viewport alone and a resized
    page is laid out as a page opened at that width. At each width: no sideways scrolling,
    no serious or critical axe violation. And the scheme is really applied (not only
    allowed): light is white; dark is a dark page with light text."""
    page = open_page(kind, WIDTHS[0], scheme)
    problems: dict[str, object] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=shots / f"{kind}-{width}-{scheme}.png", full_page=True)
        measured = page.evaluate(OVERFLOW)
        if measured["page"] > measured["viewport"]:
            problems[f"{width} px scrolls sideways"] = measured
        found = axe.violations(page)
        if found:
            problems[f"{width} px axe violations"] = found
    background, color = page.evaluate(
        "() => [getComputedStyle(document.body).backgroundColor,"
        " getComputedStyle(document.body).color]"
    )
    if scheme == "light" and background != "rgb(255, 255, 255)":
        problems["light scheme is not white"] = background
    if scheme == "dark" and not _luminance(background) < 0.1 < 0.6 < _luminance(color):
        problems["dark scheme is not dark with light text"] = [background, color]
    assert not problems, json.dumps(problems, indent=1)


def _luminance(css: str) -> float:
    red, green, blue = (int(part) for part in css[css.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_file_names_stay_readable_on_a_phone(open_page: Callable[..., Page], world: World) -> None:
    """At 400 px a file's name wraps in words' worth, never a character per line."""
    page = open_page("package", 400, "light")
    link = page.locator("table.files tbody tr").first.locator("a").first
    assert link.bounding_box()["width"] >= 200
