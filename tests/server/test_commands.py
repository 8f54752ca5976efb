"""The ``jupyter repo`` commands: admin tasks, migrations and traitlets configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests
from sqlalchemy import select

from jupyter_repo.repository.models import Account
from tests.support import processes
from tests.support.http import auth
from tests.support.net import free_port, wait_for_http
from tests.support.server import RepoServer


def _run(
    args: list[str], env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = processes.run(
        [sys.executable, "-m", "jupyter_repo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
    }


def test_admin_commands_on_a_fresh_repository(tmp_path: Path) -> None:
    env = _env(tmp_path)
    data = f"--data-dir={tmp_path / 'repo'}"
    migrated = _run(["migrate", data], env)
    assert "database at revision" in migrated.stdout
    assert (
        "created user alice"
        in _run(["admin", "create-user", "alice", "--password=first-password", data], env).stdout
    )
    _run(["admin", "create-user", "bob", "--password=bobs-password", data], env)
    assert (
        "created organization lab"
        in _run(["admin", "create-org", "lab", "--owner=alice", data], env).stdout
    )
    assert (
        "added bob to lab/readers"
        in _run(["admin", "add-member", "lab", "readers", "bob", data], env).stdout
    )
    _run(["admin", "set-password", "alice", "--password=second-password", data], env)
    token = _run(["admin", "issue-token", "alice", "--scopes=upload", data], env).stdout.strip()
    assert token.startswith("jr-")

    duplicate = _run(
        ["admin", "create-user", "alice", "--password=whatever-pass", data], env, check=False
    )
    assert duplicate.returncode != 0
    assert "already taken" in duplicate.stderr and "Traceback" not in duplicate.stderr

    server = RepoServer(tmp_path / "srv", data_dir=tmp_path / "repo")
    server.start()
    try:
        assert requests.get(f"{server.api}/user", headers=auth(token)).json()["login"] == "alice"
        login = requests.post(
            f"{server.api}/authentications", json={"note": "t"}, auth=("alice", "second-password")
        )
        assert login.status_code == 200 and login.json()["token"].startswith("jr-")
        assert (
            requests.post(
                f"{server.api}/authentications",
                json={"note": "t2"},
                auth=("alice", "first-password"),
            ).status_code
            == 401
        )
        groups = requests.get(f"{server.api}/groups/lab", headers=auth(token)).json()["groups"]
        assert {g["name"] for g in groups} == {"owners", "readers"}
        stored = server.call(
            lambda s: s.scalar(select(Account.password_hash).where(Account.login == "alice")),
            write=False,
        )
        assert stored.startswith("$argon2id$") and "second-password" not in stored
    finally:
        server.close()


def test_config_file_and_both_command_spellings(tmp_path: Path) -> None:
    env = _env(tmp_path)
    port = free_port()
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_repo_config.py").write_text(
        f"c.ServeApp.port = {port}\n"
        f"c.Repository.data_dir = {str(tmp_path / 'repo')!r}\n"
        "c.Repository.max_upload_size = 1234\n"
    )
    launcher = Path(sys.executable).with_name("jupyter-repo")
    process = processes.popen(
        [str(launcher), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api", process=process)
        response = requests.put(
            f"http://127.0.0.1:{port}/api/upload/x/y/1/z.csv",
            data=b"a" * 5000,
            headers={"Content-Length": "5000"},
        )
        assert response.status_code == 413  # the config file's limit, before any auth
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert f"serving at http://127.0.0.1:{port}" in output
    assert (tmp_path / "repo" / "repo.db").exists()

    jupyter = Path(sys.executable).with_name("jupyter")
    help_text = processes.run(
        [str(jupyter), "repo", "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "serve" in help_text.stdout and help_text.returncode == 0
