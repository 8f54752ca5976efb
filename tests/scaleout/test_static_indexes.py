"""Public conda indexes served by nginx itself from ``c.Repository.static_index_dir``.

Through the real layout (nginx with docs/deploy.md's blocks, two server processes,
PostgreSQL, S3): anonymous repodata comes from nginx (even with both processes stopped),
with ETags and 304s; every request with credentials, and every index anonymous callers may
not see, goes to Python; a change is visible through nginx as soon as its request returns.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_repo.repository.services import packages
from tests.support import publish
from tests.support.server import RepoServer

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # Python < 3.14
    from backports import zstd  # type: ignore[no-redef]

STATIC = "X-Served-By"  # added by nginx's static location only


@pytest.fixture
def scaled(server: RepoServer, tier: str) -> RepoServer:
    if tier != "scaleout":
        pytest.skip("needs the scaled-out tier (--tier=scaleout)")
    return server


def _get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=30)


def _files(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return set(response.json()["packages.conda"])


def _served_statically(
    url: str, check: Callable[[requests.Response], bool] = lambda _r: True, timeout: float = 20
) -> requests.Response:
    """The document once nginx serves it from the folder (the writer runs after commits)."""
    deadline = time.monotonic() + timeout
    while True:
        response = _get(url)
        if response.headers.get(STATIC) == "static-index" and check(response):
            return response
        assert time.monotonic() < deadline, f"nginx never served {url} from the folder"
        time.sleep(0.1)


@contextlib.contextmanager
def _processes_stopped(scaled: RepoServer) -> Iterator[None]:
    """Both server processes frozen (SIGSTOP): whatever answers now is nginx alone."""
    pids = [p.process.pid for p in scaled.processes if p.process]  # type: ignore[attr-defined]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def _static_dir(scaled: RepoServer) -> Path:
    folder = scaled.static_indexes  # type: ignore[attr-defined]
    assert folder is not None
    return Path(folder)


def test_public_repodata_is_served_by_nginx_with_etag_and_304(
    scaled: RepoServer, samples: Path
) -> None:
    owner = scaled.create_user(f"st{uuid.uuid4().hex[:8]}")
    token = scaled.token(owner)
    path = publish.conda(scaled, token, owner, samples, "static-tool", "1.0")
    base = f"{scaled.url}/conda/{owner}/noarch"
    _served_statically(f"{base}/repodata.json", lambda r: path.name in _files(r))
    plain = {"Accept-Encoding": "identity"}
    first = _get(f"{base}/repodata.json", **plain)
    etag = first.headers["ETag"]
    assert first.headers[STATIC] == "static-index" and "Content-Encoding" not in first.headers
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Cache-Control"] == "public, max-age=30"
    assert first.headers["Last-Modified"]
    assert (_static_dir(scaled) / "conda" / owner / "noarch" / "repodata.json").is_file()
    with _processes_stopped(scaled):
        again = _get(f"{base}/repodata.json", **plain, **{"If-None-Match": etag})
        assert again.status_code == 304 and again.headers[STATIC] == "static-index"
        assert again.headers["ETag"] == etag
        whole = _get(f"{base}/repodata.json", **plain)
        assert whole.status_code == 200 and whole.content == first.content
        gzipped = _get(f"{base}/repodata.json", **{"Accept-Encoding": "gzip"})
        assert gzipped.headers["Content-Encoding"] == "gzip"  # requests decodes it
        assert gzipped.content == first.content and gzipped.headers["ETag"] != etag
        assert "Accept-Encoding" in gzipped.headers["Vary"]
        gzip_etag = {"Accept-Encoding": "gzip", "If-None-Match": gzipped.headers["ETag"]}
        assert _get(f"{base}/repodata.json", **gzip_etag).status_code == 304
        zst = _get(f"{base}/repodata.json.zst")
        assert zst.headers["Content-Type"] == "application/octet-stream"
        assert json.loads(zstd.decompress(zst.content)) == first.json()
        for document in ("repodata_shards.msgpack.zst", "run_exports.json"):
            assert _get(f"{base}/{document}").headers[STATIC] == "static-index"
    # The files are the processes' own documents, byte for byte.
    process = scaled.processes[0]  # type: ignore[attr-defined]
    direct = _get(f"{process.url}/conda/{owner}/noarch/repodata.json", **plain)
    assert direct.content == first.content and STATIC not in direct.headers


@pytest.fixture
def secrets(scaled: RepoServer, tmp_path: Path) -> dict[str, Any]:
    """A namespace with a public package, a private package on ``main`` and a label that
    only a private package uses; nginx already serves its public ``main``."""
    owner = scaled.create_user(f"sa{uuid.uuid4().hex[:8]}")
    token = scaled.token(owner)
    public = publish.conda(scaled, token, owner, tmp_path, "open-tool", "1.0")
    secret = publish.conda(scaled, token, owner, tmp_path, "secret-tool", "1.0", private=True)
    hidden = publish.conda(
        scaled, token, owner, tmp_path, "hidden-tool", "1.0", labels=("hidden",), private=True
    )
    main = f"{scaled.url}/conda/{owner}/noarch/repodata.json"
    _served_statically(main, lambda r: _files(r) == {public.name})
    return {
        "owner": owner,
        "token": token,
        "public": public.name,
        "secret": secret.name,
        "hidden": hidden.name,
    }


CREDENTIALS = {
    "authorization-token": lambda url, token: (url, {"Authorization": f"token {token}"}),
    "authorization-bearer": lambda url, token: (url, {"Authorization": f"Bearer {token}"}),
    "x-api-key": lambda url, token: (url, {"X-API-Key": token}),
    "path-token-root": lambda url, token: (url.replace("/conda/", f"/t/{token}/conda/"), {}),
    "path-token-conda": lambda url, token: (url.replace("/conda/", f"/conda/t/{token}/"), {}),
}


@pytest.mark.parametrize("style", sorted(CREDENTIALS))
@pytest.mark.parametrize("document", ["repodata.json", "repodata.json.zst"])
def test_finding_static_index_a_token_never_gets_the_public_file(
    scaled: RepoServer, secrets: dict[str, Any], style: str, document: str
) -> None:
    """THE ATTACK on the static folder: a caller with credentials asking, through nginx, for
    a channel whose public view is a file gets the private view from Python, never the
    file; also when its If-None-Match names the public file's ETag."""
    owner, token = secrets["owner"], secrets["token"]
    public_url = f"{scaled.url}/conda/{owner}/noarch/{document}"
    public = _get(public_url)
    assert public.headers[STATIC] == "static-index"
    url, headers = CREDENTIALS[style](public_url, token)
    for extra in ({}, {"If-None-Match": public.headers["ETag"]}):
        response = requests.get(url, headers={**headers, **extra}, timeout=30)
        assert response.status_code == 200, response.text
        assert STATIC not in response.headers
        assert response.headers["Cache-Control"].startswith("private")
        body = response.content
        if document.endswith(".zst"):
            body = zstd.decompress(body)
        names = set(json.loads(body)["packages.conda"])
        assert names == {secrets["public"], secrets["secret"]}


