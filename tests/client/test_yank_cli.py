"""``jupyter repo yank``: a real CLI process against a real server, judged by the indexes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.support import processes, publish
from tests.support.server import RepoServer

JSON = "application/vnd.pypi.simple.v1+json"


def run_yank(
    server: RepoServer, home: Path, token: str | None, *args: str
) -> subprocess.CompletedProcess[str]:
    """``jupyter repo yank ARGS`` with a configuration folder of its own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER_")}
    env["JUPYTER_CONFIG_DIR"] = str(home / "jupyter-config")
    env["JUPYTER_REPO_URL"] = server.url
    if token:
        env["JUPYTER_REPO_TOKEN"] = token
    return processes.run(
        [sys.executable, "-m", "jupyter_repo", "yank", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _pypi_yanked(server: RepoServer, owner: str) -> dict[str, object]:
    page = requests.get(
        f"{server.url}/pypi/{owner}/simple/yk-cli/", headers={"Accept": JSON}, timeout=30
    )
    return {item["filename"]: item["yanked"] for item in page.json()["files"]}


def test_yank_and_undo_a_release_and_a_conda_file(server: RepoServer, tmp_path: Path) -> None:
    owner = server.create_user(f"yl{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    wheel = publish.wheel(server, token, owner, tmp_path, "yk-cli", "1.0")

    done = run_yank(server, tmp_path, token, f"{owner}/yk-cli/1.0", "--reason", "bad wheel")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Yanked {owner}/yk-cli/1.0 (bad wheel):",
        f"  {wheel.name}",
    ]
    assert _pypi_yanked(server, owner) == {wheel.name: "bad wheel"}

    undone = run_yank(server, tmp_path, token, f"{owner}/yk-cli==1.0", "--undo")
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.splitlines()[0] == f"Un-yanked {owner}/yk-cli/1.0:"
    assert _pypi_yanked(server, owner) == {wheel.name: False}

    # One conda file, named as SUBDIR/FILENAME.
    conda = publish.conda(server, token, owner, tmp_path / "conda", "yk-cli-tool", "2.0")
    repodata = f"{server.url}/conda/{owner}/noarch/repodata.json"
    target = f"noarch/{conda.name}"
    done = run_yank(server, tmp_path, token, f"{owner}/yk-cli-tool/2.0", "--file", target)
    assert done.returncode == 0, done.stderr
    assert requests.get(repodata, timeout=30).json()["removed"] == [conda.name]
    done = run_yank(server, tmp_path, token, f"{owner}/yk-cli-tool/2.0", "--file", target, "--undo")
    assert done.returncode == 0, done.stderr
    assert conda.name in requests.get(repodata, timeout=30).json()["packages.conda"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["{owner}/yk-cli"], "Name the version", id="no-version"),
        pytest.param(["not a package"], "is not a package", id="bad-reference"),
        pytest.param(
            ["{owner}/yk-cli/1.0", "--undo", "--reason", "x"], "--reason", id="undo-reason"
        ),
        pytest.param(["{owner}/yk-cli/9.9"], "does not exist", id="no-such-version"),
    ],
)
def test_mistakes_are_one_line_errors(
    server: RepoServer, tmp_path: Path, args: list[str], message: str
) -> None:
    owner = server.create_user(f"ym{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    wheel = publish.wheel(server, token, owner, tmp_path, "yk-cli", "1.0")
    result = run_yank(server, tmp_path, token, *(arg.format(owner=owner) for arg in args))
    assert message in _one_error_line(result)
    assert _pypi_yanked(server, owner) == {wheel.name: False}


def test_another_users_token_is_refused_and_nothing_changes(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"yn{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    wheel = publish.wheel(server, token, owner, tmp_path, "yk-cli", "1.0")
    stranger = server.token(server.create_user(f"yq{uuid.uuid4().hex[:8]}"))
    read_only = server.token(owner, ["read"])

    for other in (stranger, read_only):
        refused = run_yank(server, tmp_path, other, f"{owner}/yk-cli/1.0", "--reason", "mine")
        assert "write access" in _one_error_line(refused)
    anonymous = run_yank(server, tmp_path, None, f"{owner}/yk-cli/1.0")
    assert "jupyter repo login" in _one_error_line(anonymous)
    assert _pypi_yanked(server, owner) == {wheel.name: False}
