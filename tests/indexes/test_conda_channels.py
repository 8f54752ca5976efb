"""Conda channels per namespace and label, against a real server, with py-rattler as client."""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import msgpack
import pytest
import requests

from jupyter_repo.demo import builders
from tests.support import publish
from tests.support.rattler_client import run_rattler
from tests.support.scaleout import wait_for_static_indexes
from tests.support.server import RepoServer

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[no-redef]


@dataclass
class Channel:
    owner: str
    token: str  # the owner's full token (uploads)
    read_token: str  # a conda:download token
    url: str  # /conda/<owner>
    files: dict[str, Path]


@pytest.fixture(scope="module")
def channel(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Channel:
    """greet-app (noarch) needs greet-lib (linux-64); newer builds on ``dev``; one private."""
    owner = server.create_user(f"ch{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    work = tmp_path_factory.mktemp("channel")
    files = {
        "lib1": publish.conda(
            server, token, owner, work, "greet-lib", "1.0", subdir="linux-64", build="h0_0"
        ),
        "lib2": publish.conda(
            server,
            token,
            owner,
            work,
            "greet-lib",
            "2.0",
            subdir="linux-64",
            build="h0_0",
            fmt=".tar.bz2",
            labels=("dev",),
        ),
        "app1": publish.conda(
            server, token, owner, work, "greet-app", "0.1", depends=["greet-lib >=1.0"]
        ),
        "app2": publish.conda(
            server,
            token,
            owner,
            work,
            "greet-app",
            "0.2",
            depends=["greet-lib >=2.0"],
            labels=("dev",),
        ),
        "secret": publish.conda(
            server,
            token,
            owner,
            work,
            "secret-tool",
            "1.0",
            subdir="linux-64",
            build="h0_0",
            private=True,
            depends=["greet-lib >=1.0"],
        ),
    }
    read_token = server.token(owner, ["conda:download"])
    url = f"{server.url}/conda/{owner}"
    wait_for_static_indexes(server, f"{url}/linux-64/repodata.json", f"{url}/noarch/repodata.json")
    return Channel(owner, token, read_token, url, files)


def test_rattler_solves_and_installs_by_label_token_and_noarch(
    server: RepoServer, channel: Channel, tmp_path: Path
) -> None:
    base = channel.url
    prefixes = {
        name: tmp_path / name for name in ("main", "dev", "anonymous", "root_token", "conda_token")
    }
    cases = [
        {"channels": [base], "specs": ["greet-app"], "prefix": str(prefixes["main"])},
        # Monolithic repodata (.zst) for this one; shards for the others.
        {
            "channels": [f"{base}/label/dev", base],
            "specs": ["greet-app"],
            "prefix": str(prefixes["dev"]),
            "sharded": False,
        },
        {"channels": [base], "specs": ["secret-tool"], "prefix": str(prefixes["anonymous"])},
        {
            "channels": [f"{server.url}/t/{channel.read_token}/conda/{channel.owner}"],
            "specs": ["secret-tool"],
            "prefix": str(prefixes["root_token"]),
        },
        {
            "channels": [f"{server.url}/conda/t/{channel.read_token}/{channel.owner}"],
            "specs": ["secret-tool"],
            "prefix": str(prefixes["conda_token"]),
            "sharded": False,
        },
    ]
    main, dev, anonymous, root_token, conda_token = run_rattler(cases, tmp_path / "cache")

    # main: the noarch app and its linux-64 dependency; dev is not seen unless asked for.
    assert main["ok"], main
    assert main["installed"] == {"greet-app": "0.1", "greet-lib": "1.0"}
    app_script = (prefixes["main"] / "bin" / "greet-app").read_text()
    assert str(prefixes["main"]) in app_script  # the prefix placeholder was replaced
    assert (prefixes["main"] / "share" / "greet-lib" / "VERSION").read_text() == "1.0\n"
    assert (prefixes["main"] / "conda-meta").is_dir()

    # dev asked for: the newer builds that exist only on dev.
    assert dev["ok"], dev
    assert dev["installed"] == {"greet-app": "0.2", "greet-lib": "2.0"}
    assert (prefixes["dev"] / "share" / "greet-lib" / "VERSION").read_text() == "2.0\n"
    assert (prefixes["dev"] / "share" / "greet-app" / "VERSION").read_text() == "0.2\n"

    # The private package: invisible without a token, installable with one in either place.
    assert not anonymous["ok"] and "secret-tool" in anonymous["error"]
    assert not (prefixes["anonymous"] / "share" / "secret-tool").exists()
    for result, prefix in (
        (root_token, prefixes["root_token"]),
        (conda_token, prefixes["conda_token"]),
    ):
        assert result["ok"], result
        assert result["installed"] == {"secret-tool": "1.0", "greet-lib": "1.0"}
        assert (prefix / "share" / "secret-tool" / "VERSION").read_text() == "1.0\n"
        assert (prefix / "bin" / "secret-tool").exists()


def _get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=30)


def test_repodata_records_caching_and_status_codes(server: RepoServer, channel: Channel) -> None:
    url = f"{channel.url}/linux-64/repodata.json"
    first = _get(url)
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/json")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    repodata = first.json()
    assert repodata["info"]["subdir"] == "linux-64"
    assert repodata["repodata_version"] == 1
    record = repodata["packages.conda"]["greet-lib-1.0-h0_0.conda"]
    lib = channel.files["lib1"].read_bytes()
    assert record["sha256"] == hashlib.sha256(lib).hexdigest()
    assert record["md5"] == hashlib.md5(lib).hexdigest()
    assert record["size"] == len(lib)
    for key in (
        "name",
        "version",
        "build",
        "build_number",
        "depends",
        "license",
        "subdir",
        "timestamp",
    ):
        assert key in record
    assert "greet-lib-2.0-h0_0.tar.bz2" not in repodata["packages"]  # dev only
    assert not any("secret-tool" in name for name in repodata["packages.conda"])  # private

    # The same document with a token that may read the private package: private caching.
    private = _get(url.replace("/conda/", f"/conda/t/{channel.read_token}/"))
    assert "secret-tool-1.0-h0_0.conda" in private.json()["packages.conda"]
    assert private.headers["Cache-Control"].startswith("private")
    assert private.headers["ETag"] != etag
    bearer = _get(url, Authorization=f"Bearer {channel.read_token}")
    assert bearer.content == private.content
    # A refused token gets the public view (with a warning), never the private one.
    refused = _get(url.replace("/conda/", "/t/not-a-real-token-42/conda/"))
    assert refused.status_code == 200 and refused.content == first.content
    assert "invalid, expired or revoked" in refused.headers["Warning"]
    # A valid token without rights over the owner's private packages: the public view.
    stranger = server.create_user(f"x{uuid.uuid4().hex[:8]}")
    assert _get(url, Authorization=f"token {server.token(stranger)}").content == first.content

    # Conditional requests and HEAD; views with other rights never match each other.
    not_modified = _get(url, **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["ETag"] == etag
    assert not_modified.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert requests.head(url, headers={"If-None-Match": etag}, timeout=30).status_code == 304
    assert _get(url, **{"If-None-Match": private.headers["ETag"]}).status_code == 200
    assert (
        _get(
            url,
            **{
                "If-None-Match": private.headers["ETag"],
                "Authorization": f"token {channel.read_token}",
            },
        ).status_code
        == 304
    )
    assert (
        _get(
            url, **{"If-None-Match": etag, "Authorization": f"token {channel.read_token}"}
        ).status_code
        == 200
    )
    modified = first.headers["Last-Modified"]
    later = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(modified).replace(year=2100), usegmt=True
    )
    # If-Modified-Since alone (one-second resolution) is honoured once the change is over a
    # second old, so that two changes within a second are never hidden from such clients.
    deadline = time.monotonic() + 3
    while _get(url, **{"If-Modified-Since": later}).status_code != 304:
        assert time.monotonic() < deadline, "If-Modified-Since never answered 304"
        time.sleep(0.1)
    earlier = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(modified).replace(year=2001), usegmt=True
    )
    assert _get(url, **{"If-Modified-Since": earlier}).status_code == 200
    assert _get(url, **{"If-None-Match": '"stale"'}).status_code == 200
    head = requests.head(url, timeout=30)
    assert head.status_code == 200 and head.content == b""
    # (requests asks for gzip: HEAD describes the same gzip answer as GET.)
    assert head.headers["Content-Length"] == first.headers["Content-Length"]
    assert head.headers["ETag"] == etag and head.headers["Content-Encoding"] == "gzip"

    # The .zst is the same document, compressed once; noarch always exists.
    compressed = _get(url + ".zst")
    assert zstd.decompress(compressed.content) == first.content
    assert _get(url + ".zst", **{"If-None-Match": compressed.headers["ETag"]}).status_code == 304
    assert requests.head(url + ".zst", timeout=30).status_code == 200
    noarch = _get(f"{channel.url}/noarch/repodata.json").json()
    assert "greet-app-0.1-0.conda" in noarch["packages.conda"]
    assert noarch["packages.conda"]["greet-app-0.1-0.conda"]["noarch"] == "generic"
    assert _get(f"{channel.url}/label/dev/noarch/repodata.json").status_code == 200

    # Package files: Range, ETag, HEAD, immutable caching; private ones with a token.
    file_url = f"{channel.url}/linux-64/greet-lib-1.0-h0_0.conda"
    part = _get(file_url, Range="bytes=10-19")
    assert part.status_code == 206 and part.content == lib[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(lib)}"
    whole = _get(file_url)
    assert whole.content == lib and "immutable" in whole.headers["Cache-Control"]
    assert _get(file_url, **{"If-None-Match": whole.headers["ETag"]}).status_code == 304
    assert requests.head(file_url, timeout=30).headers["Content-Length"] == str(len(lib))
    secret = _get(
        f"{server.url}/t/{channel.read_token}/conda/{channel.owner}/linux-64/"
        "secret-tool-1.0-h0_0.conda"
    )
    assert secret.content == channel.files["secret"].read_bytes()

    channeldata = _get(f"{channel.url}/channeldata.json").json()
    assert channeldata["packages"]["greet-lib"]["subdirs"] == ["linux-64"]
    assert set(channeldata["subdirs"]) == {"linux-64", "noarch"}
    assert "secret-tool" not in channeldata["packages"]