@pytest.mark.parametrize("style", sorted(CREDENTIALS))
def test_finding_static_index_a_private_label_is_python_s_alone(
    scaled: RepoServer, secrets: dict[str, Any], style: str
) -> None:
    """A label only private packages use: no file, so anonymous callers get Python's 404
    (as for a missing label) and the owner's token gets the label from Python."""
    owner, token = secrets["owner"], secrets["token"]
    hidden = f"{scaled.url}/conda/{owner}/label/hidden/noarch/repodata.json"
    missing = f"{scaled.url}/conda/{owner}/label/nolabelhere/noarch/repodata.json"
    anonymous, absent = _get(hidden), _get(missing)
    assert anonymous.status_code == absent.status_code == 404
    assert anonymous.json()["error"].replace("hidden", "X") == absent.json()["error"].replace(
        "nolabelhere", "X"
    )
    assert STATIC not in anonymous.headers
    label_folder = _static_dir(scaled) / "conda" / owner / "label"
    # At most the lock and state files of withdrawals; never a document.
    assert not [p for p in label_folder.rglob("*") if p.is_file() and p.name[0] != "."]
    url, headers = CREDENTIALS[style](hidden, token)
    response = requests.get(url, headers=headers, timeout=30)
    assert STATIC not in response.headers
    assert _files(response) == {secrets["hidden"]}


