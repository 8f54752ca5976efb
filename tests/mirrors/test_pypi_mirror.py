"""Mirroring PyPI projects (``jupyter repo mirror add --kind pypi``, ``mirror sync``).

Real upstreams, none of them this project's code: ``pypiserver`` (PEP 503 HTML, from PyPI)
over a folder of wheels and sdists built here; another jupyter-repo instance with a private
namespace reached by a token in the URL (PEP 691 JSON, yanks, PEP 658 metadata); a plain
static file server for a hand-written index that lies about a hash. The mirror is its own
jupyter-repo server; pip and uv install from its index with the upstream stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import File, Mirror
from tests.indexes.test_pypi_json import sdist as static_sdist
from tests.support import processes, publish
from tests.support.net import free_port, wait_for_http
from tests.support.server import RepoServer

BIN = Path(sys.executable).parent
JSON = "application/vnd.pypi.simple.v1+json"
REASON = "broken build: use 1.0"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoServer]:
    """The mirroring site: its own jupyter-repo server (the session ``server`` is used as
    an upstream)."""
    mirror_site = RepoServer(tmp_path_factory.mktemp("mirror-site"))
    mirror_site.start()
    try:
        yield mirror_site
    finally:
        mirror_site.close()


def _clients_env() -> dict[str, str]:
    return {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return processes.run(  # type: ignore[call-overload, no-any-return]
        command, capture_output=True, text=True, timeout=300, env=_clients_env(), **kwargs
    )


def mirror_cli(site: RepoServer, *args: str) -> subprocess.CompletedProcess[str]:
    """``jupyter repo mirror ...`` on the site's data folder, as an operator runs it."""
    return processes.run(
        [sys.executable, "-m", "jupyter_repo", "mirror", *args, f"--data-dir={site.data_dir}"],
        env=site.environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def sync(site: RepoServer, owner: str, name: str, *flags: str) -> dict:
    result = mirror_cli(site, "sync", owner, name, "--json", *flags)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _install(
    tool: str, venv: Path, index: str, *specs: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Install ``specs`` with the real ``tool`` from ``index`` only, into a new venv."""
    if tool == "pip":
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).check_returncode()
        command = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                   "install", "--no-cache-dir", "--no-input", "--only-binary=:all:"]  # fmt: skip
    else:
        uv = str(BIN / "uv")
        _run([uv, "venv", "--python", sys.executable, str(venv)]).check_returncode()
        command = [uv, "pip", "install", "--python", str(venv / "bin" / "python"), "--no-cache",
                   "--only-binary=:all:"]  # fmt: skip
    return _run([*command, "--index-url", index, *specs]), venv / "bin" / "python"


def _version_of(python: Path, module: str) -> str:
    shown = _run([str(python), "-c", f"import {module}; print({module}.__version__)"])
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def _files(site: RepoServer, owner: str) -> list[tuple[str, str | None, int | None]]:
    """The files of ``owner`` as stored on the site, with their origin columns."""
    return site.call(
        lambda s: sorted(
            (file.filename, file.origin_url, file.origin_mirror_id)
            for file in s.scalars(select(File))
            if file.package.owner.login == owner
        ),
        write=False,
    )


# -- pypiserver: PEP 503 HTML, pip and uv with the upstream stopped ------------------------------


@dataclass
class Pypiserver:
    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def index(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def start(self) -> None:
        log = open(self.folder.parent / "pypiserver.log", "ab")  # noqa: SIM115 - process lifetime
        self.process = processes.popen(
            [str(BIN / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(self.port),
             "-a", ".", "-P", ".", "--disable-fallback", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_http(self.index, process=self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        self.process = None


@pytest.fixture
def pypiserver(tmp_path: Path) -> Iterator[Pypiserver]:
    upstream = Pypiserver(tmp_path / "packages", free_port())
    upstream.folder.mkdir()
    yield upstream
    upstream.stop()


STATIC_PKG_INFO = (
    "Metadata-Version: 2.2\nName: mr-core\nVersion: {version}\nSummary: static\n"
    "Requires-Python: >=3.8\n\n"
)


def test_pip_and_uv_install_from_a_mirror_of_pypiserver_with_the_upstream_stopped(
    site: RepoServer, pypiserver: Pypiserver, tmp_path: Path
) -> None:
    built = {
        "core-1.0": builders.wheel(pypiserver.folder, "mr-core", "1.0"),
        "core-1.5": builders.wheel(pypiserver.folder, "mr-core", "1.5"),
        "core-1.5-src": static_sdist(
            pypiserver.folder, "mr-core", "1.5", STATIC_PKG_INFO.format(version="1.5")
        ),
        "extra-0.3": builders.wheel(pypiserver.folder, "mr-extra", "0.3"),
        "other-1.0": builders.wheel(pypiserver.folder, "mr-other", "1.0"),
    }
    pypiserver.start()
    served = requests.get(pypiserver.index + "mr-core/", headers={"Accept": JSON}, timeout=30)
    # pypiserver 2.4 answers PEP 503 HTML even to a PEP 691 JSON request: the mirror reads it.
    assert served.headers["Content-Type"].startswith("text/html")
    owner = site.create_user(f"pm{uuid.uuid4().hex[:8]}")
    added = mirror_cli(site, "add", owner, "local-pypi", "--kind=pypi",
                       f"--upstream={pypiserver.index}", "--include=mr-core>=1.5",
                       "--include=mr-extra")  # fmt: skip
    assert added.returncode == 0, added.stderr
    mirror_index = f"{site.url}/pypi/{owner}/simple"

    planned = sync(site, owner, "local-pypi", "--dry-run")
    assert (planned["dry_run"], planned["fetched"], planned["filtered_out"]) == (True, 3, 1)
    assert sorted(planned["files"]) == sorted(
        built[key].name for key in ("core-1.5", "core-1.5-src", "extra-0.3")
    )
    assert requests.get(f"{mirror_index}/mr-core/", timeout=30).status_code == 404

    first = sync(site, owner, "local-pypi")
    assert (first["fetched"], first["skipped"], first["filtered_out"], first["failed"]) == (
        3, 0, 1, [],
    )  # fmt: skip
    again = sync(site, owner, "local-pypi")
    assert (again["fetched"], again["skipped"], again["failed"]) == (0, 3, [])
    assert again["requests"] == 2  # the two project pages, no file

    pypiserver.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(pypiserver.index, timeout=5)

    for tool in ("pip", "uv"):
        result, python = _install(tool, tmp_path / tool, mirror_index, "mr-core", "mr-extra")
        assert result.returncode == 0, result.stdout + result.stderr
        assert _version_of(python, "mr_core") == "1.5"
        assert _version_of(python, "mr_extra") == "0.3"
        excluded, _python = _install(tool, tmp_path / f"{tool}-old", mirror_index, "mr-core==1.0")
        assert excluded.returncode != 0  # left out by the spec: the mirror does not have it

    page = requests.get(f"{mirror_index}/mr-core/", headers={"Accept": JSON}, timeout=30).json()
    entries = {entry["filename"]: entry for entry in page["files"]}
    assert sorted(entries) == sorted(built[key].name for key in ("core-1.5", "core-1.5-src"))
    # PEP 658 metadata, as an upload gets it: the wheel's METADATA, the static sdist's PKG-INFO.
    with zipfile.ZipFile(built["core-1.5"]) as wheel:
        wheel_metadata = wheel.read("mr_core-1.5.dist-info/METADATA")
    for key, expected in (
        ("core-1.5", wheel_metadata),
        ("core-1.5-src", STATIC_PKG_INFO.format(version="1.5").encode()),
    ):
        name = built[key].name
        assert entries[name]["core-metadata"] == {"sha256": hashlib.sha256(expected).hexdigest()}
        assert (
            entries[name]["hashes"]["sha256"] == hashlib.sha256(built[key].read_bytes()).hexdigest()
        )
        served_metadata = requests.get(f"{mirror_index}/mr-core/{name}.metadata", timeout=30)
        assert served_metadata.content == expected
    origins = {name: url for name, url, _mirror in _files(site, owner)}
    assert origins[built["extra-0.3"].name] == (
        f"http://127.0.0.1:{pypiserver.port}/packages/{built['extra-0.3'].name}"
    )
    listed = json.loads(mirror_cli(site, "list", owner, "--json").stdout)
    assert listed[0]["last_error"] is None and listed[0]["last_sync_at"]


# -- another jupyter-repo: a private namespace through a token, yanks ------------------------------


def _yank(server: RepoServer, token: str, path: str, *, undo: bool = False) -> None:
    response = requests.request(
        "DELETE" if undo else "PUT",
        f"{server.api}/yank/{path}",
        json=None if undo else {"reason": REASON},
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_a_private_jupyter_repo_upstream_through_a_token_and_its_yanks(
    site: RepoServer, server: RepoServer, tmp_path: Path
) -> None:
    upstream_owner = server.create_user(f"up{uuid.uuid4().hex[:8]}")
    write_token = server.token(upstream_owner)
    wheels = {
        version: publish.wheel(
            server, write_token, upstream_owner, tmp_path / "w", "yk-mirror", version, private=True
        )
        for version in ("1.0", "2.0")
    }
    read_token = server.token(upstream_owner, ["pypi:download"])
    upstream_url = f"{server.url}/t/{read_token}/pypi/{upstream_owner}/simple/"
    assert (
        requests.get(
            f"{server.url}/pypi/{upstream_owner}/simple/yk-mirror/", timeout=30
        ).status_code
        == 404
    )

    owner = site.create_user(f"pm{uuid.uuid4().hex[:8]}")
    added = mirror_cli(site, "add", owner, "team", "--kind=pypi", f"--upstream={upstream_url}",
                       "--include=yk-mirror")  # fmt: skip
    assert added.returncode == 0, added.stderr
    first = sync(site, owner, "team")
    assert (first["fetched"], first["failed"]) == (2, [])
    mirror_index = f"{site.url}/pypi/{owner}/simple"
    # Unchanged upstream: one conditional request, answered 304 with no body.
    unchanged = sync(site, owner, "team")
    assert (unchanged["requests"], unchanged["bytes_received"], unchanged["skipped"]) == (1, 0, 2)

    _yank(server, write_token, f"{upstream_owner}/yk-mirror/2.0")
    yanked = sync(site, owner, "team")
    assert (yanked["fetched"], yanked["skipped"], yanked["failed"]) == (0, 2, [])
    page = requests.get(f"{mirror_index}/yk-mirror/", headers={"Accept": JSON}, timeout=30).json()
    shown = {entry["filename"]: entry["yanked"] for entry in page["files"]}
    assert shown == {wheels["1.0"].name: False, wheels["2.0"].name: REASON}
    # The mirror's PEP 658 metadata is the upstream's, byte for byte.
    for wheel in wheels.values():
        here = requests.get(f"{mirror_index}/yk-mirror/{wheel.name}.metadata", timeout=30)
        there = requests.get(f"{upstream_url}yk-mirror/{wheel.name}.metadata", timeout=30)
        assert here.status_code == there.status_code == 200 and here.content == there.content

    for tool in ("pip", "uv"):
        result, python = _install(tool, tmp_path / tool, mirror_index, "yk-mirror")
        assert result.returncode == 0, result.stdout + result.stderr
        assert _version_of(python, "yk_mirror") == "1.0"  # the yanked 2.0 is passed by
        pinned, python = _install(tool, tmp_path / f"{tool}-pinned", mirror_index, "yk-mirror==2.0")
        assert pinned.returncode == 0, pinned.stdout + pinned.stderr
        assert _version_of(python, "yk_mirror") == "2.0"
        assert REASON in pinned.stdout + pinned.stderr  # the installer's yank warning

    _yank(server, write_token, f"{upstream_owner}/yk-mirror/2.0", undo=True)
    assert sync(site, owner, "team")["failed"] == []
    page = requests.get(f"{mirror_index}/yk-mirror/", headers={"Accept": JSON}, timeout=30).json()
    assert [entry["yanked"] for entry in page["files"]] == [False, False]

    # An error names the upstream URL and status, with the token masked.
    missing = mirror_cli(site, "add", owner, "missing", "--kind=pypi",
                         f"--upstream={upstream_url}", "--include=not-there")  # fmt: skip
    assert missing.returncode == 0, missing.stderr
    failed = mirror_cli(site, "sync", owner, "missing")
    assert failed.returncode == 1
    assert f"{server.url}/t/***/pypi/{upstream_owner}/simple/not-there/" in failed.stderr
    assert "404" in failed.stderr

    # The token is the mirror's credential: stored in its upstream URL, shown nowhere else.
    seen = [
        added.stdout, added.stderr, failed.stdout, failed.stderr,
        mirror_cli(site, "list", owner).stdout,
        mirror_cli(site, "list", owner, "--json").stdout,
        json.dumps(_files(site, owner)),
        site.log_text(),
    ]  # fmt: skip
    for path in ("", "yk-mirror/"):
        for accept in ("text/html", JSON):
            seen.append(
                requests.get(f"{mirror_index}/{path}", headers={"Accept": accept}, timeout=30).text
            )
    seen.append(requests.get(f"{site.api}/package/{owner}/yk-mirror", timeout=30).text)
    assert read_token in site.call(
        lambda s: s.scalar(select(Mirror.upstream_url).where(Mirror.name == "team")), write=False
    )
    for text in seen:
        assert read_token not in text
    origins = {url for _name, url, _mirror in _files(site, owner)}
    assert origins == {
        f"{server.url}/pypi/{upstream_owner}/simple/yk-mirror/{wheel.name}"
        for wheel in wheels.values()
    }


# -- the dependency closure ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def closure_upstream(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A public jupyter-repo namespace: cl-app needs cl-lib (<2, on Python 3.10+), cl-win on
    Windows, cl-more only with its extra ``more``; cl-lib 1.1 needs cl-app back (a cycle)."""
    owner = server.create_user(f"cl{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    work = tmp_path_factory.mktemp("closure")
    requires = [
        'cl-lib<2; python_version >= "3.10"',
        'cl-win>=1; sys_platform == "win32"',
        'cl-more; extra == "more"',
    ]
    publish.wheel(server, token, owner, work, "cl-app", "1.0", requires=requires)
    for version in ("1.0", "1.1", "2.0"):
        cycle = ["cl-app>=1"] if version == "1.1" else []
        publish.wheel(server, token, owner, work, "cl-lib", version, requires=cycle)
    publish.wheel(server, token, owner, work, "cl-win", "1.0")
    publish.wheel(server, token, owner, work, "cl-more", "1.0")
    return f"{server.url}/pypi/{owner}/simple/"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--python-version=3.12", "--platform=manylinux_2_28_x86_64"],
         {"cl-app": ["1.0"], "cl-lib": ["1.1"]}),
        (["--python-version=3.12", "--platform=win_amd64"],
         {"cl-app": ["1.0"], "cl-lib": ["1.1"], "cl-win": ["1.0"]}),
        (["--python-version=3.9", "--platform=manylinux_2_28_x86_64"], {"cl-app": ["1.0"]}),
        (["--python-version=3.12", "--platform=macosx_14_0_arm64", "--include=cl-app[more]"],
         {"cl-app": ["1.0"], "cl-lib": ["1.1"], "cl-more": ["1.0"]}),
    ],
    ids=["linux-3.12", "windows-3.12", "linux-3.9-marker", "extra"],
)  # fmt: skip
def test_with_dependencies_mirrors_the_closure_for_the_targets(
    site: RepoServer, closure_upstream: str, options: list[str], expected: dict[str, list[str]]
) -> None:
    owner = site.create_user(f"pm{uuid.uuid4().hex[:8]}")
    includes = [option for option in options if option.startswith("--include")] or [
        "--include=cl-app"
    ]
    targets = [option for option in options if not option.startswith("--include")]
    added = mirror_cli(site, "add", owner, "deps", "--kind=pypi", f"--upstream={closure_upstream}",
                       "--with-deps", *includes, *targets)  # fmt: skip
    assert added.returncode == 0, added.stderr
    report = sync(site, owner, "deps")
    assert report["failed"] == []
    root = requests.get(f"{site.url}/pypi/{owner}/simple/", headers={"Accept": JSON}, timeout=30)
    projects = sorted(project["name"] for project in root.json()["projects"])
    assert projects == sorted(expected)
    for project, versions in expected.items():
        page = requests.get(
            f"{site.url}/pypi/{owner}/simple/{project}/", headers={"Accept": JSON}, timeout=30
        ).json()
        assert page["versions"] == versions


