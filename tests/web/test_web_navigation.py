"""Finding one's way on the web pages (real server, real HTTP): filters offered as choices
with counts, a typo in a filter left out with a note, pages of results with per_page and
sorting, a favicon, a notebook's raw text, "latest" on main, and the details found on the
way (environment versions, private environments' commands, whole SHA-256 digests)."""

from __future__ import annotations

import hashlib
import re
import time
import zipfile
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.server import RepoServer
from tests.support.web import upload


def _get(server: RepoServer, path: str, **kwargs: object) -> requests.Response:
    return requests.get(server.url + path, timeout=30, allow_redirects=False, **kwargs)


def _names(page: str) -> list[str]:
    return re.findall(r'<h3 class="package-name"><a href="/[^/"]+/([^"]+)"', page)


def _options(page: str, select_id: str) -> list[str]:
    select = re.search(rf'(?s)<select id="{select_id}".*?</select>', page)
    assert select, select_id
    return [option.strip() for option in re.findall(r"<option[^>]*>([^<]*)</option>", select[0])]


@pytest.fixture
def catalogue(server: RepoServer, user: str, unique: str, samples: Path) -> str:
    """Three packages matching ``facet<unique>``: two conda (linux-64), one wheel."""
    token = server.token(user)
    for index in (1, 2):
        name = f"facet{unique}-conda{index}"
        conda = builders.conda_package(samples / name, name, "1.0", subdir="linux-64")
        upload(server, token, user, name, "1.0", conda, basename=f"linux-64/{conda.name}")
    wheel_name = f"facet{unique}-wheel"
    upload(server, token, user, wheel_name, "1.0", builders.wheel(samples, wheel_name, "1.0"))
    return f"facet{unique}"


def test_search_filters_are_choices_with_counts(server: RepoServer, catalogue: str) -> None:
    page = _get(server, f"/search?q={catalogue}").text
    assert "conda (2)" in _options(page, "search-type")
    assert "PyPI (1)" in _options(page, "search-type")
    assert "linux-64 (2)" in _options(page, "search-platform")
    assert "main (3)" in _options(page, "search-label")
    filtered = _get(server, f"/search?q={catalogue}&platform=linux-64").text
    assert len(_names(filtered)) == 2


@pytest.mark.parametrize(
    "filters",
    ["platform=..%2Fetc", "type=notebok", "label=no%20such%20label!", "sort=popularity"],
)
def test_a_typo_in_a_filter_is_left_out_with_a_note(
    server: RepoServer, catalogue: str, filters: str
) -> None:
    answer = _get(server, f"/search?q={catalogue}&{filters}")
    assert answer.status_code == 200
    assert "names nothing that exists, so it was left out" in answer.text
    assert len(_names(answer.text)) == 3  # every match, as if the filter were not there


def test_a_typo_in_the_owner_type_filter_is_left_out(server: RepoServer, user: str) -> None:
    answer = _get(server, f"/{user}?type=bogus&sort=size")
    assert answer.status_code == 200
    assert answer.text.count("names nothing that exists, so it was left out") == 2


def test_per_page_pages_and_sorting(server: RepoServer, user: str, samples: Path) -> None:
    token = server.token(user)
    for name in ("delta", "alpha", "charlie", "bravo", "echo"):  # uploaded in this order
        upload(server, token, user, name, "1", builders.csv_file(samples / name), type="file")
    first = _get(server, f"/{user}?per_page=2").text
    assert _names(first) == ["alpha", "bravo"]
    assert "Page 1 of 3" in first
    assert 'href="?per_page=2&amp;page=2"' in first  # the pages keep per_page
    assert _names(_get(server, f"/{user}?per_page=2&page=3").text) == ["echo"]
    assert _names(_get(server, f"/{user}?sort=updated").text)[:3] == ["echo", "bravo", "charlie"]
    by_name = _get(server, "/search?q=&sort=name&per_page=200").text
    listed = [name for name in _names(by_name) if name in ("alpha", "bravo", "echo")]
    assert listed == sorted(listed)


def test_the_site_has_a_favicon(server: RepoServer) -> None:
    home = _get(server, "/").text
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', home)
    assert icon and icon[1].startswith("/static/favicon.svg?v=")
    legacy = _get(server, "/favicon.ico")
    assert legacy.status_code == 301 and legacy.headers["Location"] == icon[1]
    svg = _get(server, icon[1])
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")


def test_notebook_page_offers_raw_and_download_above_its_details(
    server: RepoServer, user: str, samples: Path
) -> None:
    notebook = builders.notebook(samples, "raw.ipynb", title="Raw view")
    upload(server, server.token(user), user, "raw-nb", "1", notebook, type="ipynb")
    page = _get(server, f"/{user}/raw-nb/files/1/raw.ipynb").text
    deadline = time.monotonic() + 60
    while 'class="notebook"' not in page:  # rendered by a worker process on first view
        assert time.monotonic() < deadline, "the notebook was never rendered"
        time.sleep(0.5)
        page = _get(server, f"/{user}/raw-nb/files/1/raw.ipynb").text
    raw_link = re.search(r'<a class="button secondary" href="([^"]+)">View raw</a>', page)
    assert raw_link and raw_link[1] == f"/{user}/raw-nb/raw/1/raw.ipynb"
    assert page.index("Download raw.ipynb") < page.index('class="notebook"')
    assert page.index('class="notebook"') < page.index('id="details-heading"')
    raw = _get(server, raw_link[1])
    assert raw.status_code == 200 and raw.content == notebook.read_bytes()
    assert raw.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'none'" in raw.headers["Content-Security-Policy"]
    assert "Content-Disposition" not in raw.headers
    data = samples / "data.csv"
    data.write_text("a,b\n")
    upload(server, server.token(user), user, "raw-nb", "1", data, type="file")
    assert _get(server, f"/{user}/raw-nb/raw/1/data.csv").status_code == 404
    assert _get(server, f"/{user}/raw-nb/raw/1/missing.ipynb").status_code == 404