def test_finding_static_index_anonymous_never_sees_private_files(
    scaled: RepoServer, secrets: dict[str, Any]
) -> None:
    owner = secrets["owner"]
    base = f"{scaled.url}/conda/{owner}/noarch"
    served = _get(f"{base}/repodata.json")
    assert served.headers[STATIC] == "static-index"
    assert _files(served) == {secrets["public"]}
    folder = _static_dir(scaled) / "conda" / owner
    every_byte = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert b"secret-tool" not in every_byte and b"hidden-tool" not in every_byte


def test_changes_show_through_nginx_as_soon_as_their_request_returns(
    scaled: RepoServer, tmp_path: Path
) -> None:
    """Publish through process A, then make private, delete, yank, relabel: each change is
    what nginx answers the moment its request returned, and the file catches up."""
    first = scaled.processes[0]  # type: ignore[attr-defined]
    owner = scaled.create_user(f"sc{uuid.uuid4().hex[:8]}")
    token = scaled.token(owner)
    api = first.session(token)
    main = f"{scaled.url}/conda/{owner}/noarch/repodata.json"
    one = publish.conda(first, token, owner, tmp_path, "moving", "1.0")
    assert _files(_get(main)) == {one.name}
    _served_statically(main, lambda r: _files(r) == {one.name})
    two = publish.conda(first, token, owner, tmp_path, "moving", "1.1")
    assert _files(_get(main)) == {one.name, two.name}  # at once: the file was withdrawn
    _served_statically(main, lambda r: _files(r) == {one.name, two.name})

    hidden = api.patch(f"{first.api}/package/{owner}/moving", json={"public": False})
    assert hidden.status_code == 200, hidden.text
    assert _files(_get(main)) == set()
    _served_statically(main, lambda r: _files(r) == set())

    shown = api.patch(f"{first.api}/package/{owner}/moving", json={"public": True})
    assert shown.status_code == 200, shown.text
    _served_statically(main, lambda r: _files(r) == {one.name, two.name})
    removed = api.delete(f"{first.api}/dist/{owner}/moving/1.1/noarch/{two.name}")
    assert removed.status_code == 200, removed.text
    assert _files(_get(main)) == {one.name}
    _served_statically(main, lambda r: _files(r) == {one.name})

    yanked = api.put(f"{first.api}/yank/{owner}/moving/1.0", json={"reason": "broken"})
    assert yanked.status_code == 200, yanked.text
    response = _get(main)
    assert _files(response) == set() and one.name in response.json()["removed"]
    _served_statically(main, lambda r: one.name in r.json()["removed"])


def test_a_label_that_turns_private_loses_every_subdir_file(
    scaled: RepoServer, tmp_path: Path
) -> None:
    """A label's visibility depends on all its subdirs: when its last public package turns
    private, a subdir the change did not touch is withdrawn too (404 like a missing label)."""
    owner = scaled.create_user(f"sl{uuid.uuid4().hex[:8]}")
    token = scaled.token(owner)
    api = scaled.session(token)
    publish.conda(scaled, token, owner, tmp_path, "beta-lib", "1.0", labels=("beta",))
    publish.conda(
        scaled,
        token,
        owner,
        tmp_path,
        "beta-other",
        "1.0",
        labels=("beta",),
        subdir="linux-64",
        build="h0_0",
        private=True,
    )
    beta = f"{scaled.url}/conda/{owner}/label/beta"
    _served_statically(f"{beta}/noarch/repodata.json")
    linux = _served_statically(f"{beta}/linux-64/repodata.json")
    assert _files(linux) == set()  # the label shows something, this subdir nothing public
    hidden = api.patch(f"{scaled.api}/package/{owner}/beta-lib", json={"public": False})
    assert hidden.status_code == 200, hidden.text
    for subdir in ("noarch", "linux-64"):
        response = _get(f"{beta}/{subdir}/repodata.json")
        assert response.status_code == 404 and STATIC not in response.headers
        assert (
            not (_static_dir(scaled) / "conda" / owner / "label" / "beta" / subdir)
            .joinpath("repodata.json")
            .exists()
        )


