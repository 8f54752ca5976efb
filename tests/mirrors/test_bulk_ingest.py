"""A bulk ingest (issue 22): after ``jupyter repo import`` of a few hundred mixed files into a
namespace that already holds files, every index lists exactly those files, with their hashes.

The bundle holds conda ``.conda`` and ``.tar.bz2`` files in ``linux-64`` and ``noarch``,
wheels and sdists (``jupyter_repo/demo/sample_bundle.py``); it is big enough that the
import inspects in its process pool. The expected hashes are computed here from the
bundle's own bytes (never from its manifest) and from the files uploaded before. The
session's server serves the namespace: repodata.json and its .zst, the CEP-16 shards, the
PEP 503 and PEP 691 pages, read over HTTP; pip downloads one wheel and checks its hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import msgpack
import pytest
import requests

from jupyter_repo.demo import builders
from jupyter_repo.demo.sample_bundle import sample_bundle
from jupyter_repo.repository.services.bundles import manifest_from_json
from tests.mirrors.test_bundle import import_into, upload
from tests.support import processes
from tests.support.server import RepoServer

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

#: Files in the bundle: 30 packages, 3 of them Python (an sdist and 9 wheels each).
COUNT = 300
JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class Expected:
    """One file the namespace must list: where, and its real hashes."""

    kind: str  # "conda" or "pypi"
    subdir: str | None
    project: str
    sha256: str
    md5: str


@dataclass(frozen=True)
class Ingested:
    server: RepoServer
    owner: str
    #: file name → what the indexes must say about it
    files: dict[str, Expected]
    report: dict[str, object]


def _expect(kind: str, subdir: str | None, project: str, data: bytes) -> Expected:
    return Expected(
        kind,
        subdir,
        project,
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
    )


@pytest.fixture(scope="module")
def ingested(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    root = tmp_path_factory.mktemp("bulk")
    owner = server.create_user(f"bulk{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    files: dict[str, Expected] = {}
    # Files the namespace holds before: uploaded one by one, as users do.
    before = [
        builders.conda_package(root / "a", "before", "1.0", subdir="linux-64", build="h0_0"),
        builders.conda_package(root / "b", "before", "1.1", fmt=".tar.bz2"),
        builders.wheel(root / "c", "before-wheel", "1.0"),
    ]
    for path, (package, version, subdir) in zip(
        before,
        [("before", "1.0", "linux-64"), ("before", "1.1", "noarch"), ("before-wheel", "1.0", None)],
        strict=True,
    ):
        basename = f"{subdir}/{path.name}" if subdir else path.name
        upload(server, token, owner, package, version, path, basename)
        kind = "conda" if subdir else "pypi"
        files[path.name] = _expect(kind, subdir, package, path.read_bytes())
    bundle = sample_bundle(
        root / "bulk.tar", COUNT, prefix="blk", seed=7, payloads=((600, 2), (3_000, 1))
    )
    with tarfile.open(bundle) as archive:
        manifest_member = archive.extractfile("manifest.json")
        assert manifest_member is not None
        manifest = manifest_from_json(json.load(manifest_member), max_files=COUNT)
        for package, _release, entry in manifest.files():
            member = archive.extractfile(f"files/{entry.sha256}")
            assert member is not None
            data = member.read()  # hashed here, not taken from the manifest
            name = entry.basename.rsplit("/", 1)[-1]
            files[name] = _expect(entry.distribution_type, entry.subdir, package.name, data)
    kinds = {(item.kind, item.subdir, name.rsplit(".", 1)[-1]) for name, item in files.items()}
    assert {("conda", "linux-64", "conda"), ("conda", "noarch", "bz2")} <= kinds
    assert {("pypi", None, "whl"), ("pypi", None, "gz")} <= kinds
    code, stdout, stderr = import_into(server, bundle, root, f"--namespace={owner}")
    assert code == 0, stderr
    report = json.loads(stdout)
    return Ingested(server, owner, files, report)


def test_the_import_reports_every_file_created(ingested: Ingested) -> None:
    assert ingested.report["created_files"] == COUNT
    assert ingested.report["skipped_files"] == 0
    phases = ingested.report["phases"]
    assert isinstance(phases, dict) and phases["database"] > 0


def _conda_expected(ingested: Ingested, subdir: str) -> dict[str, tuple[str, str]]:
    return {
        name: (item.sha256, item.md5)
        for name, item in ingested.files.items()
        if item.kind == "conda" and item.subdir == subdir
    }


def _listed(document: dict) -> dict[str, tuple[str, str]]:
    records = {**document["packages"], **document["packages.conda"]}
    return {name: (record["sha256"], record["md5"]) for name, record in records.items()}


@pytest.mark.parametrize("subdir", ["linux-64", "noarch"])
def test_repodata_lists_exactly_the_files_with_their_hashes(
    ingested: Ingested, subdir: str
) -> None:
    base = f"{ingested.server.url}/conda/{ingested.owner}/{subdir}"
    response = requests.get(f"{base}/repodata.json", timeout=60)
    assert response.status_code == 200
    expected = _conda_expected(ingested, subdir)
    assert len(expected) > 50
    assert _listed(response.json()) == expected
    compressed = requests.get(f"{base}/repodata.json.zst", timeout=60)
    assert compressed.status_code == 200
    assert _listed(json.loads(zstd.decompress(compressed.content))) == expected


@pytest.mark.parametrize("subdir", ["linux-64", "noarch"])
def test_shards_list_exactly_the_files_with_their_hashes(ingested: Ingested, subdir: str) -> None:
    base = f"{ingested.server.url}/conda/{ingested.owner}/{subdir}"
    index_response = requests.get(f"{base}/repodata_shards.msgpack.zst", timeout=60)
    assert index_response.status_code == 200
    index = msgpack.unpackb(zstd.decompress(index_response.content))
    listed: dict[str, tuple[str, str]] = {}
    for name, digest in index["shards"].items():
        shard_response = requests.get(f"{base}/shards/{digest.hex()}.msgpack.zst", timeout=60)
        assert shard_response.status_code == 200, name
        assert hashlib.sha256(shard_response.content).digest() == digest
        shard = msgpack.unpackb(zstd.decompress(shard_response.content))
        for key in ("packages", "packages.conda"):
            for filename, record in shard[key].items():
                assert record["name"] == name
                listed[filename] = (record["sha256"].hex(), record["md5"].hex())
    assert listed == _conda_expected(ingested, subdir)


def _pypi_expected(ingested: Ingested) -> dict[str, dict[str, str]]:
    projects: dict[str, dict[str, str]] = {}
    for name, item in ingested.files.items():
        if item.kind == "pypi":
            projects.setdefault(item.project, {})[name] = item.sha256
    return projects


def test_pep_691_pages_list_exactly_the_files_with_their_hashes(ingested: Ingested) -> None:
    simple = f"{ingested.server.url}/pypi/{ingested.owner}/simple"
    expected = _pypi_expected(ingested)
    root = requests.get(f"{simple}/", headers={"Accept": JSON}, timeout=60)
    assert root.status_code == 200
    assert {project["name"] for project in root.json()["projects"]} == set(expected)
    for project, files in expected.items():
        page = requests.get(f"{simple}/{project}/", headers={"Accept": JSON}, timeout=60)
        assert page.status_code == 200, project
        listed = {item["filename"]: item["hashes"]["sha256"] for item in page.json()["files"]}
        assert listed == files, project


LINK = re.compile(r'<a href="(?:[^"#]*/)?([^"/#]+)#sha256=([0-9a-f]{64})"')


def test_pep_503_pages_list_exactly_the_files_with_their_hashes(ingested: Ingested) -> None:
    simple = f"{ingested.server.url}/pypi/{ingested.owner}/simple"
    for project, files in _pypi_expected(ingested).items():
        page = requests.get(f"{simple}/{project}/", timeout=60)
        assert page.status_code == 200, project
        assert page.headers["Content-Type"].startswith("text/html")
        assert dict(LINK.findall(page.text)) == files, project


def test_pip_downloads_an_ingested_wheel_with_its_hash(ingested: Ingested, tmp_path: Path) -> None:
    project, files = next(
        (name, files) for name, files in sorted(_pypi_expected(ingested).items()) if "blk" in name
    )
    target = tmp_path / "pip"
    pip = processes.run(
        [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q"),
            *("--only-binary", ":all:", "-d", str(target)),
            *("--index-url", f"{ingested.server.url}/pypi/{ingested.owner}/simple"),
            f"{project}==1.9",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    (wheel,) = target.iterdir()
    assert wheel.name in files
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == files[wheel.name]