# -- a static index: a lying one, removals, yanks in HTML ------------------------------------------


@dataclass
class StaticIndex:
    """A hand-written PEP 503 index served by ``python -m http.server``."""

    root: Path
    port: int

    @property
    def index(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def wheel(self, name: str, version: str) -> Path:
        return builders.wheel(self.root / "files", name, version)

    def page(self, project: str, links: list[tuple[Path, str, str]]) -> None:
        """The project's page: (file, sha256 it claims, extra attributes) per link."""
        page = self.root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(
            "".join(
                f'<a href="../../files/{path.name}#sha256={digest}"{attrs}>{path.name}</a><br>\n'
                for path, digest, attrs in links
            )
        )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def static_index(tmp_path: Path) -> Iterator[StaticIndex]:
    served = StaticIndex(tmp_path / "static", free_port())
    (served.root / "simple").mkdir(parents=True)
    process = processes.popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(served.port),
         "--directory", str(served.root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_http(served.index, process=process)
        yield served
    finally:
        process.terminate()
        process.wait(15)


def test_a_corrupted_upstream_file_is_refused_and_nothing_is_visible(
    site: RepoServer, static_index: StaticIndex
) -> None:
    wheel = static_index.wheel("bad-pkg", "1.0")
    good = static_index.wheel("good-pkg", "1.0")
    static_index.page("bad-pkg", [(wheel, "0" * 64, "")])
    static_index.page("good-pkg", [(good, sha256_of(good), "")])
    far = static_index.wheel("far-pkg", "1.0")  # the same server under another host name
    (static_index.root / "simple" / "far-pkg").mkdir()
    (static_index.root / "simple" / "far-pkg" / "index.html").write_text(
        f'<a href="http://localhost:{static_index.port}/files/{far.name}">{far.name}</a>'
    )
    owner = site.create_user(f"pm{uuid.uuid4().hex[:8]}")
    added = mirror_cli(site, "add", owner, "liar", "--kind=pypi",
                       f"--upstream={static_index.index}",
                       "--include=bad-pkg", "--include=good-pkg",
                       "--include=far-pkg")  # fmt: skip
    assert added.returncode == 0, added.stderr
    spools_before = site.spool_count()
    result = mirror_cli(site, "sync", owner, "liar")
    assert result.returncode == 1
    url = f"http://127.0.0.1:{static_index.port}/files/{wheel.name}"
    assert f"{wheel.name}: upstream {url}: sent bytes whose sha256 differs from its index" in (
        result.stderr
    )
    assert f"{far.name}: the upstream links it on another host (localhost)" in result.stderr
    assert "Traceback" not in result.stderr
    index = f"{site.url}/pypi/{owner}/simple"
    assert requests.get(f"{index}/bad-pkg/", timeout=30).status_code == 404
    assert requests.get(f"{index}/bad-pkg/{wheel.name}", timeout=30).status_code == 404
    assert [name for name, _url, _mirror in _files(site, owner)] == [good.name]
    assert site.spool_count() == spools_before
    listed = json.loads(mirror_cli(site, "list", owner, "--json").stdout)
    assert "2 failed, the first: " in listed[0]["last_error"]


@pytest.mark.parametrize("prune", [False, True], ids=["keep-removed", "prune"])
def test_upstream_removals_and_html_yanks_are_followed(
    site: RepoServer, static_index: StaticIndex, prune: bool
) -> None:
    old, new = static_index.wheel("pr-lib", "1.0"), static_index.wheel("pr-lib", "2.0")
    static_index.page(
        "pr-lib",
        [
            (old, sha256_of(old), ' data-yanked="old &amp; &lt;broken&gt;"'),
            (new, sha256_of(new), ""),
        ],
    )
    owner = site.create_user(f"pm{uuid.uuid4().hex[:8]}")
    added = mirror_cli(site, "add", owner, "static", "--kind=pypi",
                       f"--upstream={static_index.index}", "--include=pr-lib",
                       *(["--prune"] if prune else []))  # fmt: skip
    assert added.returncode == 0, added.stderr
    page_url = f"{site.url}/pypi/{owner}/simple/pr-lib/"

    def shown() -> dict[str, object]:
        page = requests.get(page_url, headers={"Accept": JSON}, timeout=30).json()
        return {entry["filename"]: entry["yanked"] for entry in page["files"]}

    assert sync(site, owner, "static")["fetched"] == 2
    assert shown() == {old.name: "old & <broken>", new.name: False}  # yanked from the start

    static_index.page("pr-lib", [(old, sha256_of(old), "")])  # 2.0 gone, 1.0 un-yanked
    planned = sync(site, owner, "static", "--dry-run")
    assert planned["removed"] == (1 if prune else 0)
    assert shown() == {old.name: "old & <broken>", new.name: False}  # a dry run changes nothing
    report = sync(site, owner, "static")
    assert (report["removed"], report["failed"]) == ((1 if prune else 0), [])
    assert shown() == ({old.name: False} if prune else {old.name: False, new.name: False})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "needs at least one requirement"),
        (["--include=numpy>=>1"], "The include 'numpy>=>1' is not a requirement spec"),
        (["--include=numpy", "--exclude=num py"], "The exclude 'num py' is not a requirement"),
    ],
    ids=["no-include", "bad-include", "bad-exclude"],
)
def test_a_pypi_mirror_needs_readable_requirements(
    site: RepoServer, args: list[str], message: str
) -> None:
    owner = site.create_user(f"pm{uuid.uuid4().hex[:8]}")
    result = mirror_cli(
        site, "add", owner, "bad", "--kind=pypi", "--upstream=https://pypi.example/simple", *args
    )
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert json.loads(mirror_cli(site, "list", owner, "--json").stdout) == []