@pytest.mark.parametrize(
    "path",
    [
        "/conda/../outside/noarch/repodata.json",
        "/conda/%2e%2e/outside/noarch/repodata.json",
        "/conda/%2E%2E%2Foutside/noarch/repodata.json",
        "/conda/x/label/..%2F..%2F..%2Foutside/noarch/repodata.json",
        "/conda/..%2f..%2foutside/noarch/repodata.json",
        "/conda/x/..%5c..%5coutside/noarch/repodata.json",
        "/conda//outside/noarch/repodata.json",
    ],
)
def test_finding_static_index_names_cannot_leave_the_folder(scaled: RepoServer, path: str) -> None:
    """A canary next to the static folder is never what nginx answers."""
    canary = _static_dir(scaled).parent / "outside" / "noarch"
    canary.mkdir(parents=True, exist_ok=True)
    (canary / "repodata.json").write_text('{"canary": true}')
    conda_canary = _static_dir(scaled) / "outside" / "noarch"  # above conda/: not an index
    conda_canary.mkdir(parents=True, exist_ok=True)
    (conda_canary / "repodata.json").write_text('{"canary": true}')
    response = requests.get(scaled.url + path, timeout=30)
    assert b"canary" not in response.content
    assert response.status_code in (400, 404)


def test_a_commit_by_another_program_withdraws_and_the_sweep_rewrites(
    scaled: RepoServer, tmp_path: Path
) -> None:
    """A commit through the test's own Repository (like `jupyter repo admin ...`, with the
    same configuration) has no writer: it withdraws the files before committing, and the
    processes' sweep writes them again."""
    owner = scaled.create_user(f"sw{uuid.uuid4().hex[:8]}")
    token = scaled.token(owner)
    one = publish.conda(scaled, token, owner, tmp_path, "swept", "1.0")
    kept = publish.conda(scaled, token, owner, tmp_path, "kept", "1.0")
    main = f"{scaled.url}/conda/{owner}/noarch/repodata.json"
    _served_statically(main, lambda r: _files(r) == {one.name, kept.name})
    scaled.call(packages.set_visibility, scaled.actor(owner), owner, "swept", False)
    response = _get(main)
    assert _files(response) == {kept.name} and STATIC not in response.headers
    _served_statically(main, lambda r: _files(r) == {kept.name})


def test_a_stale_file_is_removed_by_the_sweep(scaled: RepoServer, tmp_path: Path) -> None:
    """A file the database does not back (left by a process that lacked the setting, or
    planted) is withdrawn by the next sweep, then the real document written."""
    owner = scaled.create_user(f"sf{uuid.uuid4().hex[:8]}")
    token = scaled.token(owner)
    one = publish.conda(scaled, token, owner, tmp_path, "real", "1.0")
    main = f"{scaled.url}/conda/{owner}/noarch/repodata.json"
    _served_statically(main, lambda r: _files(r) == {one.name})
    folder = _static_dir(scaled) / "conda" / owner / "noarch"
    (folder / ".state").write_text('{"revision": 999999, "mtime": 1}')
    for name in ("repodata.json", "repodata.json.gz"):
        (folder / name).unlink()
    (folder / "repodata.json").write_text('{"packages.conda": {"planted": {}}}')
    _served_statically(main, lambda r: _files(r) == {one.name}, timeout=30)
