"""Fuzzing what the live server parses from a request: URL paths, search queries and the
multipart bodies of the S3-style upload POST and of PyPI's upload API.

Fixed budget (examples per test, derandomized), real HTTP against the session server. No
answer may be a 5xx, an API error must be JSON with an ``error`` message, nothing may hang,
and a refused multipart body must leave nothing behind in the upload spool.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_repo.demo import builders
from jupyter_repo.repository.services import uploads
from tests.support.http import auth, upload
from tests.support.server import RepoServer

EXAMPLES = 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
SLOW = 10  # seconds: longer than this is a hang

PREFIXES = [
    "/",
    "/api/",
    "/api/package/",
    "/api/dist/",
    "/api/download/",
    "/api/channels/",
    "/api/user/",
    "/api/group/",
    "/conda/",
    "/conda/{owner}/",
    "/conda/{owner}/label/",
    "/conda/t/{token}/{owner}/",
    "/t/{token}/conda/{owner}/",
    "/pypi/{owner}/simple/",
    "/pypi/{owner}/label/",
    "/{owner}/",
    "/account/",
    "/login/",
]
SEGMENT_PARTS = st.sampled_from(
    [
        "..",
        ".",
        "%00",
        "%2e%2e",
        "%2F",
        "%ff",
        "~",
        "-",
        "_",
        "repodata.json",
        "repodata.json.zst",
        "shards",
        "noarch",
        "linux-64",
        "simple",
        "main",
        "label",
        "t",
        "x" * 300,
        "é",
        "\u202e",
        "%",
        "%%",
        "?",
        "#",
        ";",
        "a:b",
        "@",
        "+",
    ]
)
SEGMENT = st.one_of(
    st.lists(SEGMENT_PARTS, min_size=1, max_size=3).map("".join),
    st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=40).map(
        lambda text: quote(text, safe="%.~-_")
    ),
)


@pytest.fixture(scope="module")
def fuzzer(server: RepoServer) -> tuple[str, str]:
    login = server.create_user(f"fz{uuid.uuid4().hex[:8]}")
    token = server.token(login)
    created = upload(server.api, token, login, "fuzzed", "1", "first.csv", b"a,b\n1,2\n")
    assert created.status_code == 201, created.text
    return login, token


def _check(response: requests.Response, started: float) -> None:
    assert time.monotonic() - started < SLOW, "the server took too long (a hang?)"
    request = response.request
    assert response.status_code < 500, (request.method, request.url, response.text[:300])
    path = request.path_url
    if (
        response.status_code >= 400
        and path.startswith("/api/")
        and request.method != "HEAD"
        and not path.startswith("/api/stage-upload/")
    ):
        assert response.headers.get("Content-Type", "").startswith("application/json"), (
            request.method,
            request.url,
            response.status_code,
            response.text[:300],
        )
        assert response.json().get("error"), (request.url, response.text[:300])


@FUZZ
@given(
    prefix=st.sampled_from(PREFIXES),
    segments=st.lists(SEGMENT, max_size=6),
    method=st.sampled_from(["GET", "HEAD", "DELETE", "POST"]),
    with_token=st.booleans(),
    trailing_slash=st.booleans(),
)
def test_url_paths_never_answer_5xx(
    server: RepoServer,
    fuzzer: tuple[str, str],
    prefix: str,
    segments: list[str],
    method: str,
    with_token: bool,
    trailing_slash: bool,
) -> None:
    login, token = fuzzer
    path = prefix.format(owner=login, token=token) + "/".join(segments)
    if trailing_slash:
        path += "/"
    headers = auth(token) if with_token else {}
    started = time.monotonic()
    response = requests.request(
        method, server.url + path, headers=headers, timeout=SLOW * 3, allow_redirects=False
    )
    _check(response, started)


QUERY_VALUE = st.one_of(
    st.text(max_size=300),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e9",
            "nan",
            "conda",
            "pypi",
            "%",
            "_",
            "\\",
            "'",
            '"',
            "*",
            "linux-64",
            "main",
        ]
    ),
)


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["name", "q", "type", "platform", "label", "owner", "page", "per_page"]),
        QUERY_VALUE,
        max_size=5,
    )
)
def test_search_queries_never_answer_5xx(server: RepoServer, query: dict[str, str]) -> None:
    started = time.monotonic()
    response = requests.get(f"{server.api}/search", params=query, timeout=SLOW * 3)
    _check(response, started)
    if response.status_code == 200:
        assert isinstance(response.json(), list)


def _seed_multipart(boundary: bytes) -> bytes:
    return (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="key"\r\n\r\n'
        b"upload.csv\r\n--" + boundary + b"\r\nContent-Disposition: form-data; "
        b'name="file"; filename="upload.csv"\r\nContent-Type: text/csv\r\n\r\n'
        b"a,b\n1,2\n\r\n--" + boundary + b"--\r\n"
    )


MUTATIONS = ("flip", "cut", "insert", "repeat", "big-header")


@st.composite
def mutation_plans(draw: st.DrawFn) -> list[tuple[float, str, Any]]:
    """Up to four edits of a body: where (a fraction of its length), what, with what."""
    plan = []
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(MUTATIONS))
        argument: Any = None
        if action == "flip":
            argument = draw(st.integers(0, 7))
        elif action == "insert":
            argument = draw(st.binary(min_size=1, max_size=40))
        elif action == "repeat":
            argument = draw(st.integers(2, 50))
        plan.append((draw(st.floats(0, 1)), action, argument))
    return plan


def mutate(seed: bytes, plan: list[tuple[float, str, Any]]) -> bytes:
    data = bytearray(seed)
    for where, action, argument in plan:
        position = int(where * len(data))
        if action == "flip" and position < len(data):
            data[position] ^= 1 << argument
        elif action == "cut":
            del data[position:]
        elif action == "insert":
            data[position:position] = argument
        elif action == "repeat":
            data[position:position] = data[position : position + 200] * argument
        elif action == "big-header":  # a part header far longer than any form field may be
            data[position:position] = b"X-Long: " + b"h" * (200 << 10) + b"\r\n"
    return bytes(data)


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    boundary = draw(st.sampled_from([b"xYzZy", b"a" * 70, b"-", b"b\xc3\xa9"]))
    data = mutate(_seed_multipart(boundary), draw(mutation_plans()))
    header = draw(st.sampled_from(CONTENT_TYPES))
    return header.format(b=boundary.decode("utf-8", "replace")), data


CONTENT_TYPES = [
    "multipart/form-data; boundary={b}",
    'multipart/form-data; boundary="{b}"',
    "multipart/form-data",
    "text/plain; boundary={b}",
    "multipart/form-data; boundary=",
]


@FUZZ
@given(body=multipart_bodies())
def test_multipart_upload_bodies_never_answer_5xx(
    server: RepoServer, fuzzer: tuple[str, str], body: tuple[str, bytes]
) -> None:
    login, _token = fuzzer
    content_type, data = body
    row = server.call(
        uploads.stage,
        server.repo,
        server.actor(login),
        login,
        "fuzzed",
        "1",
        f"{uuid.uuid4().hex}.csv",
        uploads.StageRequest("file"),
    )
    started = time.monotonic()
    response = requests.post(
        f"{server.api}/stage-upload/{row.dist_id}",
        data=data,
        headers={"Content-Type": content_type},
        timeout=SLOW * 3,
    )
    _check(response, started)
    deadline = time.monotonic() + 5  # the spool is discarded just after the answer is sent
    while server.spool_count() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.spool_count() == 0, "a refused body left a partial upload behind"
    if response.status_code != 201:
        assert response.status_code in (400, 404, 411, 413), response.text[:300]
        assert "<Error>" in response.text or response.json().get("error")


@pytest.mark.parametrize(
    "data, message",
    [
        (b'--xYzZy!\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n', "malformed"),
        (b"--xYzZy\r\nX-Long: " + b"h" * (100 << 10) + b"\r\n\r\n", "header"),
        (
            b"".join(
                b'--xYzZy\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % index
                for index in range(150)
            )
            + b"--xYzZy--\r\n",
            "too many form fields",
        ),
    ],
    ids=["bad-boundary", "long-part-header", "many-fields"],
)
def test_malformed_multipart_is_a_clear_400(
    server: RepoServer, fuzzer: tuple[str, str], data: bytes, message: str
) -> None:
    """What the fuzzing found: a malformed body was a 500 (python-multipart's parse errors,
    among them its header size limit, were not caught); form fields were not counted."""
    login, _token = fuzzer
    row = server.call(
        uploads.stage,
        server.repo,
        server.actor(login),
        login,
        "fuzzed",
        "1",
        f"{uuid.uuid4().hex}.csv",
        uploads.StageRequest("file"),
    )
    response = requests.post(
        f"{server.api}/stage-upload/{row.dist_id}",
        data=data,
        headers={"Content-Type": "multipart/form-data; boundary=xYzZy"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert message in response.text and "<Error>" in response.text


def _seed_pypi_upload(wheel: Path, boundary: str) -> bytes:
    """PyPI's upload form for ``wheel``, as twine sends it."""
    data = wheel.read_bytes()
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "fuzz-wheel",
        "version": "1.0",
        "filetype": "bdist_wheel",
        "classifiers": "Programming Language :: Python",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
    }
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
        f'filename="{wheel.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts)


