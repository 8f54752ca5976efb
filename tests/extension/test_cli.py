"""The ``jupyter repo`` client commands against a real repository, as a user runs them."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import requests

from jupyter_repo.demo import builders
from tests.extension.conftest import PROBE_PACKAGE, PROBE_VERSION, write_notebook
from tests.support import processes
from tests.support.server import PASSWORD, RepoServer


class CLI:
    """Runs ``python -m jupyter_repo`` with its own Jupyter config folder."""

    def __init__(self, root: Path) -> None:
        self.config = root / "cli-config"
        self.env = dict(
            os.environ, JUPYTER_CONFIG_DIR=str(self.config), JUPYTER_REPO_PASSWORD=PASSWORD
        )

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return processes.run(
            [sys.executable, "-m", "jupyter_repo", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout


def test_login_publish_search_logout(
    tmp_path: Path, server: RepoServer, user: str, probe_kernel: str, probe_venv: Path
) -> None:
    cli = CLI(tmp_path)
    out = cli.ok("login", "--url", server.url + "/api/", "--username", user)
    assert f"Logged in to {server.url} as {user}" in out
    tokens = cli.config / "jupyter_repo" / "tokens.json"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    saved = json.loads(tokens.read_text())[server.url]
    assert saved["login"] == user and saved["issued_here"] is True
    assert json.loads((cli.config / "jupyter_repo" / "client.json").read_text()) == {
        "url": server.url
    }
    assert cli.ok("whoami").splitlines() == [
        f"{user} ({user.title()}) at {server.url}",
        f"can publish to: {user}",
    ]

    # A notebook, with the environment of the kernel it names; then again: version 2.
    notebook = write_notebook(tmp_path, "nb/Sea Levels.ipynb", kernel=probe_kernel)
    out = cli.ok("publish", "notebook", str(notebook), "--summary", "Tides", "--private")
    assert f"published {user}/sea-levels 1: {server.url}/{user}/sea-levels" in out
    assert f"with environment {user}/sea-levels-env 1" in out
    record = json.loads(notebook.read_text())["metadata"]["jupyter_repo"]
    assert (record["owner"], record["name"], record["version"]) == (user, "sea-levels", "1")
    assert saved["token"] not in notebook.read_text()
    result = cli("publish", "notebook", str(notebook), "--no-environment", "--progress")
    assert result.returncode == 0 and f"published {user}/sea-levels 2" in result.stdout
    assert "sea-levels.ipynb: 100%" in result.stderr  # the progress bar

    api = server.session(saved["token"])
    shown = api.get(f"{server.api}/package/{user}/sea-levels").json()
    assert shown["versions"] == ["1", "2"] and shown["public"] is False
    env = api.get(f"{server.api}/package/{user}/sea-levels-env").json()
    lock = next(item for item in env["files"] if item["basename"] == "requirements.txt")
    assert lock["dependencies"]["pip"] == [f"{PROBE_PACKAGE}=={PROBE_VERSION}"]

    # Environments: a kernel, a prefix, a file.
    out = cli.ok("publish", "env", "--kernel", probe_kernel)
    assert f"published {user}/probe-venv 1" in out
    out = cli.ok(
        "publish", "env", "--prefix", str(probe_venv), "--name", "venv-copy", "--label", "dev"
    )
    assert f"published {user}/venv-copy 1" in out
    copy = api.get(f"{server.api}/package/{user}/venv-copy").json()
    assert {item["basename"] for item in copy["files"]} == {"environment.yml", "requirements.txt"}
    assert all(item["labels"] == ["dev"] for item in copy["files"])
    env_file = builders.environment_file(
        tmp_path / "specs", "requirements.txt", builders.REQUIREMENTS_TXT
    )
    out = cli.ok("publish", "env", str(env_file), "--name", "reqs")
    assert f"published {user}/reqs 1" in out

    # A project folder, with its exclusion rules.
    project = tmp_path / "Coast"
    write_notebook(project, "a.ipynb")
    (project / "requirements.txt").write_text("numpy==1.26.4\n")
    (project / ".gitignore").write_text("*.log\n")
    (project / "run.log").write_text("noise\n")
    (project / "big.bin").write_bytes(b"0" * 3000)
    # Without a terminal to ask on, nothing is published without --yes.
    result = cli("publish", "project", str(project), "--max-file-size", "2000")
    assert result.returncode == 1 and "pass --yes" in result.stderr
    assert "2 files, " in result.stdout and "a.ipynb" in result.stdout
    assert api.get(f"{server.api}/package/{user}/coast").status_code == 404
    out = cli.ok("publish", "project", str(project), "--max-file-size", "2000", "--yes")
    assert "left out big.bin: larger than the limit of 2000 bytes per file" in out
    assert "left out run.log: excluded by .gitignore" in out
    archive = api.get(f"{server.api}/download/{user}/coast/1/coast.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(archive.content)) as tar:
        assert sorted(tar.getnames()) == ["coast/a.ipynb", "coast/requirements.txt"]

    # Search (private packages are found by their owner only).
    out = cli.ok("search", "sea-levels")
    assert f"{user}/sea-levels" in out and "[private] Tides" in out
    assert "found" in out.splitlines()[-1]
    anonymous = processes.run(
        [sys.executable, "-m", "jupyter_repo", "search", "sea-levels", "--url", server.url],
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "other")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "No packages match 'sea-levels'." in anonymous.stdout

    # Installing a notebook makes no sense: a clear message, no traceback.
    result = cli("install", f"{user}/sea-levels")
    assert result.returncode == 1 and "only pip and conda packages" in result.stderr
    # OWNER/NAME/VERSION names a version as OWNER/NAME==VERSION does (one grammar).
    result = cli("install", f"{user}/sea-levels/2")
    assert result.returncode == 1 and "only pip and conda packages" in result.stderr
    result = cli("install", f"{user}/sea-levels/9")
    assert result.returncode == 1 and "sea-levels has no version 9" in result.stderr

    # Logging out forgets the token and revokes it on the repository.
    assert f"Logged out of {server.url}." in cli.ok("logout")
    assert server.url not in json.loads(tokens.read_text())
    assert (
        requests.get(
            f"{server.api}/user", timeout=10, headers={"Authorization": f"token {saved['token']}"}
        ).status_code
        == 401
    )
    result = cli("whoami")
    assert result.returncode == 1 and "You are not logged in" in result.stderr


def test_login_with_a_token_and_environment_overrides(
    tmp_path: Path, server: RepoServer, user: str
) -> None:
    cli = CLI(tmp_path)
    token = server.token(user, ["api:read"])
    assert f"as {user}" in cli.ok("login", "--url", server.url, "--token", token)
    assert (
        json.loads((cli.config / "jupyter_repo" / "tokens.json").read_text())[server.url][
            "issued_here"
        ]
        is False
    )
    # JUPYTER_REPO_TOKEN (with the JUPYTER_REPO_URL it belongs to) wins over the saved token.
    cli.env["JUPYTER_REPO_TOKEN"] = "jr-" + "y" * 43
    cli.env["JUPYTER_REPO_URL"] = server.url + "/"
    result = cli("whoami")
    assert result.returncode == 1 and "your token was refused" in result.stderr
    # Without JUPYTER_REPO_URL it names no repository: not sent, said so; the saved one is.
    del cli.env["JUPYTER_REPO_URL"]
    result = cli("whoami")
    assert result.returncode == 0 and f"{user} " in result.stdout
    assert "Warning: JUPYTER_REPO_TOKEN is not used: it names no repository" in result.stderr
    # ...and the usage is explained when arguments are missing.
    result = cli("publish", "project")
    assert result.returncode == 1 and result.stderr.startswith(
        "Error: usage: jupyter repo publish project DIR"
    )
