"""PyPI's upload API refuses, through real HTTP: malformed forms (a clear 4xx each) and
uploads beyond the caller's rights. After every refusal nothing stored has changed: the
index pages are byte for byte what they were, and no partial upload is left behind."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.server import PASSWORD, RepoServer, running_server

JSON = "application/vnd.pypi.simple.v1+json"
Form = list[tuple[str, Any]]


@dataclass
class Namespace:
    server: RepoServer
    owner: str
    token: str
    wheel: Path  # refused-thing 1.0, never stored by these tests
    stored: Path  # kept-thing 1.0, stored once

    @property
    def upload_url(self) -> str:
        return f"{self.server.url}/pypi/{self.owner}/"

    def snapshot(self) -> list[bytes]:
        """What the owner's indexes show (main and the label "beta"), to compare."""
        pages = []
        for index in ("", "label/beta/"):
            base = f"{self.server.url}/pypi/{self.owner}/{index}simple/"
            for page in ("", "refused-thing/", "kept-thing/"):
                response = requests.get(
                    base + page,
                    headers={"Accept": JSON, "Authorization": f"token {self.token}"},
                    timeout=30,
                )
                pages.append(b"%d " % response.status_code + response.content)
        return pages


def form_for(path: Path, name: str | None = None, version: str = "1.0") -> Form:
    """The fields twine sends for ``path`` (the file last, as every client sends it)."""
    data = path.read_bytes()
    return [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", name or path.name.split("-")[0].replace("_", "-")),
        ("version", version),
        ("filetype", "bdist_wheel" if path.name.endswith(".whl") else "sdist"),
        ("pyversion", "py3"),
        ("metadata_version", "2.1"),
        ("summary", "a summary"),
        ("classifiers", "Programming Language :: Python"),
        ("classifiers", "License :: OSI Approved"),
        ("md5_digest", hashlib.md5(data).hexdigest()),
        ("sha256_digest", hashlib.sha256(data).hexdigest()),
        ("blake2_256_digest", hashlib.blake2b(data, digest_size=32).hexdigest()),
        ("content", (path.name, data, "application/octet-stream")),
    ]


def post(url: str, form: Form, auth: tuple[str, str] | None, **kwargs: Any) -> requests.Response:
    """The form as ``multipart/form-data`` (also without a file part), in its order."""
    parts = [(key, value if isinstance(value, tuple) else (None, value)) for key, value in form]
    return requests.post(url, files=parts, auth=auth, timeout=60, **kwargs)


def no_partial_upload_left(server: RepoServer) -> bool:
    deadline = time.monotonic() + 5  # the spool is discarded just after the answer
    while server.spool_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.spool_count() == 0


