"""Yanking (PEP 592) through the API, seen by real installers: pip, uv and py-rattler."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import msgpack
import pytest
import requests

from tests.support import processes, publish
from tests.support.rattler_client import run_rattler
from tests.support.server import RepoServer

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[no-redef]

BIN = Path(sys.executable).parent
JSON = "application/vnd.pypi.simple.v1+json"
REASON = "broken build: use 1.0"


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return processes.run(command, capture_output=True, text=True, timeout=300, env=env)


def _yank(
    server: RepoServer,
    token: str | None,
    path: str,
    *,
    undo: bool = False,
    body: object = None,
) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    method = "DELETE" if undo else "PUT"
    return requests.request(
        method, f"{server.api}/yank/{path}", json=body, headers=headers, timeout=30
    )


# -- PyPI: pip and uv ----------------------------------------------------------------------------


@dataclass
class Project:
    owner: str
    token: str
    index: str  # .../pypi/<owner>/simple
    wheels: dict[str, Path]


@pytest.fixture
def project(server: RepoServer, tmp_path: Path) -> Project:
    owner = server.create_user(f"yk{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    wheels = {
        version: publish.wheel(server, token, owner, tmp_path / "wheels", "yk-lib", version)
        for version in ("1.0", "2.0")
    }
    return Project(owner, token, f"{server.url}/pypi/{owner}/simple", wheels)


def _installer(tool: str, venv: Path) -> tuple[list[str], Path]:
    """The install command of ``tool`` aimed at a new environment ``venv``, and its python."""
    if tool == "pip":
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).check_returncode()
        python = venv / "bin" / "python"
        return [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-cache-dir",
            "--no-input",
        ], python
    uv = str(BIN / "uv")
    _run([uv, "venv", "--python", sys.executable, str(venv)]).check_returncode()
    python = venv / "bin" / "python"
    return [uv, "pip", "install", "--python", str(python), "--no-cache"], python


def _installed_version(tool: str, venv: Path, index: str, spec: str) -> tuple[str, str]:
    """Install ``spec`` into a fresh environment; the version it got and the tool's output."""
    command, python = _installer(tool, venv)
    result = _run([*command, "--index-url", index, spec])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    shown = _run([str(python), "-c", "import yk_lib; print(yk_lib.__version__)"])
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip(), output


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_installers_skip_a_yanked_version_unless_pinned_exactly(
    server: RepoServer, project: Project, tmp_path: Path, tool: str
) -> None:
    version, _ = _installed_version(tool, tmp_path / "before", project.index, "yk-lib")
    assert version == "2.0"
    yanked = _yank(server, project.token, f"{project.owner}/yk-lib/2.0", body={"reason": REASON})
    assert yanked.status_code == 200, yanked.text
    assert yanked.json() == {
        "owner": project.owner,
        "package": "yk-lib",
        "version": "2.0",
        "yanked": True,
        "reason": REASON,
        "files": [project.wheels["2.0"].name],
    }

    # Unpinned: the newest version that is not yanked.
    version, _ = _installed_version(tool, tmp_path / "free", project.index, "yk-lib")
    assert version == "1.0"
    # Pinned exactly: the yanked version, and the installer passes the reason on.
    version, output = _installed_version(tool, tmp_path / "pinned", project.index, "yk-lib==2.0")
    assert version == "2.0"
    assert REASON in output  # the tool's own yanked-version warning

    restored = _yank(server, project.token, f"{project.owner}/yk-lib/2.0", undo=True)
    assert restored.status_code == 200 and restored.json()["yanked"] is False
    version, output = _installed_version(tool, tmp_path / "after", project.index, "yk-lib")
    assert version == "2.0" and REASON not in output


