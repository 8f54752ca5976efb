"""Every kind of bad input gets a clear 4xx and changes nothing that is stored."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import socket
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from nbformat.v4 import new_markdown_cell

from jupyter_repo.demo import builders
from tests.support.http import auth, upload
from tests.support.paths import FUZZ_CORPUS
from tests.support.server import RepoServer, running_server
from tests.support.state import snapshot, unchanged


@pytest.fixture
def owner(server: RepoServer, user: str, samples: Path) -> tuple[str, str]:
    """A user who already has one package stored (so 'nothing changed' means something)."""
    token = server.token(user)
    keep = builders.conda_package(samples, "keep", "1.0")
    assert (
        upload(server.api, token, user, "keep", "1.0", f"noarch/{keep.name}", keep).status_code
        == 201
    )
    return user, token


def _refused(server: RepoServer, response: requests.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words.lower() in response.json()["error"].lower(), response.json()


#: Broken package files: (basename, content) made from a folder.
MALFORMED_PACKAGES: dict[str, Callable[[Path], tuple[str, bytes]]] = {
    "conda-not-a-zip": lambda _: ("noarch/broken-1.0-0.conda", b"this is not a zip file at all"),
    "conda-truncated": lambda folder: (
        "noarch/broken-1.0-0.conda",
        builders.conda_package(folder, "broken", "1.0").read_bytes()[:200],
    ),
    "tar-bz2-truncated": lambda folder: (
        "noarch/broken-1.0-0.tar.bz2",
        builders.conda_package(folder, "broken", "1.0", fmt=".tar.bz2").read_bytes()[:150],
    ),
    "tar-bz2-empty-stream": lambda _: (
        "noarch/broken-1.0-0.tar.bz2",
        b"BZh91AY&SY" + b"\x00" * 100,
    ),
    "wheel-truncated": lambda folder: (
        (wheel := builders.wheel(folder, "broken", "1.0")).name,
        wheel.read_bytes()[:300],
    ),
    "sdist-garbage": lambda _: ("broken-1.0.tar.gz", b"\x1f\x8b\x08\x00garbage"),
}


@pytest.mark.parametrize("case", list(MALFORMED_PACKAGES))
def test_malformed_and_truncated_packages(
    server: RepoServer, owner: tuple[str, str], samples: Path, case: str
) -> None:
    user, token = owner
    basename, body = MALFORMED_PACKAGES[case](samples)
    before = snapshot(server)
    response = upload(server.api, token, user, "broken", "1.0", basename, body)
    assert response.status_code == 400, response.text
    assert "not" in response.json()["error"], response.json()
    assert unchanged(before, snapshot(server))


@pytest.mark.parametrize(
    ("package", "basename", "kind", "body", "words"),
    [
        pytest.param(
            "broken-nb",
            "x.ipynb",
            "ipynb",
            b'{"cells": [',
            "not a valid notebook",
            id="truncated-notebook",
        ),
        pytest.param(
            "broken-nb",
            "x.ipynb",
            "ipynb",
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{}]}',
            "not a valid notebook",
            id="invalid-notebook",
        ),
        pytest.param(
            "broken-env",
            "environment.yml",
            "env",
            b"name: x\ndependencies: 12\n",
            "dependencies",
            id="environment-dependencies-not-a-list",
        ),
    ],
)
def test_malformed_notebooks_and_environments(
    server: RepoServer,
    owner: tuple[str, str],
    package: str,
    basename: str,
    kind: str,
    body: bytes,
    words: str,
) -> None:
    user, token = owner
    before = snapshot(server)
    response = upload(server.api, token, user, package, "1", basename, body, type=kind)
    _refused(server, response, 400, words)
    assert unchanged(before, snapshot(server))


def test_metadata_that_disagrees_with_the_file_name(
    server: RepoServer, owner: tuple[str, str], samples: Path
) -> None:
    user, token = owner
    before = snapshot(server)
    real = builders.conda_package(samples, "named", "1.0")
    renamed = upload(server.api, token, user, "named", "2.0", "noarch/named-2.0-0.conda", real)
    _refused(server, renamed, 400, "does not match its metadata")
    wrong_subdir = upload(
        server.api, token, user, "named", "1.0", "linux-64/named-1.0-0.conda", real
    )
    _refused(server, wrong_subdir, 400, "built for 'noarch'")
    other = upload(server.api, token, user, "other", "1.0", "noarch/named-1.0-0.conda", real)
    _refused(server, other, 400, "is not other version 1.0")
    wheel = builders.wheel(samples, "alpha", "1.0")
    renamed_wheel = upload(
        server.api, token, user, "beta", "1.0", "beta-1.0-py3-none-any.whl", wheel
    )
    _refused(server, renamed_wheel, 400, "does not match its metadata")
    linux = builders.conda_package(
        samples, "plat", "1.0", subdir="linux-64", index_overrides={"noarch": "python"}
    )
    noarch_mismatch = upload(
        server.api, token, user, "plat", "1.0", f"linux-64/{linux.name}", linux
    )
    _refused(server, noarch_mismatch, 400, "noarch")
    assert unchanged(before, snapshot(server))


@pytest.mark.parametrize(
    "path, words",
    [
        ("%2E%2E/pkg/1/file.csv", "account name"),
        ("{user}/..%2Fx/1/file.csv", "package name"),
        ("{user}/pkg/%2E%2E/file.csv", "version"),
        ("{user}/pkg/1/..%2F..%2Fetc%2Fpasswd", "path components"),
        ("{user}/pkg/1/%2Fetc%2Fpasswd", "absolute path"),
        ("{user}/pkg/1/a%5Cb.csv", "backslash"),
        ("{user}/pkg/1/a%00b.csv", "NUL"),
        ("{user}/pk%00g/1/file.csv", "NUL"),
        ("{user}/pkg/1/noarch%2F..%2Fx.conda", "path components"),
    ],
)
def test_path_traversal_in_names(
    server: RepoServer, owner: tuple[str, str], path: str, words: str
) -> None:
    user, token = owner
    before = snapshot(server)
    response = requests.put(
        f"{server.api}/upload/" + path.format(user=user), data=b"a,b\n1,2\n", headers=auth(token)
    )
    if "%00" in path and "nginx" in response.text:
        assert response.status_code == 400  # the load balancer refuses NUL before we see it
    else:
        _refused(server, response, 400, words)
    assert unchanged(before, snapshot(server))


def test_invalid_names(server: RepoServer, owner: tuple[str, str]) -> None:
    user, token = owner
    before = snapshot(server)
    csv = b"a,b\n"
    _refused(
        server,
        upload(server.api, token, user, "-bad", "1", "f.csv", csv),
        400,
        "invalid package name",
    )
    _refused(
        server, upload(server.api, token, user, "pkg", "1 0", "f.csv", csv), 400, "invalid version"
    )
    _refused(
        server,
        upload(server.api, token, user, "pkg", "1", "f.csv", csv, label="9bad"),
        400,
        "invalid label",
    )
    _refused(
        server,
        upload(server.api, token, user, "pkg", "1", "f.csv", csv, type="exe"),
        400,
        "unknown package type",
    )
    _refused(
        server,
        upload(server.api, token, user, "pkg", "1", "a b.csv", csv),
        400,
        "invalid file name",
    )
    stage = requests.post(
        f"{server.api}/stage/{user}/keep/1.0/noarch/keep-1.0-0.conda",
        json={"distribution_type": "conda", "channels": ["Bad Label"]},
        headers=auth(token),
    )
    _refused(server, stage, 400, "invalid label")
    created = requests.post(f"{server.api}/package/{user}/bad..name", json={}, headers=auth(token))
    _refused(server, created, 400, "invalid package name")
    assert unchanged(before, snapshot(server))


def test_duplicate_uploads_are_409(
    server: RepoServer, owner: tuple[str, str], samples: Path
) -> None:
    user, token = owner
    before = snapshot(server)
    keep = builders.conda_package(samples, "keep", "1.0")
    again = upload(server.api, token, user, "keep", "1.0", f"noarch/{keep.name}", keep)
    _refused(server, again, 409, "already exists")
    staged = requests.post(
        f"{server.api}/stage/{user}/keep/1.0/noarch/{keep.name}",
        json={"distribution_type": "conda"},
        headers=auth(token),
    )
    _refused(server, staged, 409, "already exists")
    assert unchanged(before, snapshot(server))


def _stage(
    server: RepoServer, token: str, user: str, path: Path, sha256: str | None = None
) -> dict[str, str]:
    requests.post(f"{server.api}/package/{user}/staged", json={"public": True}, headers=auth(token))
    response = requests.post(
        f"{server.api}/stage/{user}/staged/1.0/noarch/{path.name}",
        json={
            "distribution_type": "conda",
            "channels": [],
            "sha256": sha256 or hashlib.sha256(path.read_bytes()).hexdigest(),
        },
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_wrong_hashes_are_refused(
    server: RepoServer, owner: tuple[str, str], samples: Path
) -> None:
    user, token = owner
    package = builders.conda_package(samples, "staged", "1.0")
    data = package.read_bytes()
    requests.post(f"{server.api}/package/{user}/staged", json={}, headers=auth(token))
    before = snapshot(server)

    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    stage = _stage(server, token, user, package)
    response = requests.post(
        stage["post_url"],
        data={**stage["form_data"], "Content-Length": str(len(data)), "Content-MD5": wrong_md5},
        files={"file": (package.name, data)},
    )
    assert response.status_code == 400
    assert "<Code>InvalidDigest</Code>" in response.text

    stage = _stage(server, token, user, package, sha256="0" * 64)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    response = requests.post(
        stage["post_url"],
        data={**stage["form_data"], "Content-Length": str(len(data)), "Content-MD5": md5},
        files={"file": (package.name, data)},
    )
    assert response.status_code == 400
    assert "<Code>BadDigest</Code>" in response.text

    direct = upload(
        server.api, token, user, "staged", "1.0", f"noarch/{package.name}", package, sha256="1" * 64
    )
    _refused(server, direct, 400, "does not match")
    after = snapshot(server)
    assert unchanged(before, after, allow_stages=True)
    commit = requests.post(
        f"{server.api}/commit/{user}/staged/1.0/noarch/{package.name}",
        json={"dist_id": stage["dist_id"]},
        headers=auth(token),
    )
    _refused(server, commit, 400, "not been uploaded")


def test_staged_upload_round_trip_over_plain_http(
    server: RepoServer, owner: tuple[str, str], samples: Path
) -> None:
    """The happy path of the same three calls, so the refusals above mean something."""
    user, token = owner
    package = builders.conda_package(samples, "staged", "1.0")
    data = package.read_bytes()
    stage = _stage(server, token, user, package)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    response = requests.post(
        stage["post_url"],
        data={**stage["form_data"], "Content-Length": str(len(data)), "Content-MD5": md5},
        files={"file": (package.name, data)},
    )
    assert response.status_code == 201, response.text
    again = requests.post(
        stage["post_url"], data=stage["form_data"], files={"file": (package.name, data)}
    )
    assert again.status_code in (404, 409)
    commit = requests.post(
        f"{server.api}/commit/{user}/staged/1.0/noarch/{package.name}",
        json={"dist_id": stage["dist_id"]},
        headers=auth(token),
    )
    assert commit.status_code == 200, commit.text
    assert commit.json()["url"].endswith(f"/{user}/staged")


def test_oversize_bodies_are_413(tmp_path: Path) -> None:
    with running_server(tmp_path / "small", config={"Repository.max_upload_size": 100_000}) as s:
        s.create_user("sizer")
        token = s.token("sizer")
        before = snapshot(s)
        big = b"x" * 200_000
        response = upload(s.api, token, "sizer", "big", "1", "big.csv", big)
        assert response.status_code == 413
        assert "limit" in response.json()["error"]
        json_bomb = requests.post(
            f"{s.api}/package/sizer/p",
            data=b"{" * (2 << 20),
            headers={**auth(token), "Content-Type": "application/json"},
        )
        assert json_bomb.status_code == 413
        assert unchanged(before, snapshot(s))


def test_interrupted_upload_leaves_nothing(server: RepoServer, owner: tuple[str, str]) -> None:
    user, token = owner
    before = snapshot(server)
    host, port = "127.0.0.1", server.port
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"PUT /api/upload/{user}/cut/1/cut.bin HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: token {token}\r\nContent-Length: {10 << 20}\r\n\r\n".encode()
        )
        sock.sendall(b"\0" * (3 << 20))
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not unchanged(before, snapshot(server)):
        time.sleep(0.1)
    assert unchanged(before, snapshot(server))
    assert requests.get(f"{server.api}/package/{user}/cut").status_code == 404


BOMB = 3 << 20  # bytes each bomb inflates to, three times the server's limit below


def _zip(target: Path, files: dict[str, bytes]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target


def _tar_gz(target: Path, files: dict[str, bytes]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def _bombs(folder: Path) -> dict[str, tuple[str, str, str, Path, str]]:
    """(package, version, basename, file, type) of one small file per kind of archive, each
    inflating to BOMB bytes, plus a notebook and an environment over the parse limit."""
    zeros = b"\0" * BOMB
    metadata = builders.metadata_text("wbomb", "1.0", "A wheel bomb") + "\n" + " " * BOMB
    wheel = _zip(
        folder / "wbomb-1.0-py3-none-any.whl",
        {
            "wbomb/__init__.py": b"",
            "wbomb-1.0.dist-info/METADATA": metadata.encode(),
            "wbomb-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nTag: py3-none-any\n",
        },
    )
    sdist = _tar_gz(
        folder / "sbomb-1.0.tar.gz",
        {
            "sbomb-1.0/zeros.bin": zeros,
            "sbomb-1.0/PKG-INFO": builders.metadata_text("sbomb", "1.0", "x").encode(),
        },
    )
    project = {"demo/environment.yml": b"dependencies:\n  - python\n", "demo/data/zeros.bin": zeros}
    notebook = builders.notebook_json(extra_cells=[new_markdown_cell("x" * (300 << 10))])
    return {
        "conda-tar-bz2": (
            "bomb",
            "1.0",
            "noarch/bomb-1.0-0.tar.bz2",
            builders.conda_package(
                folder / "bz2", "bomb", "1.0", fmt=".tar.bz2", extra_info={"info/filler.bin": zeros}
            ),
            "conda",
        ),
        "conda": (
            "bomb",
            "1.0",
            "noarch/bomb-1.0-0.conda",
            builders.conda_package(
                folder / "conda", "bomb", "1.0", extra_info={"info/filler.bin": zeros}
            ),
            "conda",
        ),
        "wheel": ("wbomb", "1.0", wheel.name, wheel, "pypi"),
        "sdist": ("sbomb", "1.0", sdist.name, sdist, "pypi"),
        "project-tar-gz": (
            "pbomb",
            "1",
            "demo.tar.gz",
            _tar_gz(folder / "demo.tar.gz", project),
            "project",
        ),
        "project-zip": ("pbomb", "1", "demo.zip", _zip(folder / "demo.zip", project), "project"),
        "notebook": (
            "nbomb",
            "1",
            "big.ipynb",
            builders.environment_file(folder, "big.ipynb", json.dumps(notebook)),
            "ipynb",
        ),
        "environment": (
            "ebomb",
            "1",
            "environment.yml",
            builders.environment_file(
                folder, "environment.yml", "dependencies:\n" + "  - python\n" * (40 << 10)
            ),
            "env",
        ),
    }


BOMB_KINDS = [
    "conda-tar-bz2",
    "conda",
    "wheel",
    "sdist",
    "project-tar-gz",
    "project-zip",
    "notebook",
    "environment",
]


@pytest.fixture(scope="module")
def bomb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RepoServer, str]]:
    """A server with small inflate and parse limits, and the token of a user on it."""
    with running_server(
        tmp_path_factory.mktemp("bomb-server"),
        config={"Repository.max_inflate_size": 1 << 20, "Repository.max_parse_size": 256 << 10},
    ) as instance:
        instance.create_user("bomber")
        yield instance, instance.token("bomber")


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str, str, Path, str]]:
    made = _bombs(tmp_path_factory.mktemp("bombs"))
    assert sorted(made) == sorted(BOMB_KINDS)
    return made


@pytest.mark.parametrize("kind", BOMB_KINDS)
def test_archive_bombs_are_refused(
    bomb_server: tuple[RepoServer, str],
    bombs: dict[str, tuple[str, str, str, Path, str]],
    kind: str,
) -> None:
    """Every kind of archive that inflates past the configured limit is refused with 413,
    and so are notebooks and environment files over the parse limit; nothing is stored."""
    server, token = bomb_server
    package, version, basename, path, package_type = bombs[kind]
    if package_type not in ("ipynb", "env"):
        assert path.stat().st_size < 50_000  # small on the wire
    before = snapshot(server)
    response = upload(
        server.api, token, "bomber", package, version, basename, path, type=package_type
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert "inflates past" in error or "larger than the limit" in error, error
    assert unchanged(before, snapshot(server))


def test_a_small_archive_passes_the_limit_bombs_break(
    bomb_server: tuple[RepoServer, str], tmp_path: Path
) -> None:
    """The limit is what refused the bombs: a small wheel passes (another name, so that the
    order of the tests does not matter)."""
    server, token = bomb_server
    keep = builders.wheel(tmp_path / "ok", "wkeep", "1.0")
    assert upload(server.api, token, "bomber", "wkeep", "1.0", keep.name, keep).status_code == 201


def _exchange(sock: socket.socket, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send a request (its body a moment after its headers, as slow clients do); read the
    answer."""
    sock.sendall(head.encode())
    if body:
        time.sleep(0.2)  # the handler has run prepare() by now
        sock.sendall(body)
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, response.read()