@pytest.fixture(scope="module")
def namespace(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Namespace:
    owner = server.create_user(f"ref{uuid.uuid4().hex[:8]}")
    token = server.token(owner, ["upload"])
    work = tmp_path_factory.mktemp("refusals")
    stored = builders.wheel(work / "kept", "kept-thing", "1.0")
    created = post(f"{server.url}/pypi/{owner}/", form_for(stored), ("__token__", token))
    assert created.status_code == 200, created.text
    assert created.json()["created"] is True
    return Namespace(server, owner, token, builders.wheel(work, "refused-thing", "1.0"), stored)


def _replace(form: Form, key: str, value: Any) -> Form:
    return [(k, value if k == key else v) for k, v in form]


def _without(form: Form, key: str) -> Form:
    return [(k, v) for k, v in form if k != key]


def _content(form: Form, filename: str, data: bytes | None = None) -> Form:
    old = dict(form)["content"]
    return _replace(form, "content", (filename, old[1] if data is None else data, old[2]))


def _other_project_wheel(form: Form, ns: Namespace) -> Form:
    """A wheel of another project renamed to look like refused-thing (its METADATA says
    otherwise)."""
    other = builders.wheel(ns.wheel.parent / "impostor", "impostor", "1.0")
    return _content(form, ns.wheel.name, other.read_bytes())


MALFORMED: list[tuple[str, Callable[[Form, Namespace], Form], int, str]] = [
    ("no-content", lambda f, ns: _without(f, "content"), 400, "no 'content' part"),
    ("no-action", lambda f, ns: _without(f, ":action"), 400, "no ':action'"),
    ("wrong-action", lambda f, ns: _replace(f, ":action", "submit"), 400, "Unsupported ':action'"),
    ("protocol-2", lambda f, ns: _replace(f, "protocol_version", "2"), 400, "protocol_version"),
    ("no-name", lambda f, ns: _without(f, "name"), 400, "'name' and 'version'"),
    (
        "name-mismatch",
        lambda f, ns: _replace(f, "name", "kept-thing"),
        400,
        "is not of the project",
    ),
    ("version-mismatch", lambda f, ns: _replace(f, "version", "2.0"), 400, "is not version"),
    ("sha256-mismatch", lambda f, ns: _replace(f, "sha256_digest", "0" * 64), 400, "sha256_digest"),
    ("md5-mismatch", lambda f, ns: _replace(f, "md5_digest", "0" * 32), 400, "md5_digest"),
    (
        "blake2-mismatch",
        lambda f, ns: _replace(f, "blake2_256_digest", "0" * 64),
        400,
        "blake2_256_digest",
    ),
    ("digest-not-hex", lambda f, ns: _replace(f, "sha256_digest", "zz" * 32), 400, "hexadecimal"),
    ("text-file", lambda f, ns: _content(f, "notes.txt"), 400, "not a Python distribution"),
    ("egg", lambda f, ns: _content(f, "refused_thing-1.0-py3.11.egg"), 400, "not a Python"),
    ("filetype", lambda f, ns: _replace(f, "filetype", "sdist"), 400, "does not match"),
    ("traversal", lambda f, ns: _content(f, "../refused_thing-1.0-py3-none-any.whl"), 400, ""),
    (
        "not-a-zip",
        lambda f, ns: _without(
            _without(
                _without(_content(f, ns.wheel.name, b"not a zip"), "md5_digest"), "sha256_digest"
            ),
            "blake2_256_digest",
        ),
        400,
        "not a valid wheel",
    ),
    (
        "metadata-of-another-project",
        lambda f, ns: _without(
            _without(_without(_other_project_wheel(f, ns), "md5_digest"), "sha256_digest"),
            "blake2_256_digest",
        ),
        400,
        "does not match its metadata",
    ),
    (
        "two-content-parts",
        lambda f, ns: [*f, ("content", dict(f)["content"])],
        400,
        "more than one",
    ),
    (
        "metadata-over-the-limit",
        lambda f, ns: [("description", "x" * (5 << 20)), *f],
        413,
        "limit",
    ),
]


@pytest.mark.parametrize(
    "make, status, message",
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_a_malformed_upload_is_a_clear_4xx_and_changes_nothing(
    namespace: Namespace, make: Callable[[Form, Namespace], Form], status: int, message: str
) -> None:
    before = namespace.snapshot()
    form = make(form_for(namespace.wheel), namespace)
    response = post(namespace.upload_url, form, ("__token__", namespace.token))
    assert response.status_code == status, response.text
    body = response.json()
    assert message in body["message"]
    assert body["code"].startswith(str(status))
    assert response.reason == body["title"]  # twine shows only the status line
    assert namespace.snapshot() == before
    assert no_partial_upload_left(namespace.server)


def test_a_body_that_is_not_a_form_is_a_400(namespace: Namespace) -> None:
    before = namespace.snapshot()
    response = requests.post(
        namespace.upload_url,
        data=b'{"name": "refused-thing"}',
        headers={"Content-Type": "application/json"},
        auth=("__token__", namespace.token),
        timeout=30,
    )
    assert response.status_code == 400 and "multipart/form-data" in response.json()["message"]
    assert namespace.snapshot() == before


def test_another_spelling_of_an_existing_file_is_file_already_exists(
    namespace: Namespace, tmp_path: Path
) -> None:
    """One project per normalised name: Kept_Thing 1.0 is kept-thing 1.0's wheel."""
    before = namespace.snapshot()
    respelled = builders.wheel(tmp_path, "Kept_Thing", "1.0", summary="other bytes")
    response = post(
        namespace.upload_url, form_for(respelled, "Kept_Thing"), ("__token__", namespace.token)
    )
    assert response.status_code == 409
    assert response.json()["message"].startswith("File already exists ('kept_thing-1.0")
    assert namespace.snapshot() == before


def test_a_file_over_the_size_limit_is_413_and_not_stored(tmp_path: Path) -> None:
    with running_server(tmp_path / "small", config={"Repository.max_upload_size": 50_000}) as small:
        owner = small.create_user("smallowner")
        token = small.token(owner, ["upload"])
        big = builders.wheel(
            tmp_path / "big",
            "big-thing",
            "1.0",
            module_source=f"DATA = {os.urandom(100_000).hex()!r}\n",  # incompressible
        )
        assert big.stat().st_size > 50_000
        response = post(f"{small.url}/pypi/{owner}/", form_for(big), ("__token__", token))
        assert response.status_code == 413, response.text
        assert "limit" in response.json()["message"]
        listing = requests.get(f"{small.url}/pypi/{owner}/simple/big-thing/", timeout=30)
        assert listing.status_code == 404
        assert no_partial_upload_left(small)


# -- uploads beyond the caller's rights -------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    path: str  # after the server's URL
    auth: tuple[str, str] | None
    status: int
    message: str
    #: Also try the project that exists (not for a token limited to that very project).
    existing_too: bool = True


def _attempts(ns: Namespace, server: RepoServer) -> dict[str, Attempt]:
    owner = ns.owner
    mallory = server.create_user(f"mal{uuid.uuid4().hex[:8]}")
    mallory_token = server.token(mallory, ["upload"])
    read_only = server.token(owner, ["pypi:download"])
    kept_only = server.token(owner, ["upload"], package=f"{owner}/kept-thing")
    beta_only = server.token(owner, ["upload"], label="beta")
    return {
        "anonymous": Attempt(f"/pypi/{owner}/", None, 401, "Authentication required"),
        "wrong-password": Attempt(f"/pypi/{owner}/", (owner, "not-the-password"), 401, ""),
        "bad-token": Attempt(f"/pypi/{owner}/", ("__token__", "jr-" + "x" * 40), 401, ""),
        "read-only-token": Attempt(
            f"/pypi/{owner}/", ("__token__", read_only), 403, "do not allow uploads"
        ),
        "read-only-token-in-the-path": Attempt(
            f"/pypi/t/{read_only}/{owner}/", None, 403, "do not allow uploads"
        ),
        "another-users-token": Attempt(
            f"/pypi/{owner}/", ("__token__", mallory_token), 403, "write access"
        ),
        "another-users-password": Attempt(f"/pypi/{owner}/", (mallory, PASSWORD), 403, ""),
        "another-users-token-in-the-path": Attempt(
            f"/t/{mallory_token}/pypi/{owner}/label/beta/", None, 403, ""
        ),
        "token-limited-to-another-package": Attempt(
            f"/pypi/{owner}/", ("__token__", kept_only), 403, "", existing_too=False
        ),
        "label-token-onto-main": Attempt(
            f"/pypi/{owner}/", ("__token__", beta_only), 403, "limited to the label 'beta'"
        ),
        "label-token-onto-another-label": Attempt(
            f"/pypi/{owner}/label/gamma/", ("__token__", beta_only), 403, "'beta'"
        ),
    }


ATTACKS = [
    "anonymous",
    "wrong-password",
    "bad-token",
    "read-only-token",
    "read-only-token-in-the-path",
    "another-users-token",
    "another-users-password",
    "another-users-token-in-the-path",
    "token-limited-to-another-package",
    "label-token-onto-main",
    "label-token-onto-another-label",
]


@pytest.fixture(scope="module")
def attempts(namespace: Namespace, server: RepoServer) -> dict[str, Attempt]:
    return _attempts(namespace, server)


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_upload_beyond_the_callers_rights_is_refused_and_changes_nothing(
    namespace: Namespace, attempts: dict[str, Attempt], attack: str
) -> None:
    attempt = attempts[attack]
    before = namespace.snapshot()
    wheels = [namespace.wheel, namespace.stored] if attempt.existing_too else [namespace.wheel]
    for form in map(form_for, wheels):
        response = post(namespace.server.url + attempt.path, form, attempt.auth)
        assert response.status_code == attempt.status, response.text
        assert attempt.message in response.json()["message"]
        if attempt.status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert namespace.snapshot() == before
    assert no_partial_upload_left(namespace.server)


def test_a_label_token_uploads_onto_its_own_label(namespace: Namespace) -> None:
    """The positive control of the label attacks: the same token, the label it is for."""
    token = namespace.server.token(namespace.owner, ["upload"], label="beta")
    wheel = builders.wheel(namespace.wheel.parent / "beta", "beta-own", "1.0")
    response = post(
        f"{namespace.server.url}/pypi/{namespace.owner}/label/beta/",
        form_for(wheel),
        ("__token__", token),
    )
    assert response.status_code == 200, response.text
    assert response.json()["label"] == "beta"
    beta = requests.get(
        f"{namespace.server.url}/pypi/{namespace.owner}/label/beta/simple/beta-own/", timeout=30
    )
    assert wheel.name in beta.text
    main = requests.get(
        f"{namespace.server.url}/pypi/{namespace.owner}/simple/beta-own/", timeout=30
    )
    assert main.status_code == 404


def test_the_upload_url_answers_other_methods_with_405(namespace: Namespace) -> None:
    response = requests.get(namespace.upload_url, timeout=30)
    assert response.status_code == 405 and "simple/" in response.json()["message"]


def test_fields_sent_after_the_file_count_too(namespace: Namespace, tmp_path: Path) -> None:
    """The early check (when the file part starts) refuses only what the whole form would:
    a client that sends ':action' and a digest after the file is served, and the digest is
    checked."""
    wheel = builders.wheel(tmp_path, "late-fields", "1.0")
    form = form_for(wheel)
    late = [(key, value) for key, value in form if key in (":action", "sha256_digest")]
    reordered = [(key, value) for key, value in form if (key, value) not in late] + late
    response = post(namespace.upload_url, reordered, ("__token__", namespace.token))
    assert response.status_code == 200, response.text
    wrong = _replace(reordered, "sha256_digest", "0" * 64)  # checked although sent last
    response = post(namespace.upload_url, wrong, ("__token__", namespace.token))
    assert response.status_code == 400 and "sha256_digest" in response.json()["message"]


@pytest.mark.parametrize(
    "page", ["simple/", "simple/kept-thing/", "label/beta/simple/", "simple/refused-thing/"]
)
def test_an_upload_aimed_at_the_simple_index_says_where_uploads_go(
    namespace: Namespace, page: str
) -> None:
    """``--repository-url …/simple/`` is a common slip: a 405 whose status line (all twine
    prints) names the index root, and nothing stored."""
    before = namespace.snapshot()
    response = post(
        f"{namespace.server.url}/pypi/{namespace.owner}/{page}",
        form_for(namespace.wheel),
        ("__token__", namespace.token),
    )
    assert response.status_code == 405
    assert response.reason == "Upload to the index root, not to simple/"
    assert "Upload (POST) to the index root" in response.json()["error"]
    assert response.headers["Allow"] == "GET, HEAD"
    assert namespace.snapshot() == before
    assert no_partial_upload_left(namespace.server)
