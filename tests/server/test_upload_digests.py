"""A big upload streamed through each upload route records the right digests, and one cut
off half-way leaves nothing behind.

md5 and blake2b-256 are computed on threads of their own while the body streams in
(repository/storage/base.py's lanes); these tests prove, through the real server over HTTP,
that what is recorded is the digest of every byte, in order, for a body far bigger than any
buffer or backlog of the pipeline.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.http import auth
from tests.support.server import RepoServer
from tests.support.state import snapshot, unchanged

SIZE = 50 << 20
CHUNK = 1 << 20


@dataclass(frozen=True)
class Digests:
    md5: str
    sha256: str
    blake2_256: str

    @classmethod
    def of(cls, path: Path) -> Digests:
        md5, sha256 = hashlib.md5(), hashlib.sha256()
        blake2 = hashlib.blake2b(digest_size=32)
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                for digest in (md5, sha256, blake2):
                    digest.update(chunk)
        return cls(md5.hexdigest(), sha256.hexdigest(), blake2.hexdigest())


def _random_bytes(handle: object, size: int) -> None:
    # Every MiB different (a repeated block would hide a chunk hashed twice or skipped).
    for _ in range(size // CHUNK):
        handle.write(os.urandom(CHUNK))  # type: ignore[attr-defined]
    handle.write(os.urandom(size % CHUNK + 12345))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Digests]:
    path = tmp_path_factory.mktemp("digests") / "big.bin"
    with open(path, "wb") as handle:
        _random_bytes(handle, SIZE)
    return path, Digests.of(path)


@pytest.fixture(scope="module")
def big_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Digests]:
    path = tmp_path_factory.mktemp("digests-wheel") / "big_digest-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        with archive.open("big_digest/data.bin", "w", force_zip64=True) as member:
            _random_bytes(member, SIZE)
        archive.writestr(
            "big_digest-1.0.dist-info/METADATA",
            builders.metadata_text("big-digest", "1.0", "big").encode(),
        )
        archive.writestr(
            "big_digest-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
        )
        archive.writestr("big_digest-1.0.dist-info/RECORD", b"")
    return path, Digests.of(path)


@pytest.fixture(scope="module")
def uploader(server: RepoServer) -> tuple[str, str]:
    login = f"digests-{os.urandom(3).hex()}"
    server.create_user(login)
    return login, server.token(login)


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _form(fields: dict[str, str], file_field: str, path: Path, boundary: str) -> Iterator[bytes]:
    """A multipart form streamed (fields first, as every client sends them)."""
    for name, value in fields.items():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    yield from _chunks(path)
    yield f"\r\n--{boundary}--\r\n".encode()


def _downloaded_sha256(url: str, token: str) -> str:
    digest = hashlib.sha256()
    with requests.get(url, headers=auth(token), stream=True, timeout=120) as response:
        assert response.status_code == 200
        for chunk in response.iter_content(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def test_put_of_50mb_records_md5_and_sha256(
    server: RepoServer, uploader: tuple[str, str], big_file: tuple[Path, Digests]
) -> None:
    login, token = uploader
    path, digests = big_file
    with open(path, "rb") as body:  # streamed by requests, with a Content-Length
        response = requests.put(
            f"{server.api}/upload/{login}/put-big/1/big.bin",
            data=body,
            headers=auth(token),
            timeout=300,
        )
    assert response.status_code == 201, response.text
    recorded = response.json()
    assert (recorded["md5"], recorded["sha256"]) == (digests.md5, digests.sha256)
    assert recorded["size"] == path.stat().st_size
    listed = requests.get(f"{server.api}/package/{login}/put-big", headers=auth(token))
    assert [(row["md5"], row["sha256"]) for row in listed.json()["files"]] == [
        (digests.md5, digests.sha256)
    ]
    assert _downloaded_sha256(recorded["download_url"], token) == digests.sha256


def test_chunked_put_of_50mb_records_md5_and_sha256(
    server: RepoServer, uploader: tuple[str, str], big_file: tuple[Path, Digests]
) -> None:
    """Chunked transfer encoding (no Content-Length): Tornado hands over other piece sizes."""
    login, token = uploader
    path, digests = big_file
    response = requests.put(
        f"{server.api}/upload/{login}/put-chunked/1/big.bin",
        data=_chunks(path),
        headers=auth(token),
        timeout=300,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["md5"], response.json()["sha256"]) == (digests.md5, digests.sha256)


def _stage(server: RepoServer, login: str, token: str, package: str) -> dict[str, object]:
    created = requests.post(
        f"{server.api}/package/{login}/{package}", json={"public": True}, headers=auth(token)
    )
    assert created.status_code in (200, 201), created.text
    staged = requests.post(
        f"{server.api}/stage/{login}/{package}/1/big.bin",
        json={"distribution_type": "file"},
        headers=auth(token),
    )
    assert staged.status_code == 200, staged.text
    answer: dict[str, object] = staged.json()
    return answer


def test_staged_upload_of_50mb_records_md5_and_sha256(
    server: RepoServer, uploader: tuple[str, str], big_file: tuple[Path, Digests]
) -> None:
    """anaconda-client's flow, with the Content-MD5 it sends checked against the stream."""
    login, token = uploader
    path, digests = big_file
    staged = _stage(server, login, token, "staged-big")
    fields = {str(k): str(v) for k, v in dict(staged["form_data"]).items()}  # type: ignore[call-overload]
    fields["Content-MD5"] = base64.b64encode(bytes.fromhex(digests.md5)).decode()
    fields["Content-Length"] = str(path.stat().st_size)
    boundary = "digest-test-boundary"
    posted = requests.post(
        str(staged["post_url"]),
        data=_form(fields, "file", path, boundary),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=300,
    )
    assert posted.status_code == 201, posted.text
    committed = requests.post(
        f"{server.api}/commit/{login}/staged-big/1/big.bin",
        json={"dist_id": staged["dist_id"]},
        headers=auth(token),
    )
    assert committed.status_code == 200, committed.text
    assert (committed.json()["md5"], committed.json()["sha256"]) == (digests.md5, digests.sha256)