def test_early_refusals_of_small_bodies_keep_the_connection(server: RepoServer) -> None:
    """A request with a small body refused before its body was read (bad token, unknown
    route) still gets its clear 4xx, and the connection stays usable (no reset)."""
    host = f"127.0.0.1:{server.port}"
    body = b'{"summary": "refused"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        for path, headers, status in (
            ("/api/package/nobody/thing", "Authorization: token jr-not-a-token-0000\r\n", 401),
            ("/api/no-such-endpoint", "", 404),
            ("/api/package/nobody/thing", "", 404),
        ):
            answer = _exchange(
                sock,
                f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n{headers}"
                f"Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n",
                body,
            )
            assert answer[0] == status, answer
            assert b'"error"' in answer[1]
        assert _exchange(sock, f"GET /api HTTP/1.1\r\nHost: {host}\r\n\r\n")[0] == 200


HOSTILE = FUZZ_CORPUS / "bad"


def _hostile_upload(path: Path) -> tuple[str, str, str, str]:
    """(package, version, basename, type) under which a hostile corpus file is uploaded."""
    case = path.parent.name
    if case.startswith("conda"):
        return "planted", "1.0", f"noarch/{path.name}", "conda"
    if case.startswith(("wheel", "sdist")):
        return "planted", "1.0", path.name, "pypi"
    if case.startswith("project"):
        return "planted", "1", path.name, "project"
    return "planted-env", "1", path.name, "env"


