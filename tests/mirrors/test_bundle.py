"""``jupyter repo export`` / ``import``: a namespace carried across an air gap in one file.

The source is an embedded server of its own; the target is the session's server, so the
default tier tests embedded → embedded and ``--tier=scaleout`` embedded → PostgreSQL + S3
behind nginx. Both commands run as the operator would run them (``python -m jupyter_repo``
against the server's database and store); everything checked on the target is checked
through its HTTP face or a real installer.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from jupyter_repo.demo import builders
from jupyter_repo.repository import models
from tests.support import processes
from tests.support.http import auth
from tests.support.server import RepoServer

ROOT = Path(__file__).resolve().parent.parent.parent


# -- running the commands --------------------------------------------------------------------


def repository_args(server: RepoServer, scratch: Path) -> tuple[list[str], dict[str, str]]:
    """The command-line options (and environment) that point a command at ``server``'s
    database and store, as an operator on that machine would give them."""
    scaled = getattr(server, "service_config", None)
    if scaled is None:
        return [f"--Repository.data_dir={server.data_dir}"], {}
    args = [f"--{key}={value}" for key, value in scaled().items()]
    # The command's own spools live in its data dir; the bytes go to S3.
    return [*args, f"--Repository.data_dir={scratch}"], server.service_env()  # type: ignore[attr-defined]


def run_cli(
    args: list[str], home: Path, extra_env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        **(extra_env or {}),
    }
    done = processes.run(
        [sys.executable, "-m", "jupyter_repo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    return done.returncode, done.stdout, done.stderr


def export(source: RepoServer, what: str, out: Path, *extra: str) -> dict[str, Any]:
    code, stdout, stderr = run_cli(
        ["export", what, f"-o={out}", "--json", f"--data-dir={source.data_dir}", *extra],
        source.root,
    )
    assert code == 0, stderr
    return json.loads(stdout)


def import_into(
    target: RepoServer, bundle: Path, scratch: Path, *extra: str
) -> tuple[int, str, str]:
    args, env = repository_args(target, scratch / "cli-data")
    return run_cli(["import", str(bundle), "--json", *args, *extra], scratch, env)


# -- what a server holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Holdings:
    rows: dict[str, int]
    revisions: tuple[tuple[int, str, str, str, int], ...]
    keys: frozenset[str]


COUNTED = (
    models.Account,
    models.Package,
    models.Release,
    models.File,
    models.Blob,
    models.Label,
    models.FileLabel,
    models.IndexChange,
)


def holdings(server: RepoServer) -> Holdings:
    def count(session: Any) -> tuple[dict[str, int], list[Any]]:
        rows = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in COUNTED
        }
        states = session.execute(
            select(
                models.IndexState.owner_id,
                models.IndexState.kind,
                models.IndexState.label,
                models.IndexState.subdir,
                models.IndexState.revision,
            ).order_by(models.IndexState.id)
        ).all()
        return rows, [tuple(state) for state in states]

    rows, states = server.call(count, write=False)
    keys = frozenset(key for key, _mtime in server.repo.store.iter_keys())
    return Holdings(rows, tuple(states), keys)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the source site -------------------------------------------------------------------------


@dataclass
class Source:
    server: RepoServer
    owner: str
    token: str
    #: basename → (package, version, sha256, labels, public)
    files: dict[str, tuple[str, str, str, tuple[str, ...], bool]]


def upload(
    server: RepoServer,
    token: str,
    owner: str,
    package: str,
    version: str,
    path: Path,
    basename: str,
    labels: tuple[str, ...] = ("main",),
    private: bool = False,
) -> None:
    params: list[tuple[str, str]] = [("label", label) for label in labels]
    if private:
        params.append(("private", "1"))
    response = requests.put(
        f"{server.api}/upload/{owner}/{package}/{version}/{basename}",
        params=params,
        data=path.read_bytes(),
        headers=auth(token),
        timeout=60,
    )
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """An embedded site with conda files on main, dev and both, a wheel and a private package."""
    root = tmp_path_factory.mktemp("source")
    server = RepoServer(root / "server").start()
    try:
        owner = server.create_user(f"src{uuid.uuid4().hex[:8]}")
        token = server.token(owner)
        work = root / "build"
        work.mkdir()
        plan = [
            ("carried", "0.9", ("main",), False, "conda"),  # yanked below
            ("carried", "1.0", ("main",), False, "conda"),
            ("carried", "2.0", ("dev",), False, "conda"),
            ("carried", "3.0", ("main", "dev"), False, "conda"),
            ("carried-wheel", "1.0", ("main",), False, "wheel"),
            ("kept-secret", "1.0", ("main",), True, "conda"),
        ]
        files = {}
        for package, version, labels, private, kind in plan:
            folder = work / f"{package}-{version}"
            folder.mkdir()
            if kind == "conda":
                path = builders.conda_package(folder, package, version, summary=f"{package}!")
                basename = f"noarch/{path.name}"
            else:
                path = builders.wheel(folder, package, version, summary="a wheel")
                basename = path.name
            upload(server, token, owner, package, version, path, basename, labels, private)
            files[basename] = (package, version, sha256(path.read_bytes()), labels, not private)
        yanked = requests.put(
            f"{server.api}/yank/{owner}/carried/0.9", json={"reason": "broken"}, headers=auth(token)
        )
        assert yanked.status_code == 200, yanked.text
        yield Source(server, owner, token, files)
    finally:
        server.close()


# -- the round trip --------------------------------------------------------------------------


def test_round_trip_preserves_files_labels_visibility_and_owners(
    source: Source, server: RepoServer, tier: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "site.bundle"
    exported = export(source.server, source.owner, bundle)
    assert exported["files"] == len(source.files)
    before = holdings(server)

    code, stdout, stderr = import_into(server, bundle, tmp_path)
    assert code == 0, stderr
    imported = json.loads(stdout)
    assert imported["created_files"] == len(source.files)
    assert imported["created_namespace"] is True

    owner = source.owner
    token = server.token(owner)  # the imported namespace is a user (without a password)
    for basename, (package, version, digest, _labels, public) in source.files.items():
        url = f"{server.api}/download/{owner}/{package}/{version}/{basename}"
        if not public:
            assert requests.get(url, timeout=30).status_code == 404
            assert requests.get(f"{server.api}/package/{owner}/{package}").status_code == 404
        download = requests.get(url, headers=auth(token), timeout=60)
        assert download.status_code == 200, (basename, download.text)
        assert sha256(download.content) == digest
        described = requests.get(f"{server.api}/package/{owner}/{package}", headers=auth(token))
        assert described.json()["owner"]["login"] == owner
        assert described.json()["public"] is public

    for label, wanted in (("main", {"1.0", "3.0"}), ("dev", {"2.0", "3.0"})):
        prefix = "" if label == "main" else f"/label/{label}"
        repodata = requests.get(f"{server.url}/conda/{owner}{prefix}/noarch/repodata.json").json()
        found = {
            record["version"]
            for record in repodata["packages.conda"].values()
            if record["name"] == "carried"
        }
        assert found == wanted, label
        if label == "main":  # the yank came along: conda lists the file as removed
            assert [name for name in repodata["removed"] if "carried-0.9" in name], repodata
        assert not any(r["name"] == "kept-secret" for r in repodata["packages.conda"].values())

    after_first = holdings(server)
    assert after_first.rows["files"] == before.rows["files"] + len(source.files)
    assert len(after_first.keys) == len(before.keys) + len(source.files)

    code, stdout, stderr = import_into(server, bundle, tmp_path)
    assert code == 0, stderr
    again = json.loads(stdout)
    assert again["created_files"] == 0 and again["skipped_files"] == len(source.files)
    assert again["bytes_stored"] == 0
    assert holdings(server) == after_first

    size_mb = bundle.stat().st_size / (1 << 20)
    print(
        f"\n{tier}: bundle {size_mb:.2f} MB; export {exported['mb_per_s']} MB/s, "
        f"import {imported['mb_per_s']} MB/s (verify + inspect + store + one transaction)"
    )


def test_installers_install_from_the_imported_namespace(
    source: Source, server: RepoServer, tmp_path: Path
) -> None:
    """py-rattler and pip install what came over, from the target only."""
    bundle = tmp_path / "site.bundle"
    export(source.server, f"{source.owner}/label/main", bundle)
    namespace = f"gap{uuid.uuid4().hex[:8]}"
    code, _stdout, stderr = import_into(server, bundle, tmp_path, f"--namespace={namespace}")
    assert code == 0, stderr

    job = json.dumps(
        {
            "cases": [
                {
                    "channels": [f"{server.url}/conda/{namespace}"],
                    "specs": ["carried"],
                    "prefix": str(tmp_path / "prefix"),
                }
            ],
            "cache": str(tmp_path / "cache"),
        }
    )
    rattler = processes.run(
        [sys.executable, "-m", "tests.support.rattler_client", job],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    results = next(
        json.loads(line[len("RESULT ") :])
        for line in rattler.stdout.splitlines()
        if line.startswith("RESULT ")
    )
    assert results[0]["ok"], results
    assert results[0]["installed"] == {"carried": "3.0"}

    pip = processes.run(
        [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q"),
            *("-d", str(tmp_path / "pip"), "--index-url", f"{server.url}/pypi/{namespace}/simple"),
            "carried-wheel",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    (wheel,) = (tmp_path / "pip").iterdir()
    assert sha256(wheel.read_bytes()) == source.files[wheel.name][2]


def test_since_exports_only_newer_files(source: Source, tmp_path: Path) -> None:
    cut = datetime.now(timezone.utc)
    time.sleep(1.1)
    work = tmp_path / "late"
    work.mkdir()
    late = builders.conda_package(work, "carried", "4.0")
    upload(source.server, source.token, source.owner, "carried", "4.0", late, f"noarch/{late.name}")
    try:
        bundle = tmp_path / "since.bundle"
        since = cut.strftime("%Y-%m-%dT%H:%M:%S")
        exported = export(source.server, source.owner, bundle, f"--since={since}")
        assert exported["files"] == 1
        with tarfile.open(bundle) as archive:
            manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
            members = archive.getnames()
        basenames = [
            file["basename"]
            for package in manifest["packages"]
            for release in package["releases"]
            for file in release["files"]
        ]
        assert basenames == [f"noarch/{late.name}"]
        assert members == ["manifest.json", f"files/{sha256(late.read_bytes())}"]
    finally:
        requests.delete(
            f"{source.server.api}/release/{source.owner}/carried/4.0", headers=auth(source.token)
        )


def _member_offsets(bundle: Path) -> dict[str, tuple[int, int]]:
    with tarfile.open(bundle) as archive:
        return {m.name: (m.offset_data, m.size) for m in archive.getmembers()}


@pytest.mark.parametrize("into", ["a-new-namespace", "a-namespace-holding-the-files"])
def test_a_corrupted_bundle_is_refused_without_a_trace(
    into: str, source: Source, server: RepoServer, tmp_path: Path
) -> None:
    """Damaged bytes are refused whether they would be stored or are here already."""
    bundle = tmp_path / "site.bundle"
    export(source.server, source.owner, bundle)
    namespace = f"bad{uuid.uuid4().hex[:8]}"
    if into == "a-namespace-holding-the-files":
        code, _stdout, stderr = import_into(server, bundle, tmp_path, f"--namespace={namespace}")
        assert code == 0, stderr
    # Damage one byte of the LAST file member: every file before it has been verified and
    # stored by then, so a clean refusal must also take those bytes back out of the store.
    last = list(_member_offsets(bundle).items())[-1]
    offset, size = last[1]
    with open(bundle, "r+b") as handle:
        handle.seek(offset + size // 2)
        byte = handle.read(1)
        handle.seek(offset + size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    before = holdings(server)

    code, _stdout, stderr = import_into(server, bundle, tmp_path, f"--namespace={namespace}")

    assert code != 0
    assert "is damaged" in stderr and "Nothing was imported" in stderr, stderr
    assert "Traceback" not in stderr
    assert holdings(server) == before
    if into == "a-new-namespace":
        assert requests.get(f"{server.api}/user/{namespace}").status_code == 404
    spools = list((tmp_path / "cli-data").rglob("*.part")) + list(
        (server.data_dir / "tmp").glob("*.part")
    )
    assert spools == []


def test_a_file_with_the_same_name_and_other_bytes_refuses_the_import(
    source: Source, server: RepoServer, tmp_path: Path
) -> None:
    namespace = server.create_user(f"clash{uuid.uuid4().hex[:8]}")
    token = server.token(namespace)
    # The target already has carried 1.0 under the same file name, with other bytes.
    basename = next(name for name, f in source.files.items() if f[:2] == ("carried", "1.0"))
    other = builders.conda_package(tmp_path, "carried", "1.0", summary="not the same bytes")
    upload(server, token, namespace, "carried", "1.0", other, basename)
    bundle = tmp_path / "site.bundle"
    export(source.server, source.owner, bundle)
    before = holdings(server)

    code, _stdout, stderr = import_into(server, bundle, tmp_path, f"--namespace={namespace}")

    assert code != 0
    assert f"already has a file {basename} with other contents" in stderr, stderr
    assert holdings(server) == before


# -- hostile bundles -------------------------------------------------------------------------


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _member(name: str, data: bytes = b"", **fields: Any) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    return info, data if info.isreg() else None


def _manifest(wheel: Path, **file_fields: Any) -> dict[str, Any]:
    data = wheel.read_bytes()
    file = {
        "basename": wheel.name,
        "distribution_type": "pypi",
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": sha256(data),
        "labels": ["main"],
        **file_fields,
    }
    return {
        "format": "jupyter-repo-bundle",
        "version": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "source": {"namespace": "hostile", "kind": "user", "label": None},
        "packages": [
            {
                "name": "smuggled",
                "public": True,
                "releases": [{"version": "1.0", "files": [file]}],
            }
        ],
    }


def _hostile(case: str, wheel: Path, escape: Path) -> tuple[bytes, list[str]]:
    """A bundle built as an attacker would, and the import options it is tried with."""
    data = wheel.read_bytes()
    digest = sha256(data)
    good = json.dumps(_manifest(wheel)).encode()
    manifest = _member("manifest.json", good)
    member = f"files/{digest}"
    if case == "dotdot-member":
        return _tar([manifest, _member(f"../{escape.name}", data)]), []
    if case == "absolute-member":
        return _tar([manifest, _member(str(escape), data)]), []
    if case == "dotdot-inside-files":
        return _tar([manifest, _member(f"files/../../{escape.name}", data)]), []
    if case == "symlink-member":
        link = _member(member, linkname=str(escape), type=tarfile.SYMTYPE)
        return _tar([manifest, link]), []
    if case == "hardlink-member":
        link = _member(member, linkname="manifest.json", type=tarfile.LNKTYPE)
        return _tar([manifest, link]), []
    if case == "directory-member":
        return _tar([manifest, _member("files", type=tarfile.DIRTYPE)]), []
    if case == "manifest-names-a-missing-file":
        return _tar([manifest]), []
    if case == "member-not-in-manifest":
        return _tar([manifest, _member(member, data), _member("files/" + "0" * 64, b"x")]), []
    if case == "manifest-not-first":
        return _tar([_member(member, data), manifest]), []
    if case == "manifest-symlink":
        return _tar([_member("manifest.json", linkname=str(escape), type=tarfile.SYMTYPE)]), []
    if case == "huge-manifest":
        header = tarfile.TarInfo("manifest.json")
        header.size = 1 << 40  # claims a terabyte; must be refused before any is read
        return header.tobuf(tarfile.PAX_FORMAT) + b"{" * 4096, []
    if case == "big-manifest-over-limit":
        padded = json.dumps({**_manifest(wheel), "padding": "x" * 5000}).encode()
        return _tar([_member("manifest.json", padded), _member(member, data)]), [
            "--ImportApp.max_manifest_bytes=4096"
        ]
    if case == "too-many-files":
        return _tar([manifest, _member(member, data)]), ["--ImportApp.max_files=0"]
    if case == "traversal-in-manifest-basename":
        bad = json.dumps(_manifest(wheel, basename=f"../../{escape.name}")).encode()
        return _tar([_member("manifest.json", bad), _member(member, data)]), []
    if case == "size-differs-from-manifest":
        return _tar([manifest, _member(member, data + b"\0")]), []
    if case == "gzip-compressed":
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:gz") as archive:
            for info, body in (manifest, _member(member, data)):
                archive.addfile(info, io.BytesIO(body or b""))
        return out.getvalue(), []
    if case == "script-origin-url":
        bad = json.dumps(_manifest(wheel, origin_url="javascript:alert(1)")).encode()
        return _tar([_member("manifest.json", bad), _member(member, data)]), []
    if case == "control-characters-in-yank-reason":
        bad = json.dumps(_manifest(wheel, yanked_reason="a\u001b[31mred")).encode()
        return _tar([_member("manifest.json", bad), _member(member, data)]), []
    if case == "not-json":
        return _tar([_member("manifest.json", b"\xff\xfe not json"), _member(member, data)]), []
    raise AssertionError(case)


HOSTILE = {
    "dotdot-member": "not one of its files",
    "absolute-member": "not one of its files",
    "dotdot-inside-files": "not one of its files",
    "symlink-member": "holds a link",
    "hardlink-member": "holds a link",
    "directory-member": "not one of its files",
    "manifest-names-a-missing-file": "The bundle is incomplete",
    "member-not-in-manifest": "its manifest does not list",
    "manifest-not-first": "must begin with a plain file 'manifest.json'",
    "manifest-symlink": "must begin with a plain file 'manifest.json'",
    "huge-manifest": "more than this server's limit",
    "big-manifest-over-limit": "more than this server's limit of 4096",
    "too-many-files": "more than 0 files",
    "traversal-in-manifest-basename": "manifest is refused",
    "size-differs-from-manifest": "its manifest says",
    "gzip-compressed": "is not a bundle",
    "not-json": "manifest is not valid JSON",
    "script-origin-url": "origin_url must be an http:// or https:// URL",
    "control-characters-in-yank-reason": "yanked_reason: The reason may not contain control",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_bundle_is_refused_and_writes_nothing(case: str, tmp_path: Path) -> None:
    """Refused with a clear message; nothing outside the spool folder, no rows, no blobs."""
    site = tmp_path / "site"
    jail = tmp_path / "jail"
    jail.mkdir()
    escape = tmp_path / "escaped"
    wheel = builders.wheel(tmp_path / "w", "smuggled", "1.0")
    payload, options = _hostile(case, wheel, escape)
    bundle = jail / "hostile.bundle"
    bundle.write_bytes(payload)

    code, stdout, stderr = run_cli(
        ["import", str(bundle), f"--data-dir={site}", *options], tmp_path
    )

    assert code != 0, stdout
    assert HOSTILE[case] in stderr, stderr
    assert "Traceback" not in stderr
    assert not escape.exists()
    assert sorted(p.name for p in jail.iterdir()) == ["hostile.bundle"]
    stored = [p for p in site.rglob("*") if p.is_file() and not p.name.startswith("repo.db")]
    assert stored == [], stored
    with sqlite3.connect(site / "repo.db") as database:  # no namespace, nothing in it
        for table in ("accounts", "packages", "files", "blobs", "labels"):
            assert database.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


# -- namespaces and interruptions ------------------------------------------------------------


def test_an_organization_is_created_only_with_an_owner_named(
    source: Source, server: RepoServer, tmp_path: Path
) -> None:
    """A bundle of an organization the target lacks needs --org-owner; that user owns it."""
    org = source.server.create_org(f"org{uuid.uuid4().hex[:8]}", source.owner)
    wheel = builders.wheel(tmp_path / "w", "org-tool", "1.0")
    upload(source.server, source.token, org, "org-tool", "1.0", wheel, wheel.name, private=True)
    bundle = tmp_path / "org.bundle"
    export(source.server, org, bundle)
    before = holdings(server)

    code, _stdout, stderr = import_into(server, bundle, tmp_path)
    assert code != 0
    assert f"The organization {org} does not exist here" in stderr, stderr
    assert "--org-owner USER" in stderr
    assert holdings(server) == before

    admin = server.create_user(f"adm{uuid.uuid4().hex[:8]}")
    code, stdout, stderr = import_into(server, bundle, tmp_path, f"--org-owner={admin}")
    assert code == 0, stderr
    assert json.loads(stdout)["created_namespace"] is True
    assert requests.get(f"{server.api}/user/{org}").json()["user_type"] == "org"
    url = f"{server.api}/download/{org}/org-tool/1.0/{wheel.name}"
    assert requests.get(url, timeout=30).status_code == 404  # private stays private
    download = requests.get(url, headers=auth(server.token(admin)), timeout=30)
    assert download.status_code == 200
    assert sha256(download.content) == sha256(wheel.read_bytes())


def test_an_interrupted_import_leaves_nothing_visible(tmp_path: Path) -> None:
    """Killed after it stored some bytes: no row exists, and the start-up check removes
    the orphaned bytes (as ``serve`` does on every start)."""
    from traitlets.config import Config

    from jupyter_repo.repository import consistency
    from jupyter_repo.repository.core import Repository

    parts = []
    for index in range(12):
        data = os.urandom(8 << 20)
        parts.append(
            {
                "basename": f"part{index}.bin",
                "distribution_type": "file",
                "size": len(data),
                "md5": hashlib.md5(data).hexdigest(),
                "sha256": sha256(data),
                "labels": ["main"],
                "_data": data,
            }
        )
    manifest = {
        "format": "jupyter-repo-bundle",
        "version": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "source": {"namespace": "bulky", "kind": "user"},
        "packages": [
            {
                "name": "bulk",
                "public": True,
                "releases": [
                    {
                        "version": "1",
                        "files": [{k: v for k, v in p.items() if k != "_data"} for p in parts],
                    }
                ],
            }
        ],
    }
    bundle = tmp_path / "bulk.bundle"
    with tarfile.open(bundle, "w", format=tarfile.PAX_FORMAT) as archive:
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
        for part in parts:
            info = tarfile.TarInfo(f"files/{part['sha256']}")
            info.size = part["size"]
            archive.addfile(info, io.BytesIO(part["_data"]))
    site = tmp_path / "site"
    blobs = site / "blobs"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    process = processes.popen(
        [sys.executable, "-m", "jupyter_repo", "import", str(bundle), f"--data-dir={site}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not (blobs.is_dir() and any(p.is_file() for p in blobs.rglob("*"))):
            assert process.poll() is None, "the import ended before it stored anything"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.kill()
    finally:
        process.wait(30)
    assert any(p.is_file() for p in blobs.rglob("*"))  # bytes were stored, then the kill

    repo = Repository(config=Config({"Repository": {"data_dir": str(site)}}))
    try:
        rows = repo.read(
            lambda s: [
                s.scalar(select(func.count()).select_from(model))
                for model in (models.Account, models.Package, models.File, models.Blob)
            ]
        )
        assert rows == [0, 0, 0, 0]
        report = consistency.check(repo)
        assert report.removed_orphan_blobs >= 1
        assert not any(p.is_file() for p in blobs.rglob("*"))
        assert list(site.glob("tmp/*.part")) == []
    finally:
        repo.close()
