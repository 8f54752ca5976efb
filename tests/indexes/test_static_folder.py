"""The static index folder's rules, on its own (the scaled-out tier tests it behind nginx).

Paths come from validated names only; a withdrawn index stays withdrawn while its commit
is pending; a writer whose snapshot the database has overtaken writes nothing; every new
revision gets a new ETag (nginx's ``mtime-size``) even at the same size.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
import requests

from jupyter_repo.repository.errors import InvalidInput
from jupyter_repo.repository.indexes.static import DOCUMENTS, StaticFolder, always
from tests.support import publish
from tests.support.server import running_server


def _documents(text: bytes) -> dict[str, list[bytes]]:
    return {name: [text] for name in DOCUMENTS}


@pytest.mark.parametrize(
    ("login", "label", "subdir"),
    [
        ("..", "main", "noarch"),
        ("../etc", "main", "noarch"),
        ("alice/..", "main", "noarch"),
        ("alice", "../../x", "noarch"),
        ("alice", "dev/../../x", "noarch"),
        ("alice", "main", ".."),
        ("alice", "main", "../../x"),
        ("alice", "main", "label"),
        ("alice", "main", "noarch\x00"),
        ("alice\x00", "main", "noarch"),
        ("t", "main", "noarch"),  # /conda/t/<x>/ is a path token
        ("", "main", "noarch"),
    ],
)
def test_hostile_names_have_no_folder(tmp_path: Path, login: str, label: str, subdir: str) -> None:
    assert StaticFolder(tmp_path).index_dir(login, label, subdir) is None


def test_paths_are_the_urls(tmp_path: Path) -> None:
    folder = StaticFolder(tmp_path)
    root = tmp_path.resolve()
    assert folder.index_dir("Alice", "main", "noarch") == root / "conda/alice/noarch"
    assert folder.index_dir("alice", "Dev", "linux-64") == root / "conda/alice/label/dev/linux-64"


def test_a_planted_link_cannot_lead_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "static"
    (root / "conda").mkdir(parents=True)
    os.symlink(outside, root / "conda" / "alice")
    with pytest.raises(InvalidInput):
        StaticFolder(root).index_dir("alice", "main", "noarch")


def test_withdrawn_files_stay_away_while_the_commit_is_pending(tmp_path: Path) -> None:
    folder = StaticFolder(tmp_path)
    directory = folder.index_dir("alice", "main", "noarch")
    assert directory is not None
    assert folder.publish(directory, 1, 1_000_000, _documents(b"one"), always(True))
    assert (directory / "repodata.json").read_bytes() == b"one"
    folder.withdraw(directory, "commit")
    assert not any((directory / name).exists() for name in DOCUMENTS)
    # A writer that read the database before the commit landed must not write.
    assert not folder.publish(directory, 1, 1_000_000, _documents(b"one"), always(True))
    assert not (directory / "repodata.json").exists()
    folder.release(directory, "commit")
    assert folder.publish(directory, 2, 1_000_000, _documents(b"two"), always(True))
    assert (directory / "repodata.json").read_bytes() == b"two"
    assert not list(directory.glob(".tmp-*"))


def test_an_overtaken_writer_writes_nothing(tmp_path: Path) -> None:
    folder = StaticFolder(tmp_path)
    directory = folder.index_dir("alice", "main", "noarch")
    assert directory is not None
    assert not folder.publish(directory, 3, 1_000_000, _documents(b"old"), always(False))
    assert not (directory / "repodata.json").exists()
    assert not list(directory.glob(".tmp-*"))


def test_every_revision_gets_a_new_etag_even_at_the_same_size(tmp_path: Path) -> None:
    folder = StaticFolder(tmp_path)
    directory = folder.index_dir("alice", "main", "noarch")
    assert directory is not None
    seen = set()
    for revision, body in enumerate((b"aaa", b"bbb", b"ccc"), start=1):
        # Three revisions within one second, documents of one size.
        assert folder.publish(directory, revision, 1_000_000, _documents(body), always(True))
        stat = (directory / "repodata.json").stat()
        seen.add((int(stat.st_mtime), stat.st_size))  # what nginx's ETag is made of
    assert len(seen) == 3
    # The same revision again (another process): the same ETag, nothing rewritten.
    before = (directory / "repodata.json").stat()
    assert not folder.publish(directory, 3, 1_000_000, _documents(b"ccc"), always(True))
    assert (directory / "repodata.json").stat().st_mtime == before.st_mtime


def _wait_for(predicate, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the static folder never caught up"
        time.sleep(0.05)


def _listed(path: Path) -> set[str] | None:
    try:
        return set(json.loads(path.read_bytes())["packages.conda"])
    except (OSError, ValueError):
        return None


def test_an_embedded_server_keeps_the_folder(tmp_path: Path) -> None:
    """SQLite and one process (no nginx): the folder holds exactly the anonymous view; a
    change withdraws the file before its request returns; a private-only label has none."""
    folder = tmp_path / "static"
    config = {"Repository.static_index_dir": str(folder)}
    with running_server(tmp_path / "server", config=config) as server:
        owner = server.create_user(f"em{uuid.uuid4().hex[:8]}")
        token = server.token(owner)
        work = tmp_path / "pkgs"
        public = publish.conda(server, token, owner, work, "em-open", "1.0")
        publish.conda(server, token, owner, work, "em-secret", "1.0", private=True)
        publish.conda(server, token, owner, work, "em-hidden", "1.0", labels=("hid",), private=True)
        main = folder / "conda" / owner / "noarch" / "repodata.json"
        _wait_for(lambda: _listed(main) == {public.name})
        served = requests.get(f"{server.url}/conda/{owner}/noarch/repodata.json", timeout=30)
        assert main.read_bytes() == served.content
        assert not (
            folder / "conda" / owner / "label" / "hid" / "noarch" / "repodata.json"
        ).exists()
        hidden = requests.patch(
            f"{server.api}/package/{owner}/em-open",
            json={"public": False},
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        assert hidden.status_code == 200, hidden.text
        assert _listed(main) in (None, set())  # withdrawn, or already the new document
        _wait_for(lambda: _listed(main) == set())