@pytest.mark.parametrize("subdir", ["noarch", "osx-arm64", "win-64"])
def test_a_new_owners_channel_has_empty_valid_repodata(server: RepoServer, subdir: str) -> None:
    """Also for platforms nothing was ever uploaded for."""
    newcomer = server.create_user(f"n{uuid.uuid4().hex[:8]}")
    empty = _get(f"{server.url}/conda/{newcomer}/{subdir}/repodata.json")
    assert empty.status_code == 200 and empty.content
    assert empty.json() == {
        "info": {"subdir": subdir},
        "packages": {},
        "packages.conda": {},
        "removed": [],
        "repodata_version": 1,
    }


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param("{channel}/linux-64/repodata.json.bz2", id="repodata-bz2"),
        pytest.param("{channel}/linux-64/current_repodata.json", id="current-repodata"),
        pytest.param("{channel}/notices.json", id="notices"),
        pytest.param("{channel}/label/nope/noarch/repodata.json", id="unknown-label"),
        pytest.param("{server}/conda/nobody-{unique}/noarch/repodata.json", id="unknown-owner"),
        pytest.param("{channel}/not-a-subdir/repodata.json", id="not-a-subdir"),
        pytest.param("{channel}/linux-64/secret-tool-1.0-h0_0.conda", id="private-file-anonymous"),
    ],
)
def test_what_is_not_there_is_a_json_404(
    server: RepoServer, channel: Channel, unique: str, missing: str
) -> None:
    """Real 404s (JSON, never HTML), which conda and rattler take for "not there"."""
    response = _get(missing.format(channel=channel.url, server=server.url, unique=unique))
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")


