"""Records, ``channeldata.json`` and ``run_exports.json`` as conda-index writes them.

conda-index needs conda, which is not installable from PyPI, so it cannot run here: the
expected documents under ``tests/indexes/expected/conda_index_rules/`` were derived by hand
from its rules (conda-index 0.13, ``conda_index/index/cache.py`` and
``conda_index/index/__init__.py``) for the packages built below. Checksums and sizes depend
on the bytes the builder writes (a ``.conda``'s zip carries the time it was made), so the
expected records leave them out and the test adds the file's own, as conda-index does.

What the packages exercise: every ``info/index.json`` key conda-index drops; an
``info/run_exports.json``; ``info/about.json`` and recipe fields; prefix, activation and
link-script flags from ``info/paths.json``; two builds of one version (the newest
timestamp wins); a newer version uploaded before an older one (the newest version's fields
win, whatever the upload order); a field only an older version has; a ``.tar.bz2`` next to
the ``.conda`` of the same build; timestamps in milliseconds and in seconds.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_repo.demo import builders
from jupyter_repo.repository.indexes.channeldata import ChanneldataRow, document
from tests.support import processes, publish
from tests.support.paths import ROOT
from tests.support.server import RepoServer

EXPECTED = Path(__file__).parent / "expected" / "conda_index_rules"

#: Every key conda-index leaves out of a repodata record, with a value of the usual kind.
DROPPED = {
    "arch": "x86_64",
    "platform": "linux",
    "binstar": {"channel": "main", "package_id": "5f0c"},
    "has_prefix": True,
    "machine": "x86_64",
    "mtime": 1_699_999_000,
    "operatingsystem": "linux",
    "requires_features": {"blas": "openblas"},
    "target-triplet": "x86_64-conda-linux-gnu",
    "ucs": 4,
}


def _about(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def _paths(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"paths": entries, "paths_version": 1}).encode()


#: (name, version, build, subdir, format, builder arguments), in upload order.
PACKAGES: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    # 2.0 first: upload order must not decide what channeldata calls the newest version.
    (
        "rules-lib",
        "2.0",
        "h1_1",
        "linux-64",
        ".tar.bz2",
        {
            "build_number": 1,
            "license": "MIT",
            "index_overrides": {**DROPPED, "timestamp": 1_700_000_100_000},
            "payload": {
                "lib/librules.so": b"\x7fELF rules 2.0",
                "bin/.rules-lib-post-link.sh": b"#!/bin/sh\necho linked\n",
            },
            "extra_info": {
                "info/about.json": _about(
                    summary="Rules, second edition.\n",
                    home="https://example.org/rules-lib/2",
                    dev_url="https://git.example.org/rules-lib",
                ),
                "info/run_exports.json": json.dumps(
                    {"weak": ["rules-lib >=2.0,<3"], "strong": ["rules-rt >=2"]}
                ).encode(),
            },
        },
    ),
    # An older build of the same version: channeldata ignores it (older timestamp).
    (
        "rules-lib",
        "2.0",
        "h0_0",
        "linux-64",
        ".conda",
        {
            "index_overrides": {"timestamp": 1_700_000_050_000},
            "payload": {"lib/librules.so": b"\x7fELF rules 2.0 stale"},
            "extra_info": {
                "info/about.json": _about(
                    summary="A stale build's summary", description="Never shown."
                ),
                "info/run_exports.json": json.dumps({"weak": ["rules-lib-stale"]}).encode(),
            },
        },
    ),
    (
        "rules-lib",
        "1.0",
        "h0_0",
        "linux-64",
        ".conda",
        {
            "index_overrides": {**DROPPED, "timestamp": 1_700_000_000_000},
            "payload": {
                "etc/conda/activate.d/rules-lib.sh": b"export RULES=1\n",
                "bin/rules": f"#!/bin/sh\necho {builders.PREFIX_PLACEHOLDER}\n".encode(),
            },
            "extra_info": {
                "info/about.json": _about(
                    summary="Rules, first edition.",
                    description="Line one\nline two\n",
                    home="https://example.org/rules-lib",
                    doc_url="https://docs.example.org/rules-lib",
                    keywords=["rules", "index"],
                    tags=["demo"],
                    identifiers=["doi:10.0000/rules"],
                    recipe_origin="https://git.example.org/rules-lib-feedstock",
                    license="Apache-2.0",
                ),
                "info/run_exports.json": json.dumps({"weak": ["rules-lib >=1.0,<2"]}).encode(),
                "info/recipe/meta.yaml": (
                    b"package:\n  name: rules-lib\n  version: '1.0'\n"
                    b"source:\n  url: https://example.org/rules-lib-1.0.tar.gz\n"
                    b"  git_url: https://git.example.org/rules-lib.git\n"
                    b"  sha256: 00ff\n"
                ),
            },
        },
    ),
    # An older version built last (timestamp in seconds): fills only what 2.0 lacks.
    (
        "rules-lib",
        "1.5",
        "0",
        "noarch",
        ".conda",
        {
            "index_overrides": {"timestamp": 1_700_000_200},
            "payload": {"share/rules-lib/data.bin": b"rules data"},
            "extra_info": {
                "info/about.json": _about(
                    summary="Rules, in between.",
                    keywords=["in-between"],
                    doc_source_url="https://git.example.org/rules-lib/docs",
                    doc_url="https://docs.example.org/rules-lib/1.5",
                ),
                "info/paths.json": _paths(
                    [
                        {
                            "_path": "share/rules-lib/data.bin",
                            "path_type": "hardlink",
                            "file_mode": "binary",
                            "prefix_placeholder": builders.PREFIX_PLACEHOLDER,
                            "sha256": hashlib.sha256(b"rules data").hexdigest(),
                            "size_in_bytes": 10,
                        }
                    ]
                ),
            },
        },
    ),
    # One build in both formats: run_exports.json lists both; channeldata counts it once.
    *(
        (
            "rules-tool",
            "0.1",
            "0",
            "noarch",
            fmt,
            {
                "payload": {
                    "etc/conda/deactivate.d/rules-tool.sh": b"unset RULES\n",
                    "bin/.rules-tool-pre-unlink.sh": b"#!/bin/sh\n",
                    "bin/.rules-tool-pre-link.sh": b"#!/bin/sh\n",
                },
                "summary": "The rules tool",
            },
        )
        for fmt in (".conda", ".tar.bz2")
    ),
]


@dataclass
class RulesChannel:
    url: str
    files: dict[str, Path]  # by "<subdir>/<filename>"


@pytest.fixture(scope="module")
def rules_channel(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> RulesChannel:
    owner = server.create_user(f"ci{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    work = tmp_path_factory.mktemp("rules")
    files = {}
    for name, version, build, subdir, fmt, arguments in PACKAGES:
        path = builders.conda_package(
            work / f"{subdir}-{fmt}",
            name,
            version,
            build=build,
            subdir=subdir,
            fmt=fmt,
            **arguments,
        )
        publish.upload(server, token, owner, path, package=name, version=version, subdir=subdir)
        files[f"{subdir}/{path.name}"] = path
    return RulesChannel(f"{server.url}/conda/{owner}", files)


def _expected(name: str) -> Any:
    return json.loads((EXPECTED / name).read_text())


def _get(url: str, **headers: str) -> requests.Response:
    response = requests.get(url, headers=headers, timeout=30)
    assert response.status_code in (200, 304), response.text
    return response


@pytest.mark.parametrize("subdir", ["linux-64", "noarch"])
def test_records_are_index_json_without_the_keys_conda_index_drops(
    rules_channel: RulesChannel, subdir: str
) -> None:
    repodata = _get(f"{rules_channel.url}/{subdir}/repodata.json").json()
    expected = _expected(f"{subdir}.repodata.json")
    for section in ("packages", "packages.conda"):
        for filename, record in expected[section].items():
            data = rules_channel.files[f"{subdir}/{filename}"].read_bytes()
            record.update(
                md5=hashlib.md5(data).hexdigest(),
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
            )
    assert repodata == expected
    for section in ("packages", "packages.conda"):
        for record in repodata[section].values():
            assert not set(DROPPED) & set(record)


@pytest.mark.parametrize("subdir", ["linux-64", "noarch"])
def test_run_exports_json_per_subdir(rules_channel: RulesChannel, subdir: str) -> None:
    url = f"{rules_channel.url}/{subdir}/run_exports.json"
    first = _get(url)
    assert first.headers["Content-Type"].startswith("application/json")
    assert first.json() == _expected(f"{subdir}.run_exports.json")
    # Cached like repodata.json: a strong ETag, 304 on revalidation, HEAD without a body.
    etag = first.headers["ETag"]
    assert (
        etag.startswith('"')
        and etag != _get(url[: -len("run_exports.json")] + "repodata.json").headers["ETag"]
    )
    again = _get(url, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    head = requests.head(url, timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(first.content))


def test_channeldata_follows_conda_index(rules_channel: RulesChannel) -> None:
    channeldata = _get(f"{rules_channel.url}/channeldata.json").json()
    assert channeldata == _expected("channeldata.json")


def test_a_new_upload_changes_run_exports_json_and_its_etag(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"ce{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    url = f"{server.url}/conda/{owner}/noarch/run_exports.json"
    empty = _get(url)
    assert empty.json() == {
        "info": {"subdir": "noarch", "version": 1},
        "packages": {},
        "packages.conda": {},
    }
    publish.conda(
        server,
        token,
        owner,
        tmp_path,
        "exporter",
        "1.0",
        extra_info={"info/run_exports.json": b'{"weak": ["exporter >=1.0"]}'},
    )
    after = _get(url, **{"If-None-Match": empty.headers["ETag"]})
    assert after.status_code == 200
    assert after.json()["packages.conda"] == {
        "exporter-1.0-0.conda": {"run_exports": {"weak": ["exporter >=1.0"]}}
    }


def test_rattler_installs_from_the_channel(rules_channel: RulesChannel, tmp_path: Path) -> None:
    """py-rattler still reads the records (and solves with the newest build)."""
    job = json.dumps(
        {
            "cases": [
                {
                    "channels": [rules_channel.url],
                    "specs": ["rules-lib 2.0.*", "rules-tool"],
                    "prefix": str(tmp_path / "env"),
                }
            ],
            "cache": str(tmp_path / "cache"),
        }
    )
    process = processes.run(
        [sys.executable, "-m", "tests.support.rattler_client", job],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    results = [
        json.loads(line[len("RESULT ") :])
        for line in process.stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    assert results, process.stdout + process.stderr
    (result,) = results[0]
    assert result["ok"], result
    assert result["installed"] == {"rules-lib": "2.0", "rules-tool": "0.1"}
    assert any(url.endswith("rules-lib-2.0-h1_1.tar.bz2") for url in result["urls"])


def test_recipe_aliases_and_oversized_about_fields_stay_bounded(
    server: RepoServer, tmp_path: Path
) -> None:
    """A recipe whose ``source`` is a YAML alias bomb (nine levels of nine-fold references:
    tiny as YAML, 9**10 items as JSON) and an about.json with a 1 MB summary: the upload is
    accepted and channeldata keeps only bounded text (the recipe's non-text values are left
    out, long texts cut)."""
    levels = "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
    )
    bomb = (
        f"a: &a [x,x,x,x,x,x,x,x,x]\n{levels}source:\n  url: *j\n  git_url: https://g.example/x\n"
    )
    owner = server.create_user(f"cb{uuid.uuid4().hex[:8]}")
    publish.conda(
        server,
        server.token(owner),
        owner,
        tmp_path,
        "bomb-lib",
        "1.0",
        extra_info={
            "info/recipe/meta.yaml": bomb.encode(),
            "info/about.json": _about(summary="s" * 1_000_000, keywords=["k"] * 10_000),
        },
    )
    response = _get(f"{server.url}/conda/{owner}/channeldata.json")
    entry = response.json()["packages"]["bomb-lib"]
    assert "source_url" not in entry
    assert entry["source_git_url"] == "https://g.example/x"
    assert entry["summary"] == "s" * 2_000
    assert entry["keywords"] == ["k"] * 100
    assert len(response.content) < 20_000


@pytest.mark.parametrize("newer_first", [True, False], ids=["newer-first", "older-first"])
@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.9", "1.10"),
        ("1.0rc1", "1.0"),
        ("1.0.dev1", "1.0"),
        ("1.0", "1.0.post1"),
        ("9.9", "1!0.1"),
        ("1.0+local", "1.0"),
        ("not a version", "0.1"),
    ],
)
def test_channeldata_newest_version_is_conda_version_order(
    older: str, newer: str, newer_first: bool
) -> None:
    """Not upload order, not string order, not the order the subdirs are visited in; the
    older version keeps the later timestamp. A version conda cannot parse counts as oldest."""
    subdirs = ("linux-64", "noarch") if newer_first else ("noarch", "linux-64")
    rows = [
        ChanneldataRow(
            subdir,
            f"p-{version}-0.conda",
            {"name": "p", "version": version, "timestamp": stamp, "summary": f"about {version}"},
        )
        for subdir, version, stamp in ((subdirs[0], newer, 100), (subdirs[1], older, 200))
    ]
    entry = json.loads(document(rows))["packages"]["p"]
    assert (entry["version"], entry["summary"]) == (newer, f"about {newer}")
    assert entry["timestamp"] == 200
