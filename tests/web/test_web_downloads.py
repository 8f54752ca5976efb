"""Download counts: exact under concurrency on every download route, shown on the package
page and in the API, written in batches (never per download), kept at shutdown and added
up across server processes."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import File
from tests.support.server import RepoServer
from tests.support.web import upload

#: Short, so the test sees the batched writes quickly (the default is 10 s).
FLUSH_INTERVAL = 0.3
CONCURRENT = 100


@pytest.fixture(scope="module")
def counting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoServer]:
    server = RepoServer(
        tmp_path_factory.mktemp("downloads"),
        config={"Repository.download_flush_interval": FLUSH_INTERVAL},
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


class Published:
    def __init__(self, server: RepoServer, root: Path) -> None:
        self.server = server
        self.owner = server.create_user(f"dl{uuid.uuid4().hex[:8]}")
        token = server.token(self.owner)
        conda = builders.conda_package(root, "counted", "1.0")
        upload(server, token, self.owner, "counted", "1.0", conda, basename="noarch/" + conda.name)
        self.conda = conda
        wheel = builders.wheel(root, "counted", "1.0")
        upload(server, token, self.owner, "counted", "1.0", wheel)
        self.wheel = wheel

    def file_downloads(self, basename: str) -> int:
        response = requests.get(f"{self.server.api}/package/{self.owner}/counted", timeout=30)
        assert response.status_code == 200
        (found,) = [f for f in response.json()["files"] if f["basename"] == basename]
        return int(found["ndownloads"])

    def api_totals(self) -> tuple[int, int]:
        """(package ndownloads, release 1.0 ndownloads) from the API."""
        package = requests.get(f"{self.server.api}/package/{self.owner}/counted", timeout=30)
        release = requests.get(f"{self.server.api}/release/{self.owner}/counted/1.0", timeout=30)
        assert package.status_code == 200 and release.status_code == 200
        return int(package.json()["ndownloads"]), int(release.json()["ndownloads"])

    def page_counts(self, basename: str) -> tuple[int, int, int]:
        """(package total, version 1.0, the file's row) as the package page shows them."""
        html = requests.get(f"{self.server.url}/{self.owner}/counted", timeout=30).text
        total = re.search(r'<dd class="downloads">(\d+)</dd>', html)
        version = re.search(
            r">1\.0</a> <span class=\"count version-downloads\"[^>]*>(\d+) downloads", html
        )
        row = re.search(
            re.escape(basename) + r"</a>.*?<td[^>]*class=\"number file-downloads\">(\d+)</td>",
            html,
            re.S,
        )
        assert total and version and row, "the page shows no download counts"
        return int(total.group(1)), int(version.group(1)), int(row.group(1))


@pytest.fixture(scope="module")
def published(counting: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Published:
    return Published(counting, tmp_path_factory.mktemp("files"))


def _routes(p: Published) -> dict[str, tuple[str, Path]]:
    owner = p.owner
    return {
        "api": (f"/api/download/{owner}/counted/1.0/noarch/{p.conda.name}", p.conda),
        "conda-channel": (f"/conda/{owner}/noarch/{p.conda.name}", p.conda),
        "pypi-index": (f"/pypi/{owner}/simple/counted/{p.wheel.name}", p.wheel),
        "web-page": (f"/{owner}/counted/download/1.0/{p.wheel.name}", p.wheel),
    }


def _wait_for(read: Callable[[], int], expected: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


@pytest.mark.parametrize("route", ["api", "conda-channel", "pypi-index", "web-page"])
def test_concurrent_downloads_are_counted_exactly(published: Published, route: str) -> None:
    path, source = _routes(published)[route]
    basename = ("noarch/" if source == published.conda else "") + source.name
    expected_sha = hashlib.sha256(source.read_bytes()).hexdigest()
    file_before = published.file_downloads(basename)
    package_before, release_before = published.api_totals()
    page_before = published.page_counts(basename)

    def download(_: int) -> tuple[int, str]:
        response = requests.get(published.server.url + path, timeout=60)
        return response.status_code, hashlib.sha256(response.content).hexdigest()

    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(download, range(CONCURRENT)))
    assert answers == [(200, expected_sha)] * CONCURRENT

    read = lambda: published.file_downloads(basename)  # noqa: E731
    assert _wait_for(read, file_before + CONCURRENT) == file_before + CONCURRENT
    time.sleep(FLUSH_INTERVAL * 4)  # later writes add nothing more
    assert read() == file_before + CONCURRENT
    assert published.api_totals() == (package_before + CONCURRENT, release_before + CONCURRENT)
    assert published.page_counts(basename) == tuple(n + CONCURRENT for n in page_before)
    badge = requests.get(
        f"{published.server.url}/{published.owner}/counted/badges/downloads.svg", timeout=30
    )
    assert f">{package_before + CONCURRENT:,}</text>" in badge.text
    file_page = requests.get(
        f"{published.server.url}/{published.owner}/counted/files/1.0/{basename}", timeout=30
    ).text
    assert f'<dd class="downloads">{file_before + CONCURRENT}</dd>' in file_page


@pytest.mark.parametrize(
    ("headers", "method", "status", "counted"),
    [
        pytest.param({}, "HEAD", 200, 0, id="head"),
        pytest.param({"If-None-Match": "{etag}"}, "GET", 304, 0, id="revalidation-304"),
        pytest.param({"Range": "bytes=0-99"}, "GET", 206, 1, id="range-from-the-start"),
        pytest.param({"Range": "bytes=100-"}, "GET", 206, 0, id="range-continuation"),
        pytest.param({"Range": "bytes=-50"}, "GET", 206, 0, id="suffix-range"),
        pytest.param({"Range": "bytes=99999999-"}, "GET", 416, 0, id="unsatisfiable-416"),
        pytest.param({}, "GET", 200, 1, id="whole-file"),
    ],
)
def test_what_counts_as_a_download(
    published: Published, headers: dict[str, str], method: str, status: int, counted: int
) -> None:
    path, source = _routes(published)["api"]
    basename = "noarch/" + source.name
    etag = f'"{hashlib.sha256(source.read_bytes()).hexdigest()}"'
    before = published.file_downloads(basename)
    sent = {key: value.format(etag=etag) for key, value in headers.items()}
    response = requests.request(method, published.server.url + path, headers=sent, timeout=30)
    assert response.status_code == status
    # One whole download after it: the count then shows whether the first one counted.
    assert requests.get(published.server.url + path, timeout=30).status_code == 200
    assert _wait_for(lambda: published.file_downloads(basename), before + counted + 1) == (
        before + counted + 1
    )
    time.sleep(FLUSH_INTERVAL * 4)
    assert published.file_downloads(basename) == before + counted + 1


def _stored_count(server: RepoServer, filename: str) -> int:
    def read(session: object) -> int:
        return int(session.scalar(select(File.ndownloads).where(File.filename == filename)))  # type: ignore[attr-defined]

    return int(server.call(read, write=False))


def test_counts_gathered_in_memory_are_written_at_shutdown(tmp_path: Path) -> None:
    server = RepoServer(tmp_path, config={"Repository.download_flush_interval": 3600})
    server.start()
    try:
        owner = server.create_user("shutdowner")
        wheel = builders.wheel(tmp_path / "files", "kept", "1.0")
        upload(server, server.token(owner), owner, "kept", "1.0", wheel)
        for _ in range(7):
            url = f"{server.url}/pypi/{owner}/simple/kept/{wheel.name}"
            assert requests.get(url, timeout=30).status_code == 200
        assert _stored_count(server, wheel.name) == 0  # nothing written per download
        server.stop()  # SIGTERM: the server writes what it gathered
        assert _stored_count(server, wheel.name) == 7
    finally:
        server.close()


def test_processes_sharing_a_database_add_their_counts(tmp_path: Path) -> None:
    config = {"Repository.download_flush_interval": 3600}
    first = RepoServer(tmp_path / "one", config=config, data_dir=tmp_path / "data")
    second = RepoServer(tmp_path / "two", config=config, data_dir=tmp_path / "data")
    first.start()
    second.start()
    try:
        owner = first.create_user("sharer")
        wheel = builders.wheel(tmp_path / "files", "shared", "1.0")
        upload(first, first.token(owner), owner, "shared", "1.0", wheel)

        def download(server: RepoServer) -> int:
            url = f"{server.url}/pypi/{owner}/simple/shared/{wheel.name}"
            return requests.get(url, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(download, [first, second] * 30))
        assert codes == [200] * 60
        first.stop()
        assert _stored_count(first, wheel.name) == 30
        second.stop()
        assert _stored_count(first, wheel.name) == 60
    finally:
        first.close()
        second.close()