def test_error_answers_keep_the_connection_alive(server: RepoServer, channel: Channel) -> None:
    """conda and rattler reuse connections: a 404 probe or a 401 must not reset them."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    base = f"/conda/{channel.owner}/noarch"
    for method, path, headers, status in (
        ("HEAD", f"{base}/repodata.json.bz2", {}, 404),
        ("GET", f"{base}/repodata.json", {}, 200),
        # A refused token: the public answer, or 401 for what anonymous callers cannot see.
        ("GET", f"{base}/repodata.json", {"Authorization": "token jr-bad-token-000000"}, 200),
        (
            "GET",
            "/conda/nobody-here/noarch/repodata.json",
            {"Authorization": "token jr-bad-token-000000"},
            401,
        ),
        ("HEAD", f"{base}/repodata.json.zst", {}, 200),
        ("GET", "/conda/nobody-here/noarch/repodata.json", {}, 404),
        ("GET", f"{base}/repodata_shards.msgpack.zst", {}, 200),
    ):
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == status, path
        assert response.getheader("Connection") != "close"
    connection.close()


def _records_from_shards(base: str, subdir: str, **headers: str) -> dict[str, dict]:
    """Every record reachable through the shard index, as in repodata.json (hex hashes)."""
    index_response = _get(f"{base}/{subdir}/repodata_shards.msgpack.zst", **headers)
    assert index_response.status_code in (200, 404)  # 404 or valid, nothing else
    if index_response.status_code == 404:
        return {}
    index = msgpack.unpackb(zstd.decompress(index_response.content))
    assert index["info"]["subdir"] == subdir
    assert {"base_url", "shards_base_url"} <= set(index["info"])
    records: dict[str, dict] = {}
    for name, digest in index["shards"].items():
        assert len(digest) == 32
        shard_response = _get(f"{base}/{subdir}/shards/{digest.hex()}.msgpack.zst", **headers)
        assert shard_response.status_code == 200, name
        assert hashlib.sha256(shard_response.content).digest() == digest
        assert "immutable" in shard_response.headers["Cache-Control"]
        shard = msgpack.unpackb(zstd.decompress(shard_response.content))
        for key in ("packages", "packages.conda"):
            for filename, record in shard[key].items():
                assert record["name"] == name
                records[filename] = {
                    field: value.hex() if isinstance(value, bytes) else value
                    for field, value in record.items()
                }
    return records


@pytest.mark.parametrize(
    ("label", "subdir", "with_token"),
    [
        pytest.param(None, "linux-64", False, id="linux-64"),
        pytest.param(None, "noarch", False, id="noarch"),
        pytest.param(None, "osx-64", False, id="osx-64-empty"),
        pytest.param("dev", "linux-64", False, id="dev-linux-64"),
        pytest.param(None, "linux-64", True, id="linux-64-with-token"),
    ],
)
def test_sharded_repodata_is_404_or_valid_and_matches_repodata(
    channel: Channel, label: str | None, subdir: str, with_token: bool
) -> None:
    base = f"{channel.url}/label/{label}" if label else channel.url
    headers = {"Authorization": f"token {channel.read_token}"} if with_token else {}
    from_shards = _records_from_shards(base, subdir, **headers)
    repodata = _get(f"{base}/{subdir}/repodata.json", **headers).json()
    monolithic = {**repodata["packages"], **repodata["packages.conda"]}
    assert from_shards == monolithic


def test_private_shards_need_a_token(channel: Channel) -> None:
    anonymous = _records_from_shards(channel.url, "linux-64")
    assert not any(name.startswith("secret-tool") for name in anonymous)
    assert _get(f"{channel.url}/linux-64/shards/{'0' * 64}.msgpack.zst").status_code == 404

    # The private package's shard is not served without a token, even by its hash.
    index = msgpack.unpackb(
        zstd.decompress(
            _get(
                f"{channel.url}/linux-64/repodata_shards.msgpack.zst",
                Authorization=f"token {channel.read_token}",
            ).content
        )
    )
    secret = index["shards"]["secret-tool"].hex()
    assert _get(f"{channel.url}/linux-64/shards/{secret}.msgpack.zst").status_code == 404
    assert (
        _get(
            f"{channel.url}/linux-64/shards/{secret}.msgpack.zst",
            Authorization=f"token {channel.read_token}",
        ).status_code
        == 200
    )


def test_upload_to_dev_linux64_leaves_other_indexes_byte_identical(
    server: RepoServer, channel: Channel, tmp_path: Path
) -> None:
    untouched = (
        [
            f"{channel.url}/{subdir}/{document}"
            for subdir in ("linux-64", "noarch")
            for document in ("repodata.json", "repodata.json.zst", "repodata_shards.msgpack.zst")
        ]
        + [
            f"{channel.url}/label/dev/noarch/{document}"
            for document in ("repodata.json", "repodata.json.zst", "repodata_shards.msgpack.zst")
        ]
        + [f"{channel.url}/channeldata.json"]
    )
    changed = f"{channel.url}/label/dev/linux-64/repodata.json"
    changed_shards = f"{channel.url}/label/dev/linux-64/repodata_shards.msgpack.zst"
    before = {url: _get(url) for url in [*untouched, changed, changed_shards]}
    publish.conda(
        server,
        channel.token,
        channel.owner,
        tmp_path,
        "extra-tool",
        "1.0",
        subdir="linux-64",
        build="h0_0",
        labels=("dev",),
    )
    # In the index that did change, only the new name's shard is new.
    old_shards = msgpack.unpackb(zstd.decompress(before[changed_shards].content))["shards"]
    new_shards = msgpack.unpackb(zstd.decompress(_get(changed_shards).content))["shards"]
    assert set(new_shards) == {*old_shards, "extra-tool"}
    assert {name: new_shards[name] for name in old_shards} == old_shards
    for url in untouched:
        after = _get(url)
        assert after.content == before[url].content, url
        assert after.headers["ETag"] == before[url].headers["ETag"], url
        assert _get(url, **{"If-None-Match": after.headers["ETag"]}).status_code == 304, url
    dev = _get(changed)
    assert dev.headers["ETag"] != before[changed].headers["ETag"]
    assert "extra-tool-1.0-h0_0.conda" in dev.json()["packages.conda"]


def test_fifty_parallel_uploads_all_listed(server: RepoServer, tmp_path: Path) -> None:
    owner = server.create_user(f"par{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    paths = [
        builders.conda_package(
            tmp_path / str(index), f"par-{index}", "1.0", subdir="linux-64", build="h0_0"
        )
        for index in range(50)
    ]

    def send(path: Path) -> None:
        name = path.name.split("-1.0-")[0]
        publish.upload(server, token, owner, path, package=name, version="1.0", subdir="linux-64")

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(send, paths))
    base = f"{server.url}/conda/{owner}/linux-64"
    plain = _get(f"{base}/repodata.json")
    assert set(plain.json()["packages.conda"]) == {path.name for path in paths}
    assert zstd.decompress(_get(f"{base}/repodata.json.zst").content) == plain.content
    assert len(_records_from_shards(f"{server.url}/conda/{owner}", "linux-64")) == 50


def test_removal_relabel_and_visibility_update_the_indexes(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"ed{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    api = server.session(token)
    first = publish.conda(server, token, owner, tmp_path, "tool", "1.0")
    second = publish.conda(server, token, owner, tmp_path, "tool", "1.1")
    main = f"{server.url}/conda/{owner}/noarch/repodata.json"
    dev = f"{server.url}/conda/{owner}/label/dev/noarch/repodata.json"

    def files(url: str) -> set[str]:
        return set(_get(url).json()["packages.conda"])

    assert files(main) == {first.name, second.name}
    assert api.post(f"{server.api}/channels/{owner}/main/copy/dev").status_code == 201
    assert files(dev) == {first.name, second.name}
    removed = api.delete(f"{server.api}/dist/{owner}/tool/1.0/noarch/{first.name}")
    assert removed.status_code == 200
    assert files(main) == {second.name}
    assert files(dev) == {second.name}
    hidden = api.patch(f"{server.api}/package/{owner}/tool", json={"public": False})
    assert hidden.status_code == 200
    assert files(main) == set()
    assert files(main.replace("/conda/", f"/conda/t/{token}/")) == {second.name}
    shards_index = msgpack.unpackb(
        zstd.decompress(
            _get(f"{server.url}/conda/{owner}/noarch/repodata_shards.msgpack.zst").content
        )
    )
    assert shards_index["shards"] == {}


def test_a_second_server_process_sees_uploads_at_once(
    server: RepoServer, channel: Channel, tmp_path: Path
) -> None:
    """Two processes on one database: nothing about the index lives only in memory."""
    url = f"/conda/{channel.owner}/linux-64/repodata.json"
    if hasattr(server, "processes"):  # the scaled-out tier: its two processes
        first, second = server.processes
        _first_then_second(first, second, channel, url, tmp_path)
        return
    second = RepoServer(tmp_path / "second", config={"ServeApp.consistency_grace": 900})
    second.data_dir = server.data_dir
    with contextlib.closing(second.start()):
        _first_then_second(server, second, channel, url, tmp_path)


def _first_then_second(
    server: RepoServer, second: RepoServer, channel: Channel, url: str, tmp_path: Path
) -> None:
    before = _get(second.url + url)
    assert before.content == _get(server.url + url).content
    assert before.headers["ETag"] == _get(server.url + url).headers["ETag"]
    publish.conda(
        server,
        channel.token,
        channel.owner,
        tmp_path,
        "late-lib",
        "1.0",
        subdir="linux-64",
        build="h0_0",
    )
    after = _get(second.url + url, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "late-lib-1.0-h0_0.conda" in after.json()["packages.conda"]
    assert after.content == _get(server.url + url).content
    assert _get(server.url + url, **{"If-None-Match": after.headers["ETag"]}).status_code == 304


def test_pruned_change_log_and_retired_shards(server: RepoServer, tmp_path: Path) -> None:
    """Housekeeping: a cache older than the pruned change log rebuilds in full (still right),
    and shards replaced long enough ago are deleted while current ones stay."""
    from jupyter_repo.repository.indexes import journal, shards
    from jupyter_repo.repository.models import now_ms

    owner = server.create_user(f"gc{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    base = f"{server.url}/conda/{owner}"
    publish.conda(server, token, owner, tmp_path, "keep", "1.0")
    old = _records_from_shards(base, "noarch")  # the server holds this revision now
    old_index = msgpack.unpackb(
        zstd.decompress(_get(f"{base}/noarch/repodata_shards.msgpack.zst").content)
    )
    old_shard = f"{base}/noarch/shards/{old_index['shards']['keep'].hex()}.msgpack.zst"
    server.call(journal.prune, older_than_ms=now_ms() + 1)  # forget every change so far
    publish.conda(server, token, owner, tmp_path, "keep", "1.1")
    publish.conda(server, token, owner, tmp_path, "other", "1.0")
    names = set(_get(f"{base}/noarch/repodata.json").json()["packages.conda"])
    assert names == {"keep-1.0-0.conda", "keep-1.1-0.conda", "other-1.0-0.conda"}
    new = _records_from_shards(base, "noarch")
    assert set(new) == names and set(old) == {"keep-1.0-0.conda"}

    # The replaced shard of "keep" is retired, then collected after the retention.
    index = msgpack.unpackb(
        zstd.decompress(_get(f"{base}/noarch/repodata_shards.msgpack.zst").content)
    )
    current = index["shards"]["keep"].hex()
    assert _get(old_shard).status_code == 200  # replaced, but kept for older shard indexes
    deadline = time.monotonic() + 10
    while True:  # shards are stored just after the snapshot is swapped in
        removed = server.call(shards.collect_garbage, now_ms() + shards.RETENTION_MS + 1)
        if removed:
            break
        assert time.monotonic() < deadline, "the replaced shard was never retired"
        time.sleep(0.1)
    assert _get(f"{base}/noarch/shards/{current}.msgpack.zst").status_code == 200
    assert _get(old_shard).status_code == 404