def test_simple_pages_mark_yanked_files_with_their_reason(
    server: RepoServer, project: Project
) -> None:
    page = f"{project.index}/yk-lib/"
    wheel = project.wheels["2.0"].name
    # One file by name; a reason with characters HTML must escape.
    reason = 'use "1.0" <now>'
    response = _yank(
        server, project.token, f"{project.owner}/yk-lib/2.0/{wheel}", body={"reason": reason}
    )
    assert response.status_code == 200 and response.json()["files"] == [wheel]

    html = requests.get(page, timeout=30).text
    line = next(line for line in html.splitlines() if f">{wheel}<" in line)
    assert 'data-yanked="use &quot;1.0&quot; &lt;now&gt;"' in line
    other = next(line for line in html.splitlines() if f">{project.wheels['1.0'].name}<" in line)
    assert "data-yanked" not in other
    files = {
        item["filename"]: item
        for item in requests.get(page, headers={"Accept": JSON}, timeout=30).json()["files"]
    }
    assert files[wheel]["yanked"] == reason
    assert files[project.wheels["1.0"].name]["yanked"] is False
    # Warehouse's JSON API: the file is yanked, so is its release (its only file), and
    # "latest" is the newest release that is not.
    json_api = f"{server.url}/pypi/{project.owner}/pypi/yk-lib"
    document = requests.get(f"{json_api}/json", timeout=30).json()
    assert document["info"]["version"] == "1.0" and document["info"]["yanked"] is False
    assert [item["yanked"] for item in document["releases"]["2.0"]] == [True]
    assert document["releases"]["2.0"][0]["yanked_reason"] == reason
    release = requests.get(f"{json_api}/2.0/json", timeout=30).json()
    assert release["info"]["yanked"] is True and release["info"]["yanked_reason"] == reason
    detail = requests.get(f"{server.api}/dist/{project.owner}/yk-lib/2.0/{wheel}", timeout=30)
    assert detail.json()["yanked"] is True and detail.json()["yanked_reason"] == reason

    # Without a reason: an empty attribute (HTML) and ``true`` (JSON), as PEP 592/691 say.
    assert _yank(server, project.token, f"{project.owner}/yk-lib/2.0").status_code == 200
    assert f'data-yanked="">{wheel}<' in requests.get(page, timeout=30).text
    as_json = requests.get(page, headers={"Accept": JSON}, timeout=30).json()
    assert next(item for item in as_json["files"] if item["filename"] == wheel)["yanked"] is True

    # The file itself stays downloadable (a lock file naming it keeps working).
    download = requests.get(f"{page}{wheel}", timeout=30)
    assert download.status_code == 200 and download.content == project.wheels["2.0"].read_bytes()

    assert _yank(server, project.token, f"{project.owner}/yk-lib/2.0", undo=True).status_code == 200
    assert "data-yanked" not in requests.get(page, timeout=30).text


# -- conda: repodata, shards, py-rattler ---------------------------------------------------------


def _repodata(base: str, subdir: str = "noarch", **headers: str) -> dict:
    """``repodata.json``, after checking that ``repodata.json.zst`` says the same."""
    plain = requests.get(f"{base}/{subdir}/repodata.json", headers=headers, timeout=30)
    assert plain.status_code == 200
    packed = requests.get(f"{base}/{subdir}/repodata.json.zst", headers=headers, timeout=30)
    assert packed.status_code == 200 and zstd.decompress(packed.content) == plain.content
    return plain.json()


def _shard(base: str, name: str, subdir: str = "noarch", **headers: str) -> dict | None:
    index = requests.get(
        f"{base}/{subdir}/repodata_shards.msgpack.zst", headers=headers, timeout=30
    )
    assert index.status_code == 200
    digest = msgpack.unpackb(zstd.decompress(index.content))["shards"].get(name)
    if digest is None:
        return None
    shard = requests.get(f"{base}/{subdir}/shards/{digest.hex()}.msgpack.zst", timeout=30)
    assert shard.status_code == 200
    return msgpack.unpackb(zstd.decompress(shard.content))


