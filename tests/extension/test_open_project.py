"""*Open* on a project in Lab (issue 17, the sidebar's row menu): the extension unpacks the
project into a new folder of the workspace -- ``name``, then ``name (1)`` -- with the checks
of ``jupyter repo open``; a lying repository's archive writes nothing anywhere."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_repo.demo import builders
from tests.extension.conftest import Fetch, call
from tests.support.archives import Member, tar_bytes
from tests.support.hostile_repository import Planted, hostile_repository
from tests.support.server import RepoServer
from tests.support.web import upload


@pytest.fixture
def planted() -> Planted | None:
    """The lying repository's package, for the tests that ask for one."""
    return None


@pytest.fixture
def repo_config(
    server: RepoServer, repo_token: str, tmp_path: Path, planted: Planted | None
) -> Iterator[dict[str, Any]]:
    """The test repository, or the liar serving ``planted``."""
    credentials = str(tmp_path / "credentials")
    if planted is None:
        yield {"url": server.url, "token": repo_token, "credentials_dir": credentials}
        return
    with hostile_repository(planted) as url:
        yield {"url": url, "token": "jr-unused", "credentials_dir": credentials}


def files_below(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


async def test_open_a_project_unpacks_it_into_a_new_folder(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    server: RepoServer,
    repo_token: str,
    user: str,
    samples: Path,
) -> None:
    archive = builders.project_archive(samples, "harbour")
    upload(server, repo_token, user, "harbour", "1", archive, type="project")
    with tarfile.open(archive) as tar:
        expected = {
            member.name.split("/", 1)[1]: tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar
            if member.isfile()
        }
    root = Path(jp_root_dir)

    status, opened = await call(
        jp_fetch, "open", method="POST", body={"owner": user, "name": "harbour"}
    )
    assert status == 200, opened
    assert opened == {"path": "harbour", "type": "directory"}
    assert files_below(root / "harbour") == expected

    # The user's edits are never overwritten: a second open takes the next free name.
    (root / "harbour" / "README.md").write_text("my notes\n")
    status, again = await call(
        jp_fetch, "open", method="POST", body={"owner": user, "name": "harbour"}
    )
    assert (status, again) == (200, {"path": "harbour (1)", "type": "directory"})
    assert (root / "harbour" / "README.md").read_text() == "my notes\n"
    assert files_below(root / "harbour (1)") == expected

    (root / "work").mkdir()
    status, inside = await call(
        jp_fetch,
        "open",
        method="POST",
        body={"owner": user, "name": "harbour", "version": "1", "directory": "work"},
    )
    assert (status, inside) == (200, {"path": "work/harbour", "type": "directory"})

    # A folder outside the workspace is refused by the contents manager; nothing written.
    before = files_below(root)
    status, refused = await call(
        jp_fetch,
        "open",
        method="POST",
        body={"owner": user, "name": "harbour", "directory": "../outside"},
    )
    assert status == 404, refused
    assert files_below(root) == before


@pytest.mark.parametrize(
    "planted",
    [
        pytest.param(
            Planted(
                "mallory",
                "bait",
                "project",
                {
                    "bait.tar.gz": tar_bytes(
                        {"proj/README.md": b"# proj\n"},
                        [Member("proj/../../../escape")],
                        mode="w:gz",
                    )
                },
            ),
            id="tar-dotdot",
        ),
        pytest.param(
            Planted(
                "mallory",
                "bait",
                "project",
                {
                    "bait.tar.gz": tar_bytes(
                        {"proj/README.md": b"# proj\n"},
                        [Member("proj/link", "symlink", "/etc"), Member("proj/link/escape")],
                        mode="w:gz",
                    )
                },
            ),
            id="tar-symlink",
        ),
        pytest.param(Planted("../../mallory", "..", "project", {}), id="dotdot-name"),
    ],
)
async def test_open_a_lying_projects_archive_writes_nothing(
    jp_fetch: Fetch, jp_root_dir: Path, tmp_path: Path, planted: Planted
) -> None:
    root = Path(jp_root_dir)
    before = {path for path in tmp_path.rglob("*") if not path.is_relative_to(root)}
    status, answer = await call(
        jp_fetch, "open", method="POST", body={"owner": planted.owner, "name": planted.name}
    )
    assert 400 <= status < 500, answer
    assert answer and answer.get("message") and "Traceback" not in str(answer)
    assert files_below(root) == {}
    assert not [path for path in root.iterdir() if path.is_dir()]
    after = {path for path in tmp_path.rglob("*") if not path.is_relative_to(root)}
    assert not {path for path in after - before if not os.fspath(path).endswith("credentials")}