@pytest.fixture(scope="module")
def fuzz_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builders.wheel(tmp_path_factory.mktemp("fuzz-wheel"), "fuzz-wheel", "1.0")


@FUZZ
@given(
    plan=mutation_plans(),
    header=st.sampled_from(CONTENT_TYPES),
    boundary=st.sampled_from(["xYzZy", "a" * 70, "-"]),
)
def test_pypi_upload_bodies_never_answer_5xx(
    server: RepoServer,
    fuzzer: tuple[str, str],
    fuzz_wheel: Path,
    plan: list[tuple[float, str, Any]],
    header: str,
    boundary: str,
) -> None:
    """The PyPI upload API's form, mutated: a clear 4xx (or the upload, when the edits left
    it valid), never a 5xx, and no partial upload left behind."""
    login, token = fuzzer
    data = mutate(_seed_pypi_upload(fuzz_wheel, boundary), plan)
    started = time.monotonic()
    response = requests.post(
        f"{server.url}/pypi/{login}/",
        data=data,
        headers={"Content-Type": header.format(b=boundary)},
        auth=("__token__", token),
        timeout=SLOW * 3,
    )
    _check(response, started)
    assert response.status_code in (200, 400, 409, 413), response.text[:300]
    if response.status_code != 200:
        assert response.json()["message"], response.text[:300]
    deadline = time.monotonic() + 5  # the spool is discarded just after the answer is sent
    while server.spool_count() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.spool_count() == 0, "a refused body left a partial upload behind"