def test_the_closure_stops_at_its_limit_and_says_so(
    site: RepoServer, closure_upstream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MAX_CLOSURE_PROJECTS`` bounds the walk (here lowered to 2, run in-process)."""
    from jupyter_repo.mirroring import pypi
    from jupyter_repo.mirroring.sync import run_sync
    from jupyter_repo.repository.services import mirrors

    monkeypatch.setattr(pypi, "MAX_CLOSURE_PROJECTS", 2)
    owner = site.create_user(f"pm{uuid.uuid4().hex[:8]}")
    spec = mirrors.MirrorSpec(
        owner, "bounded", "pypi", closure_upstream,
        config=mirrors.MirrorConfig(include=("cl-app",), with_dependencies=True,
                                    platforms=("win_amd64",)),
    )  # fmt: skip
    site.call(mirrors.add_mirror, mirrors.OPERATOR, spec)
    report = run_sync(site.repo, owner, "bounded")
    assert len(report.failed) == 1
    assert "reached 2 projects (MAX_CLOSURE_PROJECTS)" in report.failed[0]
    assert "cl-win" in report.failed[0]
    assert sorted(report.fetched) == ["cl_app-1.0-py3-none-any.whl", "cl_lib-1.1-py3-none-any.whl"]


@pytest.mark.parametrize("honest", [True, False], ids=["vouched", "wrong-hash"])
def test_an_sdist_without_static_metadata_gets_the_upstreams_pep_658_file(
    site: RepoServer, static_index: StaticIndex, honest: bool
) -> None:
    """Metadata 2.1 is not static (PEP 643): this server serves none for such an sdist, but
    an upstream that built it may offer its PEP 658 file; it is kept when its hash holds."""
    sdist = builders.sdist(static_index.root / "files", "dyn-src", "1.0")
    metadata = b"Metadata-Version: 2.1\nName: dyn-src\nVersion: 1.0\nRequires-Dist: six\n\n"
    (static_index.root / "files" / f"{sdist.name}.metadata").write_bytes(metadata)
    claimed = hashlib.sha256(metadata).hexdigest() if honest else "1" * 64
    static_index.page(
        "dyn-src", [(sdist, sha256_of(sdist), f' data-core-metadata="sha256={claimed}"')]
    )
    owner = site.create_user(f"pm{uuid.uuid4().hex[:8]}")
    added = mirror_cli(site, "add", owner, "dyn", "--kind=pypi",
                       f"--upstream={static_index.index}", "--include=dyn-src")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert sync(site, owner, "dyn")["fetched"] == 1
    page_url = f"{site.url}/pypi/{owner}/simple/dyn-src/"
    entry = requests.get(page_url, headers={"Accept": JSON}, timeout=30).json()["files"][0]
    served = requests.get(f"{page_url}{sdist.name}.metadata", timeout=30)
    if honest:
        assert entry["core-metadata"] == {"sha256": claimed}
        assert served.status_code == 200 and served.content == metadata
    else:
        assert entry["core-metadata"] is False
        assert served.status_code == 404
