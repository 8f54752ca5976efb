"""``Content-Encoding: gzip`` of the text indexes (repodata.json, channeldata.json, PyPI
pages and JSON API): negotiation, an ETag per encoding, 304s of gzip answers, and real
clients (py-rattler, pip, uv) still reading them."""

from __future__ import annotations

import gzip
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.indexes.test_pypi_index import BIN, _run
from tests.support import publish
from tests.support.rattler_client import run_rattler
from tests.support.scaleout import wait_for_static_indexes
from tests.support.server import RepoServer

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass
class Namespace:
    server: RepoServer
    owner: str
    token: str


@pytest.fixture(scope="module")
def namespace(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Namespace:
    owner = server.create_user(f"gz{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    work = tmp_path_factory.mktemp("gzip")
    for number in range(3):
        publish.conda(server, token, owner, work, f"gzpkg{number}", "1.0")
        publish.wheel(server, token, owner, work, f"gz-wheel{number}", "1.0")
    return Namespace(server, owner, token)


DOCUMENTS = {
    "repodata": ("conda/{owner}/noarch/repodata.json", {}),
    "channeldata": ("conda/{owner}/channeldata.json", {}),
    "simple-root": ("pypi/{owner}/simple/", {}),
    "simple-project": ("pypi/{owner}/simple/gz-wheel1/", {}),
    "simple-project-json": ("pypi/{owner}/simple/gz-wheel1/", {"Accept": SIMPLE_JSON}),
    "json-api": ("pypi/{owner}/pypi/gz-wheel1/json", {}),
}


def _raw(url: str, **headers: str) -> tuple[requests.Response, bytes]:
    """The response and its body as sent (not decoded)."""
    response = requests.get(url, headers=headers, stream=True, timeout=30)
    return response, response.raw.read(decode_content=False)


@pytest.mark.parametrize("caller", ["anonymous", "token"])
@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_gzip_is_negotiated_with_its_own_etag_and_304s(
    namespace: Namespace, document: str, caller: str
) -> None:
    path, extra = DOCUMENTS[document]
    url = f"{namespace.server.url}/{path.format(owner=namespace.owner)}"
    auth = {"Authorization": f"token {namespace.token}"} if caller == "token" else {}
    headers = {**extra, **auth}
    if caller == "anonymous" and document == "repodata":
        wait_for_static_indexes(namespace.server, url)  # nginx's files on the scaled-out tier

    plain, plain_body = _raw(url, **headers, **{"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]

    zipped, zipped_body = _raw(url, **headers, **{"Accept-Encoding": "gzip, deflate"})
    assert zipped.status_code == 200, zipped_body
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert int(zipped.headers["Content-Length"]) == len(zipped_body)
    assert gzip.decompress(zipped_body) == plain_body
    plain_etag, zipped_etag = plain.headers["ETag"], zipped.headers["ETag"]
    assert zipped_etag != plain_etag
    if plain.headers.get("X-Served-By") == "static-index":  # nginx: each file's mtime-size
        assert zipped.headers.get("X-Served-By") == "static-index"
    else:  # the server's: the document's ETag with ".gz"
        assert zipped_etag == plain_etag[:-1] + '.gz"'

    # Compressed once: the same bytes again, from the same cache.
    assert _raw(url, **headers, **{"Accept-Encoding": "gzip"})[1] == zipped_body

    # 304 for the gzip answer's ETag when gzip is accepted, not otherwise.
    again, body = _raw(url, **headers, **{"Accept-Encoding": "gzip", "If-None-Match": zipped_etag})
    assert again.status_code == 304 and body == b""
    assert again.headers["ETag"] == zipped_etag
    assert "Accept-Encoding" in again.headers.get("Vary", "")
    other, body = _raw(
        url, **headers, **{"Accept-Encoding": "identity", "If-None-Match": zipped_etag}
    )
    assert other.status_code == 200 and body == plain_body
    mixed, body = _raw(url, **headers, **{"Accept-Encoding": "gzip", "If-None-Match": plain_etag})
    assert mixed.status_code == 200 and body == zipped_body
    same, _ = _raw(url, **headers, **{"Accept-Encoding": "identity", "If-None-Match": plain_etag})
    assert same.status_code == 304 and same.headers["ETag"] == plain_etag


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("br, *;q=0.1", True),
        ("gzip;q=0", False),
        ("*, gzip;q=0", False),
        ("deflate, br", False),
        ("identity", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_is_read_with_its_qualities(
    namespace: Namespace, accept_encoding: str, gzipped: bool
) -> None:
    url = f"{namespace.server.url}/pypi/{namespace.owner}/simple/"
    response, body = _raw(url, **{"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == ("gzip" if gzipped else None)
    assert (gzip.decompress(body) if gzipped else body).startswith(b"<!DOCTYPE html>")


def test_head_of_a_gzip_answer_has_its_headers(namespace: Namespace) -> None:
    url = f"{namespace.server.url}/conda/{namespace.owner}/noarch/repodata.json"
    full, body = _raw(url, **{"Accept-Encoding": "gzip"})
    head = requests.head(url, headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert head.status_code == 200 and head.headers["Content-Encoding"] == "gzip"
    assert head.headers["Content-Length"] == str(len(body))
    assert head.headers["ETag"] == full.headers["ETag"]


def test_real_clients_read_gzip_indexes(namespace: Namespace, tmp_path: Path) -> None:
    """py-rattler reading repodata.json itself (no shards, no .zst), pip and uv reading the
    simple pages, all asking for gzip, resolve and install from them."""
    server, owner = namespace.server, namespace.owner
    (solved,) = run_rattler(
        [
            {
                "channels": [f"{server.url}/conda/{owner}"],
                "specs": ["gzpkg1"],
                "prefix": str(tmp_path / "prefix"),
                "sharded": False,
                "zstd": False,
            }
        ],
        tmp_path / "cache",
    )
    assert solved["ok"], solved
    assert solved["installed"] == {"gzpkg1": "1.0"}

    index = f"{server.url}/pypi/{owner}/simple"
    download = ["download", "--no-deps", "--no-cache-dir", "-d", str(tmp_path / "pip")]
    pip = _run([sys.executable, "-m", "pip", *download, "--index-url", index, "gz-wheel2"])
    assert pip.returncode == 0, pip.stdout + pip.stderr
    uv = _run(
        [str(BIN / "uv"), "pip", "compile", "--no-cache", "--index-url", index, "-"],
        input="gz-wheel2\n",
    )
    assert uv.returncode == 0, uv.stderr
    assert "gz-wheel2==1.0" in uv.stdout
    assert [item.name for item in (tmp_path / "pip").iterdir()] == [
        "gz_wheel2-1.0-py3-none-any.whl"
    ]