def test_latest_is_the_newest_version_on_main(server: RepoServer, user: str, samples: Path) -> None:
    token = server.token(user)
    upload(server, token, user, "hello-app", "0.1", builders.wheel(samples, "hello-app", "0.1"))
    upload(
        server,
        token,
        user,
        "hello-app",
        "0.2",
        builders.wheel(samples, "hello-app", "0.2"),
        label="dev",
    )
    page = _get(server, f"/{user}/hello-app").text
    assert '<span class="version">latest: 0.1</span>' in page
    assert '<span class="version">newer: 0.2 on dev</span>' in page


def test_environment_page_lists_each_version_once(
    server: RepoServer, user: str, samples: Path
) -> None:
    token = server.token(user)
    for version in ("1", "2"):
        folder = samples / version
        upload(
            server, token, user, "two-files", version, builders.environment_file(folder), type="env"
        )
        requirements = builders.environment_file(
            folder, "requirements.txt", builders.REQUIREMENTS_TXT
        )
        upload(server, token, user, "two-files", version, requirements, type="env")
    page = _get(server, f"/{user}/two-files/files/2/requirements.txt").text
    versions = re.search(r'(?s)<nav class="filter-links" aria-label="Versions">(.*?)</nav>', page)
    assert versions
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', versions[1])
    assert links == [
        (f"/{user}/two-files/files/2/requirements.txt", "2"),
        (f"/{user}/two-files/files/1/requirements.txt", "1"),
    ]


def test_private_environment_commands_carry_the_token_in_the_path(
    server: RepoServer, user: str, samples: Path
) -> None:
    token = server.token(user)
    requirements = builders.environment_file(samples, "requirements.txt", builders.REQUIREMENTS_TXT)
    upload(server, token, user, "secret-env", "1", requirements, type="env", private=1)
    page = _get(
        server,
        f"/{user}/secret-env/files/1/requirements.txt",
        headers={"Authorization": f"token {token}"},
    ).text
    assert "Authorization: token" not in page
    command = re.search(r"pip install -r ([^\s<]+)", page)
    assert command and "/t/&lt;TOKEN&gt;/" in command[1]
    url = command[1].replace("&lt;TOKEN&gt;", token)
    fetched = requests.get(url, timeout=30)  # what pip does with a -r URL: a plain GET
    assert fetched.status_code == 200, fetched.text[-600:]
    assert fetched.content == requirements.read_bytes()


def test_the_whole_sha256_can_be_seen(server: RepoServer, user: str, samples: Path) -> None:
    wheel = builders.wheel(samples, "digest-pkg", "1.0")
    upload(server, server.token(user), user, "digest-pkg", "1.0", wheel)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    page = _get(server, f"/{user}/digest-pkg").text
    assert f'<code class="digest-full">{digest}</code>' in page
    assert f"<summary><code>{digest[:12]}…</code>" in page


def _zip_project(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("zipped/environment.yml", builders.ENVIRONMENT_YML)
        archive.writestr("zipped/notes/readme.txt", "zip <b>member</b>\n")
        archive.writestr("zipped/blob.bin", b"\x00\x01binary")
    return path


@pytest.mark.parametrize("archive", ["tar.gz", "zip"])
def test_files_inside_a_project_can_be_read_on_its_page(
    server: RepoServer, user: str, samples: Path, archive: str
) -> None:
    token = server.token(user)
    if archive == "zip":
        path = _zip_project(samples / "zipped.zip")
        text_path, expected, binary = (
            "notes/readme.txt",
            "zip &lt;b&gt;member&lt;/b&gt;",
            "blob.bin",
        )
    else:
        path = builders.project_archive(samples)
        text_path, expected, binary = "data/measurements.csv", "time,value", None
    upload(server, token, user, f"browse-{archive}", "1", path, type="project")
    page_path = f"/{user}/browse-{archive}/files/1/{path.name}"
    listing = _get(server, page_path).text
    assert f'href="?path={text_path.replace("/", "%2F")}"' in listing
    shown = _get(server, f"{page_path}?path={text_path}")
    assert shown.status_code == 200 and expected in shown.text
    assert "<b>member</b>" not in shown.text  # shown as text, never as markup
    if binary:
        assert "This is a binary file" in _get(server, f"{page_path}?path={binary}").text
    for hostile in ("../../../../etc/passwd", "/etc/passwd", "environment.yml/..", "nope.txt"):
        assert _get(server, f"{page_path}?path={hostile}").status_code == 404