def test_staged_upload_with_a_wrong_content_md5_stores_nothing(
    server: RepoServer, uploader: tuple[str, str], big_file: tuple[Path, Digests]
) -> None:
    """The md5 computed beside the stream is really compared: one bit off is refused."""
    login, token = uploader
    path, digests = big_file
    staged = _stage(server, login, token, "staged-wrong-md5")
    before = snapshot(server)
    wrong = bytearray(bytes.fromhex(digests.md5))
    wrong[-1] ^= 1
    boundary = "digest-test-boundary"
    posted = requests.post(
        str(staged["post_url"]),
        data=_form(
            {"key": "big.bin", "Content-MD5": base64.b64encode(bytes(wrong)).decode()},
            "file",
            path,
            boundary,
        ),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=300,
    )
    assert posted.status_code == 400, posted.text
    assert "<Code>InvalidDigest</Code>" in posted.text
    assert unchanged(before, snapshot(server))


def _pypi_fields(digests: Digests, **overrides: str) -> dict[str, str]:
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "big-digest",
        "version": "1.0",
        "filetype": "bdist_wheel",
        "md5_digest": digests.md5,
        "sha256_digest": digests.sha256,
        "blake2_256_digest": digests.blake2_256,
        **overrides,
    }


def _pypi_post(server: RepoServer, login: str, token: str, fields: dict[str, str], path: Path):  # type: ignore[no-untyped-def]
    boundary = "digest-test-boundary"
    return requests.post(
        f"{server.url}/pypi/{login}/",
        data=_form(fields, "content", path, boundary),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        auth=("__token__", token),
        timeout=300,
    )


@pytest.mark.parametrize("field", ["md5_digest", "blake2_256_digest"])
def test_pypi_upload_with_a_wrong_digest_stores_nothing(
    server: RepoServer, uploader: tuple[str, str], big_wheel: tuple[Path, Digests], field: str
) -> None:
    login, token = uploader
    path, digests = big_wheel
    before = snapshot(server)
    right = _pypi_fields(digests)[field]
    wrong = right[:-1] + ("0" if right[-1] != "0" else "1")
    response = _pypi_post(server, login, token, _pypi_fields(digests, **{field: wrong}), path)
    assert response.status_code == 400, response.text
    assert unchanged(before, snapshot(server))


def test_pypi_upload_of_50mb_checks_and_records_every_digest(
    server: RepoServer, uploader: tuple[str, str], big_wheel: tuple[Path, Digests]
) -> None:
    """twine's form announces md5, sha256 and blake2b-256: all three must match the stream."""
    login, token = uploader
    path, digests = big_wheel
    response = _pypi_post(server, login, token, _pypi_fields(digests), path)
    assert response.status_code == 200, response.text
    assert response.json()["created"] is True
    document = requests.get(
        f"{server.url}/pypi/{login}/pypi/big-digest/1.0/json", auth=("__token__", token)
    ).json()
    assert [item["digests"] for item in document["urls"]] == [
        {"md5": digests.md5, "sha256": digests.sha256}
    ]


def _cut_off(server: RepoServer, head: str, sent: int) -> None:
    """Send ``head`` and ``sent`` bytes of a much longer body, then drop the connection."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head.encode())
        block = os.urandom(CHUNK)
        for _ in range(sent // CHUNK):
            sock.sendall(block)
        time.sleep(0.3)


@pytest.mark.parametrize("route", ["put", "staged", "pypi"])
def test_upload_cut_off_after_20mb_leaves_nothing(
    server: RepoServer, uploader: tuple[str, str], route: str
) -> None:
    """The connection drops with md5 still catching up: no row, no blob, no spool left."""
    login, token = uploader
    host = f"127.0.0.1:{server.port}"
    declared = 60 << 20
    boundary = "cut-boundary"
    multipart = f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
    if route == "put":
        head = (
            f"PUT /api/upload/{login}/cut-{route}/1/cut.bin HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: token {token}\r\nContent-Length: {declared}\r\n\r\n"
        )
    elif route == "staged":
        staged = _stage(server, login, token, "cut-staged")
        head = (
            f"POST /api/stage-upload/{staged['dist_id']} HTTP/1.1\r\nHost: {host}\r\n"
            f"{multipart}Content-Length: {declared}\r\n\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n'
        )
    else:
        basic = base64.b64encode(f"__token__:{token}".encode()).decode()
        head = (
            f"POST /pypi/{login}/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {basic}\r\n"
            f"{multipart}Content-Length: {declared}\r\n\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
            'filename="cut_wheel-1.0-py3-none-any.whl"\r\n\r\n'
        )
    before = snapshot(server)
    _cut_off(server, head, 20 << 20)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not unchanged(before, snapshot(server)):
        time.sleep(0.1)
    assert unchanged(before, snapshot(server))
    assert server.spool_count() == 0
