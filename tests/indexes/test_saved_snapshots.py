"""A restarted server reads its saved snapshot, catches up from the change log, and answers
exactly what a build from the database answers (bytes and ETag); a damaged or foreign file is
never trusted."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.support import publish
from tests.support.server import RepoServer

#: Save even the small indexes of a test (the default saves only large ones).
SAVING = {"ChannelIndexes.snapshot_min_bytes": 0}
NOT_SAVING = {"ChannelIndexes.snapshot_dir": ""}


def _documents(server: RepoServer, owner: str) -> dict[str, tuple[bytes, str]]:
    answers = {}
    for name in ("repodata.json", "repodata.json.zst", "repodata_shards.msgpack.zst"):
        response = requests.get(f"{server.url}/conda/{owner}/linux-64/{name}", timeout=60)
        assert response.status_code == 200, response.text
        answers[name] = (response.content, response.headers["ETag"])
    return answers


def _saved_files(server: RepoServer) -> list[Path]:
    return sorted((server.data_dir / "cache" / "indexes").glob("*.snapshot"))


def test_a_restart_reads_the_saved_snapshot_and_catches_up_with_other_processes(
    tmp_path: Path,
) -> None:
    first = RepoServer(tmp_path / "first", config=SAVING).start()
    try:
        owner = first.create_user("saver")
        token = first.token(owner)
        kept = publish.conda(first, token, owner, tmp_path, "kept", "1.0", subdir="linux-64")
        gone = publish.conda(first, token, owner, tmp_path, "gone", "1.0", subdir="linux-64")
        before = _documents(first, owner)
        assert gone.name.encode() in before["repodata.json"][0]
    finally:
        first.stop()  # saves the snapshot it holds
    assert len(_saved_files(first)) == 1

    # Meanwhile another process (which saves nothing) changes the index.
    other = RepoServer(tmp_path / "other", data_dir=first.data_dir, config=NOT_SAVING).start()
    try:
        added = publish.conda(other, token, owner, tmp_path, "added", "2.0", subdir="linux-64")
        removed = requests.delete(
            f"{other.api}/dist/{owner}/gone/1.0/linux-64/{gone.name}",
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        assert removed.status_code in (200, 204), removed.text
        expected = _documents(other, owner)  # built from the database
    finally:
        other.stop()

    first.start()
    try:
        restarted = _documents(first, owner)
    finally:
        first.stop()
    assert "read the saved snapshot" in first.log_text()
    assert restarted == expected
    plain = restarted["repodata.json"][0]
    assert kept.name.encode() in plain and added.name.encode() in plain
    assert gone.name.encode() not in plain


def test_a_damaged_saved_snapshot_is_dropped_and_the_index_built(tmp_path: Path) -> None:
    server = RepoServer(tmp_path / "server", config=SAVING).start()
    try:
        owner = server.create_user("damaged")
        token = server.token(owner)
        publish.conda(server, token, owner, tmp_path, "pkg", "1.0", subdir="linux-64")
        expected = _documents(server, owner)
    finally:
        server.stop()
    (saved,) = _saved_files(server)
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])  # a crash mid-write cannot do this; a disk can

    log_before = len(server.log_text())
    server.start()
    try:
        assert _documents(server, owner) == expected
    finally:
        server.stop()
    assert "read the saved snapshot" not in server.log_text()[log_before:]