@pytest.mark.parametrize("path", sorted(HOSTILE.glob("*/*")), ids=lambda path: path.parent.name)
def test_hostile_corpus_is_refused_over_http(
    server: RepoServer, owner: tuple[str, str], path: Path
) -> None:
    """Each hostile seed of the fuzz corpus (escaping members and links, pip options in
    specs; issue 15, findings 11 and 12) is refused by the real server with a 400 naming
    what is wrong; nothing is stored."""
    user, token = owner
    before = snapshot(server)
    package, version, basename, kind = _hostile_upload(path)
    response = upload(server.api, token, user, package, version, basename, path, type=kind)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert ("archive member" in error and path.name in error) or "evil.invalid" in error, error
    assert unchanged(before, snapshot(server))
    assert (
        requests.get(
            f"{server.api}/package/{user}/{package}", headers=auth(token), timeout=30
        ).status_code
        == 404
    )


def test_request_bodies_of_the_wrong_shape_are_400(
    server: RepoServer, owner: tuple[str, str]
) -> None:
    """JSON bodies are checked at the HTTP layer (``server/api/bodies.py``): a value of the
    wrong type is a 400 naming it, and neither the package nor anything else changes."""
    user, token = owner
    headers = auth(token)
    package_url = f"{server.api}/package/{user}/keep"
    shown = requests.get(package_url, headers=headers).json()
    before = snapshot(server)
    cases = [
        ("patch", package_url, {"public_attrs": "text"}, "public_attrs must be an object"),
        ("patch", package_url, {"public_attrs": {"home": 5}}, "home must be a string"),
        ("patch", package_url, {"summary": ["a"]}, "summary must be a string"),
        (
            "patch",
            package_url,
            {"public_attrs": {"package_types": "conda"}},
            "package_types must be a list",
        ),
        (
            "patch",
            package_url,
            {"public_attrs": {"package_types": ["exe"]}},
            "unknown package type",
        ),
        (
            "post",
            f"{server.api}/package/{user}/fresh",
            {"public_attrs": [1]},
            "public_attrs must be an object",
        ),
        (
            "patch",
            f"{server.api}/release/{user}/keep/1.0",
            {"public_attrs": 3},
            "release attributes must be an object",
        ),
        (
            "post",
            f"{server.api}/channels/{user}/dev",
            {"package": 5},
            "'package' must be a string or null",
        ),
        (
            "delete",
            f"{server.api}/channels/{user}/main",
            {"basename": ["x"]},
            "'basename' must be a string or null",
        ),
        (
            "post",
            f"{server.api}/stage/{user}/keep/1.1/noarch/keep-1.1-0.conda",
            {"channels": "main"},
            "labels must be given as a list of names",
        ),
        (
            "post",
            f"{server.api}/stage/{user}/keep/1.1/noarch/keep-1.1-0.conda",
            {"sha256": 12},
            "sha256 must be 64 hexadecimal characters",
        ),
        (
            "post",
            f"{server.api}/stage/{user}/keep/1.1/noarch/keep-1.1-0.conda",
            {"distribution_type": 3},
            "the package type must be a string",
        ),
        (
            "post",
            f"{server.api}/commit/{user}/keep/1.0/noarch/keep-1.0-0.conda",
            {"dist_id": 7},
            "needs the dist_id returned by the stage call",
        ),
    ]
    for method, url, body, words in cases:
        response = requests.request(method, url, json=body, headers=headers, timeout=30)
        _refused(server, response, 400, words)
    assert requests.get(package_url, headers=headers).json() == shown
    assert unchanged(before, snapshot(server))