def test_a_yanked_conda_file_leaves_repodata_and_shards_until_unyanked(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"yc{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    work = tmp_path / "conda"
    old = publish.conda(server, token, owner, work, "yk-tool", "1.0", labels=("main", "dev"))
    new = publish.conda(server, token, owner, work, "yk-tool", "1.1", labels=("main", "dev"))
    main = f"{server.url}/conda/{owner}"
    dev = f"{main}/label/dev"

    def solve(tag: str, *specs: str) -> list[dict]:
        """py-rattler, with a cache of its own, from shards and from repodata.json.zst."""
        cases = [
            {"channels": [main], "specs": list(specs), "prefix": str(tmp_path / f"{tag}-{mode}")}
            | {"sharded": mode == "shards"}
            for mode in ("shards", "monolithic")
        ]
        return run_rattler(cases, tmp_path / f"cache-{tag}")

    assert [result["installed"] for result in solve("before", "yk-tool")] == [
        {"yk-tool": "1.1"}
    ] * 2

    response = _yank(server, token, f"{owner}/yk-tool/1.1/noarch/{new.name}", body={"reason": "x"})
    assert response.status_code == 200, response.text
    assert response.json()["files"] == [f"noarch/{new.name}"]

    for base in (main, dev):  # every label holding the file
        repodata = _repodata(base)
        assert set(repodata["packages.conda"]) == {old.name}
        assert repodata["removed"] == [new.name]
        shard = _shard(base, "yk-tool")
        assert shard is not None
        assert set(shard["packages.conda"]) == {old.name} and shard["removed"] == [new.name]
        exports = requests.get(f"{base}/noarch/run_exports.json", timeout=30).json()
        assert set(exports["packages.conda"]) == {old.name}
    channeldata = requests.get(f"{main}/channeldata.json", timeout=30).json()
    assert channeldata["packages"]["yk-tool"]["version"] == "1.0"

    # py-rattler no longer sees it: the older build unpinned, nothing when pinned.
    unpinned = solve("yanked", "yk-tool")
    assert [result["installed"] for result in unpinned] == [{"yk-tool": "1.0"}] * 2
    pinned = solve("pinned", "yk-tool ==1.1")
    assert [result["ok"] for result in pinned] == [False, False], pinned
    # The file itself stays downloadable by its URL (explicit lock files keep working).
    download = requests.get(f"{main}/noarch/{new.name}", timeout=30)
    assert download.status_code == 200 and download.content == new.read_bytes()

    # Yanking every file of the name: its shard stays listed, naming only what was removed.
    assert _yank(server, token, f"{owner}/yk-tool/1.0").status_code == 200
    repodata = _repodata(main)
    assert repodata["packages.conda"] == {} and sorted(repodata["removed"]) == sorted(
        [old.name, new.name]
    )
    shard = _shard(main, "yk-tool")
    assert shard is not None and shard["packages.conda"] == {}
    assert sorted(shard["removed"]) == sorted([old.name, new.name])

    for version in ("1.0", "1.1"):
        assert _yank(server, token, f"{owner}/yk-tool/{version}", undo=True).status_code == 200
    for base in (main, dev):
        repodata = _repodata(base)
        assert set(repodata["packages.conda"]) == {old.name, new.name}
        assert repodata["removed"] == []
        shard = _shard(base, "yk-tool")
        assert shard is not None and shard["removed"] == []
    assert [result["installed"] for result in solve("after", "yk-tool")] == [{"yk-tool": "1.1"}] * 2


def test_a_private_packages_yank_shows_in_its_readers_view(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"yp{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    read_token = server.token(owner, ["conda:download"])
    work = tmp_path / "conda"
    path = publish.conda(server, token, owner, work, "yk-secret", "1.0", private=True)
    base = f"{server.url}/conda/{owner}"
    auth = {"Authorization": f"token {read_token}"}
    assert set(_repodata(base, **auth)["packages.conda"]) == {path.name}

    assert _yank(server, token, f"{owner}/yk-secret/1.0").status_code == 200
    seen = _repodata(base, **auth)
    assert seen["packages.conda"] == {} and seen["removed"] == [path.name]
    assert _repodata(base)["removed"] == []  # outsiders learn nothing of it


# -- who may yank, and bad input -----------------------------------------------------------------


@dataclass
class Owned:
    owner: str
    token: str
    public: Path  # wheel of "yk-open" 1.0
    private: Path  # wheel of "yk-closed" 1.0


@pytest.fixture
def owned(server: RepoServer, tmp_path: Path) -> Owned:
    owner = server.create_user(f"yo{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    public = publish.wheel(server, token, owner, tmp_path, "yk-open", "1.0")
    private = publish.wheel(server, token, owner, tmp_path, "yk-closed", "1.0", private=True)
    return Owned(owner, token, public, private)


def _state(server: RepoServer, owned: Owned) -> list[object]:
    """What a yank would change, as the owner sees it: the files' flags and both indexes."""
    auth = {"Authorization": f"token {owned.token}"}
    state: list[object] = []
    for package, wheel in (("yk-open", owned.public), ("yk-closed", owned.private)):
        detail = requests.get(
            f"{server.api}/dist/{owned.owner}/{package}/1.0/{wheel.name}", headers=auth, timeout=30
        ).json()
        state.append((detail["yanked"], detail["yanked_reason"]))
        page = requests.get(
            f"{server.url}/pypi/{owned.owner}/simple/{package}/", headers=auth, timeout=30
        )
        state.append(page.text)
    return state


@pytest.mark.parametrize("undo", [False, True], ids=["yank", "unyank"])
@pytest.mark.parametrize("who", ["stranger", "read-token", "anonymous"])
def test_only_writers_may_yank_and_private_answers_like_missing(
    server: RepoServer, owned: Owned, who: str, undo: bool
) -> None:
    if undo:  # something to un-yank
        for package in ("yk-open", "yk-closed"):
            assert _yank(server, owned.token, f"{owned.owner}/{package}/1.0").status_code == 200
    before = _state(server, owned)
    if who == "stranger":
        token: str | None = server.token(server.create_user(f"ys{uuid.uuid4().hex[:8]}"))
    elif who == "read-token":
        token = server.token(owned.owner, ["read"])
    else:
        token = None
    public_status = {"stranger": 403, "read-token": 403, "anonymous": 401}[who]

    for path in (
        f"{owned.owner}/yk-open/1.0",
        f"{owned.owner}/yk-open/1.0/{owned.public.name}",
    ):
        response = _yank(server, token, path, undo=undo, body=None if undo else {"reason": "no"})
        assert response.status_code == public_status, response.text
    if who != "read-token":  # the owner's own read token may read the private package
        for suffix in ("", f"/{owned.private.name}"):
            private = _yank(server, token, f"{owned.owner}/yk-closed/1.0{suffix}", undo=undo)
            missing = _yank(server, token, f"{owned.owner}/yk-nothing/1.0{suffix}", undo=undo)
            hidden = {"stranger": 404, "anonymous": 401}[who]
            assert private.status_code == missing.status_code == hidden, private.text
            assert private.text.replace("yk-closed", "X") == missing.text.replace("yk-nothing", "X")
    else:
        response = _yank(server, token, f"{owned.owner}/yk-closed/1.0", undo=undo)
        assert response.status_code == 403, response.text
    assert _state(server, owned) == before


def test_a_locked_label_and_a_label_limited_token_keep_their_files(
    server: RepoServer, owned: Owned
) -> None:
    api = server.session(owned.token)
    path = f"{owned.owner}/yk-open/1.0"
    # A token limited to another label changes nothing that label does not hold.
    other = server.token(owned.owner, ["api:write"], label="dev")
    refused = _yank(server, other, path)
    assert refused.status_code == 403 and "limited to the label 'dev'" in refused.text
    # Nothing on a locked label is yanked until it is unlocked.
    assert api.post(f"{server.api}/channels/{owned.owner}/main/lock").status_code == 201
    before = _state(server, owned)
    locked = _yank(server, owned.token, path, body={"reason": "late"})
    assert locked.status_code == 403 and "locked label 'main'" in locked.json()["error"]
    assert _state(server, owned) == before
    assert api.delete(f"{server.api}/channels/{owned.owner}/main/lock").status_code == 201
    assert _yank(server, owned.token, path).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"reason": 5}, "reason must be a string", id="not-a-string"),
        pytest.param({"reason": "x" * 501}, "longer than 500", id="too-long"),
        pytest.param({"reason": "bad\x00byte"}, "NUL", id="nul"),
        pytest.param({"reason": "ring\x07bell"}, "control", id="control-character"),
        pytest.param({"reason": "rtl\u202eoverride"}, "control", id="bidi-override"),
        pytest.param({"why": "typo"}, "Unknown field 'why'", id="unknown-field"),
        pytest.param(["reason"], "must be a JSON object", id="not-an-object"),
    ],
)
def test_bad_yank_requests_are_400_and_change_nothing(
    server: RepoServer, owned: Owned, body: object, message: str
) -> None:
    before = _state(server, owned)
    response = _yank(server, owned.token, f"{owned.owner}/yk-open/1.0", body=body)
    assert response.status_code == 400 and message in response.json()["error"], response.text
    assert _state(server, owned) == before


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("{owner}/yk-open/9.9", id="no-such-version"),
        pytest.param("{owner}/yk-open/1.0/nothing-1.0-py3-none-any.whl", id="no-such-file"),
        pytest.param("{owner}/yk-open/1.0/..%2F..%2Fetc%2Fpasswd", id="traversal"),
        pytest.param("nobody-here/yk-open/1.0", id="no-such-owner"),
    ],
)
def test_yanking_what_is_not_there_is_404(server: RepoServer, owned: Owned, path: str) -> None:
    before = _state(server, owned)
    response = _yank(server, owned.token, path.format(owner=owned.owner))
    assert response.status_code in (400, 404) and "error" in response.json(), response.text
    assert _state(server, owned) == before
