"""Mirroring a static conda channel (indexed by py-rattler, served by ``http.server``) with
``jupyter repo mirror add/sync`` into a real server's data folder, then installing from the
mirror with py-rattler while the upstream is down."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from jupyter_repo.repository.models import File
from tests.support.rattler_client import run_rattler
from tests.support.server import RepoServer
from tests.support.static_channel import (
    StaticChannel,
    build_channel,
    cli_popen,
    reindex,
    repo_cli,
    repodata,
)

#: The upstream: two subdirs, both archive formats, a dependency between them.
PACKAGES: list[dict[str, Any]] = [
    {"name": "greet-lib", "version": "1.0", "subdir": "linux-64", "build": "h0_0"},
    {"name": "greet-lib", "version": "2.0", "subdir": "linux-64", "build": "h0_0",
     "fmt": ".tar.bz2"},
    {"name": "greet-app", "version": "0.1", "depends": ["greet-lib >=1.0"]},
    {"name": "greet-app", "version": "0.2", "depends": ["greet-lib >=2.0"], "fmt": ".tar.bz2"},
    {"name": "unwanted-tool", "version": "1.0", "subdir": "linux-64", "build": "h0_0"},
    {"name": "other-thing", "version": "3.0"},
]  # fmt: skip
#: What the filters keep of it.
MIRRORED = {
    "linux-64/greet-lib-2.0-h0_0.tar.bz2",
    "noarch/greet-app-0.1-0.conda",
    "noarch/greet-app-0.2-0.tar.bz2",
}
FILTERS = [
    "--include=greet-app",
    "--include=greet-lib >=2",
    "--include=unwanted-tool",
    "--exclude=unwanted-tool",
]


def _listed(
    server_url: str, owner: str, subdir: str, label: str = "main", token: str = ""
) -> set[str]:
    path = f"/conda/{owner}/{subdir}/repodata.json"
    if label != "main":
        path = f"/conda/{owner}/label/{label}/{subdir}/repodata.json"
    if token:
        path = f"/t/{token}{path}"
    response = requests.get(server_url + path, timeout=30)
    assert response.status_code == 200, response.text
    document = response.json()
    return {f"{subdir}/{name}" for key in ("packages", "packages.conda") for name in document[key]}


def _sync(data_dir: Path, root: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = repo_cli(["mirror", "sync", "alice", "forge", "--json", *extra], data_dir, root)
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, report, result.stderr


@pytest.fixture
def server(tmp_path: Path) -> Any:
    repo_server = RepoServer(tmp_path / "server").start()
    repo_server.create_user("alice")
    yield repo_server
    repo_server.close()


def test_mirror_filters_installs_with_upstream_down_and_resyncs_for_free(
    server: RepoServer, tmp_path: Path
) -> None:
    channel_dir = tmp_path / "upstream"
    built = build_channel(channel_dir, PACKAGES)
    upstream = StaticChannel(channel_dir, tmp_path / "upstream.log").start()
    try:
        added = repo_cli(
            ["mirror", "add", "alice", "forge", "--kind=conda", f"--upstream={upstream.url}",
             "--subdir=noarch", "--subdir=linux-64", *FILTERS],
            server.data_dir, server.root,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr

        # A dry run lists what a sync would fetch and changes nothing.
        code, planned, stderr = _sync(server.data_dir, server.root, "--dry-run")
        assert code == 0, stderr
        assert planned["dry_run"] and set(planned["files"]) == MIRRORED
        assert _listed(server.url, "alice", "noarch") == set()

        code, report, stderr = _sync(server.data_dir, server.root)
        assert code == 0, stderr
        assert set(report["files"]) == MIRRORED
        assert report["fetched"] == 3 and report["failed"] == []
        assert report["fetched_bytes"] == sum(built[name].stat().st_size for name in MIRRORED)
        assert report["filtered_out"] == len(PACKAGES) - 3
    finally:
        upstream.stop()

    # Filtered-out packages are absent from the mirror's repodata.
    listed = _listed(server.url, "alice", "noarch") | _listed(server.url, "alice", "linux-64")
    assert listed == MIRRORED

    # The upstream is down; py-rattler installs from the mirror.
    result = run_rattler(
        [{"channels": [f"{server.url}/conda/alice"], "specs": ["greet-app"],
          "prefix": str(tmp_path / "prefix"), "sharded": False, "zstd": False}],
        tmp_path / "rattler-cache",
    )[0]  # fmt: skip
    assert result["ok"], result
    assert result["installed"] == {"greet-app": "0.2", "greet-lib": "2.0"}
    assert all(url.startswith(server.url) for url in result["urls"])
    assert (tmp_path / "prefix" / "share" / "greet-app" / "VERSION").read_text() == "0.2\n"

    # Mirrored files are ordinary files, marked with their origin (API and web page).
    dist = "alice/greet-app/0.2/noarch/greet-app-0.2-0.tar.bz2"
    origin = f"{upstream.url}noarch/greet-app-0.2-0.tar.bz2"
    assert requests.get(f"{server.api}/dist/{dist}", timeout=30).json()["origin_url"] == origin
    page = requests.get(f"{server.url}/alice/greet-app/files/0.2/noarch/greet-app-0.2-0.tar.bz2")
    assert page.status_code == 200 and f"Mirrored from <code>{origin}</code>" in page.text
    package_page = requests.get(f"{server.url}/alice/greet-app", timeout=30)
    assert f'title="{origin}">mirrored</span>' in package_page.text

    # A second sync of the unchanged upstream transfers no package file.
    upstream.start()
    try:
        before = len(upstream.requests())
        code, again, stderr = _sync(server.data_dir, server.root)
    finally:
        upstream.stop()
    assert code == 0, stderr
    assert again["fetched"] == 0 and again["fetched_bytes"] == 0 and again["failed"] == []
    assert again["requests"] == 2  # one conditional GET of each subdir's repodata.json
    assert again["bytes_received"] == 0
    logged = upstream.requests()[before:]
    assert sorted(logged) == [
        ("GET", "/linux-64/repodata.json", 304),
        ("GET", "/noarch/repodata.json", 304),
    ]


def test_a_corrupted_upstream_file_is_refused_by_url_and_never_visible(
    server: RepoServer, tmp_path: Path
) -> None:
    channel_dir = tmp_path / "upstream"
    built = build_channel(channel_dir, PACKAGES[2:4])  # greet-app 0.1 and 0.2, noarch
    bad = built["noarch/greet-app-0.2-0.tar.bz2"]
    size = bad.stat().st_size
    bad.write_bytes(b"\0" * size)  # same size, other bytes: only the sha256 tells
    upstream = StaticChannel(channel_dir, tmp_path / "upstream.log").start()
    try:
        added = repo_cli(
            ["mirror", "add", "alice", "forge", "--kind=conda", f"--upstream={upstream.url}",
             "--subdir=noarch"],
            server.data_dir, server.root,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        code, report, _stderr = _sync(server.data_dir, server.root)
    finally:
        upstream.stop()
    assert code == 1
    assert report["files"] == ["noarch/greet-app-0.1-0.conda"]
    [failure] = report["failed"]
    assert f"{upstream.url}noarch/greet-app-0.2-0.tar.bz2" in failure
    assert "sha256" in failure
    assert _listed(server.url, "alice", "noarch") == {"noarch/greet-app-0.1-0.conda"}
    assert requests.get(f"{server.api}/release/alice/greet-app/0.2", timeout=30).status_code == 404
    assert server.spool_count() == 0
    listed = repo_cli(["mirror", "list", "alice", "--json"], server.data_dir, server.root)
    assert "greet-app-0.2-0.tar.bz2" in json.loads(listed.stdout)[0]["last_error"]


def test_an_unreachable_upstream_is_a_clear_error_and_changes_nothing(
    server: RepoServer, tmp_path: Path
) -> None:
    down = StaticChannel(tmp_path, tmp_path / "unused.log")  # never started
    added = repo_cli(
        ["mirror", "add", "alice", "forge", "--kind=conda", f"--upstream={down.url}",
         "--subdir=noarch"],
        server.data_dir, server.root,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    code, report, stderr = _sync(server.data_dir, server.root)
    assert code == 1 and report == {}
    assert f"upstream {down.url}noarch/repodata.json: cannot be reached" in stderr
    assert server.call(lambda s: s.scalar(select(func.count()).select_from(File))) == 0
    listed = repo_cli(["mirror", "list", "alice", "--json"], server.data_dir, server.root)
    [row] = json.loads(listed.stdout)
    assert "cannot be reached" in row["last_error"]


@pytest.mark.slow  # kill and re-run; the quick lane keeps the rest of the conda mirror
def test_a_killed_sync_leaves_whole_files_and_the_next_fetches_only_the_rest(
    tmp_path: Path,
) -> None:
    packages = [{"name": f"pkg-{i:02d}", "version": "1.0"} for i in range(40)]
    channel_dir = tmp_path / "upstream"
    build_channel(channel_dir, packages)
    upstream_records = repodata(channel_dir, "noarch")["packages.conda"]
    site = RepoServer(tmp_path / "site")  # its data folder only; the sync runs from the CLI
    assert repo_cli(["admin", "create-user", "alice", "--password=pw-pw-pw-pw"],
                    site.data_dir, site.root).returncode == 0  # fmt: skip
    upstream = StaticChannel(channel_dir, tmp_path / "upstream.log").start()
    try:
        assert repo_cli(
            ["mirror", "add", "alice", "forge", "--kind=conda", f"--upstream={upstream.url}",
             "--subdir=noarch"],
            site.data_dir, site.root,
        ).returncode == 0  # fmt: skip

        def stored() -> dict[str, str]:
            return dict(
                site.call(
                    lambda s: s.execute(select(File.filename, File.sha256)).all(), write=False
                )
            )

        process = cli_popen(
            ["mirror", "sync", "alice", "forge", "--json", "--parallel=1"], site.data_dir, site.root
        )
        deadline = time.monotonic() + 120
        while len(stored()) < 5 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        survivors = stored()
        assert 5 <= len(survivors) < len(upstream_records), "killed too late to prove anything"
        # Only whole, verified files are visible.
        for filename, sha256 in survivors.items():
            assert upstream_records[filename]["sha256"] == sha256

        code, report, stderr = _sync(site.data_dir, site.root)
        assert code == 1 and "already running" in stderr and "--force" in stderr
        code, report, stderr = _sync(site.data_dir, site.root, "--force")
    finally:
        upstream.stop()
        site.close()
    assert code == 0, stderr
    assert report["skipped"] == len(survivors)
    assert report["fetched"] == len(upstream_records) - len(survivors)
    assert not set(report["files"]) & {f"noarch/{name}" for name in survivors}
    assert {f"noarch/{n}" for n in stored()} == {f"noarch/{n}" for n in upstream_records}


def test_prune_takes_files_removed_upstream_off_the_label_and_keeps_others(
    server: RepoServer, tmp_path: Path
) -> None:
    channel_dir = tmp_path / "upstream"
    built = build_channel(channel_dir, PACKAGES[2:4])
    upstream = StaticChannel(channel_dir, tmp_path / "upstream.log").start()
    try:
        for name, extra in (("forge", ["--prune"]), ("keeper", ["--label=kept"])):
            added = repo_cli(
                ["mirror", "add", "alice", name, "--kind=conda", f"--upstream={upstream.url}",
                 "--subdir=noarch", *extra],
                server.data_dir, server.root,
            )  # fmt: skip
            assert added.returncode == 0, added.stderr
        assert _sync(server.data_dir, server.root)[0] == 0
        keeper = repo_cli(["mirror", "sync", "alice", "keeper", "--json"], server.data_dir,
                          server.root)  # fmt: skip
        # The files are in the namespace already: the second mirror fetches nothing, and
        # gives them its label.
        assert json.loads(keeper.stdout)["skipped"] == 2
        assert json.loads(keeper.stdout)["fetched"] == 0
        assert _listed(server.url, "alice", "noarch", "kept") == set(built)
        built["noarch/greet-app-0.1-0.conda"].unlink()
        time.sleep(1.1)  # http.server's Last-Modified has whole seconds
        reindex(channel_dir)
        code, dry, _stderr = _sync(server.data_dir, server.root, "--dry-run")
        assert dry["removed_files"] == ["noarch/greet-app-0.1-0.conda"]
        assert _listed(server.url, "alice", "noarch") == set(built)
        code, report, stderr = _sync(server.data_dir, server.root)
    finally:
        upstream.stop()
    assert code == 0, stderr
    assert report["removed_files"] == ["noarch/greet-app-0.1-0.conda"]
    assert _listed(server.url, "alice", "noarch") == {"noarch/greet-app-0.2-0.tar.bz2"}
    assert _listed(server.url, "alice", "noarch", "kept") == set(built)  # the other mirror's
    # The file stays stored, still downloadable by its URL.
    download = f"{server.url}/alice/greet-app/download/0.1/noarch/greet-app-0.1-0.conda"
    assert requests.get(download, timeout=30).status_code == 200


def test_serve_syncs_a_scheduled_mirror_on_its_own(tmp_path: Path) -> None:
    channel_dir = tmp_path / "upstream"
    build_channel(channel_dir, PACKAGES[2:4])
    upstream = StaticChannel(channel_dir, tmp_path / "upstream.log").start()
    site = RepoServer(tmp_path / "site", config={"ServeApp.mirror_schedule_interval": 0.5})
    try:
        assert repo_cli(["admin", "create-user", "alice", "--password=pw-pw-pw-pw"],
                        site.data_dir, site.root).returncode == 0  # fmt: skip
        assert repo_cli(
            ["mirror", "add", "alice", "forge", "--kind=conda", f"--upstream={upstream.url}",
             "--subdir=noarch", "--every=3600"],
            site.data_dir, site.root,
        ).returncode == 0  # fmt: skip
        site.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_listed(site.url, "alice", "noarch")) < 2:
            time.sleep(0.3)
        assert _listed(site.url, "alice", "noarch") == {
            "noarch/greet-app-0.1-0.conda",
            "noarch/greet-app-0.2-0.tar.bz2",
        }
        # Synced once: the next is due in an hour, and the API answered all along.
        time.sleep(1.5)
        gets = [r for r in upstream.requests() if r[:2] == ("GET", "/noarch/repodata.json")]
        assert len(gets) == 1
        listed = repo_cli(["mirror", "list", "alice", "--json"], site.data_dir, site.root)
        [row] = json.loads(listed.stdout)
        assert row["last_sync_at"] and row["last_error"] is None
    finally:
        site.close()
        upstream.stop()


def test_an_upstream_cannot_send_the_mirror_to_other_servers_or_paths(
    server: RepoServer, tmp_path: Path
) -> None:
    """The upstream's repodata names the files: a name with a path in it, or an
    ``info.base_url`` on another server, is refused before any request is made."""
    elsewhere = StaticChannel(tmp_path / "elsewhere", tmp_path / "elsewhere.log")
    build_channel(tmp_path / "elsewhere", [])
    elsewhere.start()
    channel_dir = tmp_path / "upstream"
    build_channel(channel_dir, [PACKAGES[0], PACKAGES[2]])
    noarch = repodata(channel_dir, "noarch")
    [record] = noarch["packages.conda"].values()
    noarch["packages.conda"]["../../greet-app-0.1-0.conda"] = record
    (channel_dir / "noarch" / "repodata.json").write_text(json.dumps(noarch))
    linux = repodata(channel_dir, "linux-64")
    linux["info"]["base_url"] = elsewhere.url + "linux-64/"
    (channel_dir / "linux-64" / "repodata.json").write_text(json.dumps(linux))
    upstream = StaticChannel(channel_dir, tmp_path / "upstream.log").start()
    try:
        added = repo_cli(
            ["mirror", "add", "alice", "forge", "--kind=conda", f"--upstream={upstream.url}",
             "--subdir=noarch", "--subdir=linux-64"],
            server.data_dir, server.root,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        code, report, _stderr = _sync(server.data_dir, server.root)
    finally:
        upstream.stop()
        elsewhere.stop()
    assert code == 1
    assert report["files"] == ["noarch/greet-app-0.1-0.conda"]
    failed = "\n".join(report["failed"])
    assert "noarch/../../greet-app-0.1-0.conda: refused" in failed
    assert f"{elsewhere.url}linux-64/greet-lib-1.0-h0_0.conda is not on the upstream" in failed
    assert [r for r in elsewhere.requests() if r[0] == "GET"] == []
    assert not [r for r in upstream.requests() if ".." in r[1]]
    assert _listed(server.url, "alice", "linux-64") == set()


def test_a_private_mirror_and_a_file_changed_upstream_under_the_same_name(
    server: RepoServer, tmp_path: Path
) -> None:
    channel_dir = tmp_path / "upstream"
    built = build_channel(channel_dir, PACKAGES[2:4])
    upstream = StaticChannel(channel_dir, tmp_path / "upstream.log").start()
    try:
        added = repo_cli(
            ["mirror", "add", "alice", "forge", "--kind=conda", f"--upstream={upstream.url}",
             "--subdir=noarch", "--private"],
            server.data_dir, server.root,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert _sync(server.data_dir, server.root)[0] == 0
        # Private packages: missing for anyone else, there with the namespace's token.
        token = server.token("alice", ["conda:download"])
        assert _listed(server.url, "alice", "noarch", token=token) == set(built)
        anonymous = requests.get(f"{server.url}/conda/alice/noarch/repodata.json", timeout=30)
        assert anonymous.status_code == 404 or "greet-app" not in anonymous.text
        assert requests.get(f"{server.api}/package/alice/greet-app").status_code == 404
        stored = server.call(
            lambda s: s.scalar(select(File.sha256).where(File.filename == "greet-app-0.1-0.conda")),
            write=False,
        )
        # The upstream rebuilds a file under the same name: a conflict, never overwritten.
        time.sleep(1.1)  # http.server's Last-Modified has whole seconds
        build_channel(
            channel_dir, [{**PACKAGES[2], "payload": {"share/greet-app/VERSION": b"changed"}}]
        )
        code, report, _stderr = _sync(server.data_dir, server.root)
    finally:
        upstream.stop()
    assert code == 1 and report["fetched"] == 0
    [conflict] = report["failed"]
    assert conflict.startswith("noarch/greet-app-0.1-0.conda: the namespace holds a file")
    assert f"{upstream.url}noarch/greet-app-0.1-0.conda" in conflict
    assert stored == server.call(
        lambda s: s.scalar(select(File.sha256).where(File.filename == "greet-app-0.1-0.conda")),
        write=False,
    )
