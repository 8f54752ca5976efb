"""``jupyter repo open``: a notebook, a data file or a project into the current folder, as
a user runs it -- against the real server, and against a lying one (the client trusts no
file name and no archive it is sent: nothing lands outside the folder, no link is made or
followed, nothing existing is replaced without ``--force``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from jupyter_repo.demo import builders
from tests.support import processes
from tests.support.archives import Member, tar_bytes, zip_bytes
from tests.support.hostile_repository import Planted, hostile_repository
from tests.support.server import RepoServer
from tests.support.web import upload


def run_open(
    url: str, work: Path, *args: str, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``jupyter repo open ...`` in ``work``, with a configuration folder of its own."""
    config = (home or work.parent) / "jupyter-config"
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER_")}
    env["JUPYTER_CONFIG_DIR"] = str(config)
    return processes.run(
        [sys.executable, "-m", "jupyter_repo", "open", *args, "--url", url],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file, folder and link below ``root`` (links by target, never followed)."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            found[key] = "dir"
        else:
            found[key] = path.read_bytes()
    return found


def test_open_a_notebook_a_data_file_and_a_project(
    server: RepoServer, user: str, samples: Path, tmp_path: Path
) -> None:
    token = server.token(user)
    first = builders.notebook(samples / "v1", "tides.ipynb", title="First")
    second = builders.notebook(samples / "v2", "tides.ipynb", title="Second")
    upload(server, token, user, "tides", "1", first)
    upload(server, token, user, "tides", "2", second)
    csv = builders.csv_file(samples, "readings.csv")
    upload(server, token, user, "readings", "1", csv, type="file")
    archive = builders.project_archive(samples, "harbour")
    upload(server, token, user, "harbour", "1", archive, type="project")
    work = tmp_path / "work"
    work.mkdir()

    # A named version; then the latest is refused over it without --force, taken with it.
    result = run_open(server.url, work, f"{user}/tides/1")
    assert result.returncode == 0, result.stderr
    assert f"Opened the notebook {user}/tides 1: tides.ipynb" in result.stdout
    assert (work / "tides.ipynb").read_bytes() == first.read_bytes()
    refused = run_open(server.url, work, f"{user}/tides")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "already exists; pass --force" in refused.stderr
    assert (work / "tides.ipynb").read_bytes() == first.read_bytes()
    assert run_open(server.url, work, f"{user}/tides", "--force").returncode == 0
    assert (work / "tides.ipynb").read_bytes() == second.read_bytes()

    assert run_open(server.url, work, f"{user}/readings").returncode == 0
    assert (work / "readings.csv").read_bytes() == csv.read_bytes()

    result = run_open(server.url, work, f"{user}/harbour")
    assert result.returncode == 0, result.stderr
    with tarfile.open(archive) as tar:
        expected = {
            member.name.split("/", 1)[1]: tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar
            if member.isfile()
        }
    unpacked = {k: v for k, v in tree(work / "harbour").items() if v != "dir"}
    assert unpacked == expected
    (work / "harbour" / "README.md").write_text("my notes\n")
    refused = run_open(server.url, work, f"{user}/harbour")
    assert refused.returncode == 1 and "harbour already exists" in refused.stderr
    assert (work / "harbour" / "README.md").read_text() == "my notes\n"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        pytest.param("conda", "only notebooks, projects and data files", id="conda"),
        pytest.param("missing", "does not exist", id="missing"),
    ],
)
def test_open_what_cannot_be_opened_says_why(
    server: RepoServer, user: str, samples: Path, tmp_path: Path, kind: str, message: str
) -> None:
    if kind == "conda":
        package = builders.conda_package(samples, "tool", "1.0")
        upload(
            server,
            server.token(user),
            user,
            "tool",
            "1.0",
            package,
            basename=f"noarch/{package.name}",
        )
    work = tmp_path / "work"
    work.mkdir()
    result = run_open(server.url, work, f"{user}/tool")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
    assert tree(work) == {}


def _project_tar(extra: list[Member]) -> bytes:
    return tar_bytes({"proj/README.md": b"# proj\n"}, extra, mode="w:gz")


def _project_zip(extra: list[Member]) -> bytes:
    return zip_bytes({"proj/README.md": b"# proj\n"}, extra)