def test_package_attributes_are_set_as_anaconda_client_sends_them(
    server: RepoServer, owner: tuple[str, str]
) -> None:
    """The shapes the typed bodies accept: ``public_attrs`` or a flat object, a license as
    a name or as ``{"name", "url"}``; values longer than their column are cut to it (a
    600-character URL is no 500 on PostgreSQL)."""
    user, token = owner
    headers = auth(token)
    package_url = f"{server.api}/package/{user}/keep"
    long_home = "https://example.org/" + "a" * 600
    response = requests.patch(
        package_url,
        headers=headers,
        json={
            "public_attrs": {
                "summary": "Kept",
                "home": long_home,
                "license": {"name": "MIT", "url": "https://example.org/mit", "family": "MIT"},
            }
        },
    )
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["summary"] == "Kept" and shown["license"] == "MIT"
    assert shown["license_url"] == "https://example.org/mit"
    assert shown["home"] == long_home[:500]
    flat = requests.patch(package_url, headers=headers, json={"dev_url": "https://dev.example"})
    assert flat.status_code == 200 and flat.json()["dev_url"] == "https://dev.example"
    assert flat.json()["summary"] == "Kept"
    release = requests.patch(
        f"{server.api}/release/{user}/keep/1.0",
        headers=headers,
        json={"public_attrs": {"summary": "First", "notes": "n"}},
    )
    assert release.status_code == 200, release.text
    assert release.json()["summary"] == "First"
    assert release.json()["public_attrs"]["notes"] == "n"
