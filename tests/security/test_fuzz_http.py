"""Fuzzing what the live server parses from a request: URL paths, search queries and the
multipart body of the S3-style upload POST.

Fixed budget (examples per test, derandomized), real HTTP against the session server. No
answer may be a 5xx, an API error must be JSON with an ``error`` message, nothing may hang,
and a refused multipart body must leave nothing behind in the upload spool.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_repo.repository.services import uploads
from tests.support.fuzzing import budget
from tests.support.http import auth, upload
from tests.support.server import RepoServer

EXAMPLES = 200
FUZZ = settings(
    max_examples=budget(EXAMPLES),
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


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    boundary = draw(st.sampled_from([b"xYzZy", b"a" * 70, b"-", b"b\xc3\xa9"]))
    data = bytearray(_seed_multipart(boundary))
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "big-header"]))
        if action == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=40))
        elif action == "repeat":
            data[position:position] = data[position : position + 200] * draw(st.integers(2, 50))
        else:  # a part header far longer than any form field may be
            data[position:position] = b"X-Long: " + b"h" * (200 << 10) + b"\r\n"
    header = draw(
        st.sampled_from(
            [
                "multipart/form-data; boundary={b}",
                'multipart/form-data; boundary="{b}"',
                "multipart/form-data",
                "text/plain; boundary={b}",
                "multipart/form-data; boundary=",
            ]
        )
    )
    return header.format(b=boundary.decode("utf-8", "replace")), bytes(data)


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