def _hostile_cases(outside: Path) -> list[tuple[str, str, dict[str, bytes]]]:
    """(id, package type, {basename: bytes}) of each lie."""
    nb = json.dumps(builders.notebook_json()).encode()
    out = str(outside)
    return [
        ("notebook-dotdot", "ipynb", {"../../escape.ipynb": nb}),
        ("notebook-dotdot-inside", "ipynb", {"sub/../../../escape.ipynb": nb}),
        ("notebook-absolute", "ipynb", {f"{out}/escape.ipynb": nb}),
        ("notebook-backslash", "ipynb", {"..\\..\\escape.ipynb": nb}),
        ("notebook-nul", "ipynb", {"escape.ipynb\x00.txt": nb}),
        ("data-dotdot", "file", {"../escape.csv": b"a,b\n"}),
        ("data-second-bad", "file", {"fine.csv": b"a\n", "../../escape.csv": b"b\n"}),
        ("tar-dotdot", "project", {"p.tar.gz": _project_tar([Member("proj/../../escape")])}),
        ("tar-absolute", "project", {"p.tar.gz": _project_tar([Member(f"{out}/escape")])}),
        (
            "tar-symlink-out",
            "project",
            {
                "p.tar.gz": _project_tar(
                    [
                        Member("proj/link", "symlink", "../../../outside"),
                        Member("proj/link/escape"),
                    ]
                )
            },
        ),
        (
            "tar-symlink-absolute",
            "project",
            {"p.tar.gz": _project_tar([Member("proj/link", "symlink", out)])},
        ),
        (
            "tar-hardlink-out",
            "project",
            {"p.tar.gz": _project_tar([Member("proj/hard", "hardlink", f"{out}/target")])},
        ),
        ("tar-device", "project", {"p.tar.gz": _project_tar([Member("proj/dev", "device")])}),
        ("zip-dotdot", "project", {"p.zip": _project_zip([Member("proj/../../escape")])}),
        (
            "zip-symlink-out",
            "project",
            {"p.zip": _project_zip([Member("proj/link", "symlink", "../../outside")])},
        ),
        (
            "zip-local-header",
            "project",
            {"p.zip": _project_zip([Member("proj/innocent", "local-name", "../../escape1")])},
        ),
        (
            "zip-unicode-path",
            "project",
            {"p.zip": _project_zip([Member("proj/innocent", "unicode-path", "../../escape")])},
        ),
    ]


CASE_IDS = [case[0] for case in _hostile_cases(Path("/x"))]


@pytest.mark.parametrize("case", CASE_IDS)
def test_open_refuses_names_that_leave_the_folder(tmp_path: Path, case: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target").write_text("precious\n")
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    _, kind, files = next(item for item in _hostile_cases(outside) if item[0] == case)
    before = tree(tmp_path)
    with hostile_repository(Planted("mallory", "bait", kind, files)) as url:
        result = run_open(url, work, "mallory/bait", "--force", home=tmp_path / "home")
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert "nothing" in result.stderr.lower() or "refused" in result.stderr
    after = {k: v for k, v in tree(tmp_path).items() if not k.startswith("home")}
    assert after == before  # nothing written anywhere: not outside, not in the folder


@pytest.mark.parametrize(
    ("case", "files", "force"),
    [
        pytest.param("link-file", ["tides.ipynb"], False, id="link-file-without-force"),
        pytest.param("link-file", ["tides.ipynb"], True, id="link-file-with-force"),
        pytest.param(
            "link-folder", ["tides.ipynb", "sub/more.ipynb"], True, id="link-folder-with-force"
        ),
    ],
)
def test_open_never_writes_through_a_planted_link(
    tmp_path: Path, case: str, files: list[str], force: bool
) -> None:
    """Links already in the folder (``tides.ipynb -> outside/target``, ``sub -> outside``)
    are not followed: a file's link is refused without --force and replaced by the file
    itself with it; a folder's link refuses the whole open before anything is written."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target").write_text("precious\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "tides.ipynb").symlink_to(outside / "target")
    (work / "sub").symlink_to(outside)
    nb = json.dumps(builders.notebook_json()).encode()
    args = ["mallory/bait", *(["--force"] if force else [])]
    with hostile_repository(Planted("mallory", "bait", "ipynb", dict.fromkeys(files, nb))) as url:
        result = run_open(url, work, *args, home=tmp_path / "home")
    assert "Traceback" not in result.stderr
    assert (outside / "target").read_text() == "precious\n"
    assert sorted(p.name for p in outside.iterdir()) == ["target"]
    if case == "link-file" and force:
        assert result.returncode == 0, result.stderr
        assert not (work / "tides.ipynb").is_symlink()
        assert (work / "tides.ipynb").read_bytes() == nb
        return
    assert result.returncode == 1
    assert (work / "tides.ipynb").is_symlink()  # nothing was written
    if case == "link-folder":
        assert "sub is in the way" in result.stderr
    else:
        assert "already exists" in result.stderr
