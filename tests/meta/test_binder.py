"""binder/ is what repo2docker reads: the files parse, and `binder/start` brings up a demo
repository and hands over to Binder's command (here JupyterLab) connected to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
import yaml

from tests.support import processes
from tests.support.lab import (
    assert_serves_labextension,
    isolated_jupyter_env,
    lab_arguments,
    write_quiet_settings,
)
from tests.support.net import free_port, wait_for_http
from tests.support.paths import ROOT

BINDER = ROOT / "binder"
# repo2docker's own config file names; anything else in binder/ is never read.
REPO2DOCKER_FILES = {
    "environment.yml",
    "requirements.txt",
    "postBuild",
    "start",
    "apt.txt",
    "runtime.txt",
    "install.R",
    "Project.toml",
    "Dockerfile",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "REQUIRE",
    "DESCRIPTION",
    "README.md",
}


def test_binder_files_are_repo2docker_config() -> None:
    names = {path.name for path in BINDER.iterdir()}
    assert names <= REPO2DOCKER_FILES, names - REPO2DOCKER_FILES
    environment = yaml.safe_load((BINDER / "environment.yml").read_text())
    dependencies = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("python") for d in dependencies)
    # Node builds the JupyterLab extension during postBuild's `pip install '.[server,lab]'`.
    assert any(d.startswith("nodejs") for d in dependencies)
    for script in ("postBuild", "start"):
        path = BINDER / script
        assert os.access(path, os.X_OK), f"binder/{script} must be executable"
        assert path.read_text().startswith("#!/usr/bin/env bash\n")
        processes.run(["bash", "-n", str(path)], check=True)
    # Binder runs both the repository and Lab: both extras.
    assert "pip install --no-cache-dir '.[server,lab]'" in (BINDER / "postBuild").read_text()
    # repo2docker's rule for start: it must end by running the command it was given.
    assert (BINDER / "start").read_text().rstrip().endswith('exec "$@"')


def _stop_pid_file(pid_file: Path) -> None:
    if pid_file.exists():
        pid = int(pid_file.read_text())
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGTERM)
            try:
                psutil.Process(pid).wait(15)
            except psutil.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_start_brings_up_the_repository_and_lab_connected_to_it(tmp_path: Path) -> None:
    home, state, workspace = tmp_path / "home", tmp_path / "state", tmp_path / "repo-dir"
    for folder in (home, workspace):
        folder.mkdir()
    repo_port, lab_port, lab_token = free_port(), free_port(), "binder-test-token"
    settings = tmp_path / "lab-settings"
    write_quiet_settings(settings)
    env = isolated_jupyter_env(tmp_path / "jupyter")
    env.update(
        {
            "HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            "JUPYTER_REPO_DEMO_STATE": str(state),
            "JUPYTER_REPO_DEMO_PORT": str(repo_port),
        }
    )
    # What Binder does: run start with its own command as arguments, in the repo folder.
    command = [
        str(BINDER / "start"),
        sys.executable,
        "-m",
        "jupyterlab",
        *lab_arguments(lab_port, lab_token, workspace, settings),
    ]
    log = open(tmp_path / "start.log", "wb")  # noqa: SIM115 - closed below
    process = processes.popen(command, cwd=workspace, env=env, stdout=log, stderr=subprocess.STDOUT)
    lab = f"http://127.0.0.1:{lab_port}"
    repository = f"http://127.0.0.1:{repo_port}"
    try:
        wait_for_http(f"{lab}/api/status?token={lab_token}", timeout=120, process=process)
        # start replaced itself with the command (exec), so the process is Lab itself.
        assert "jupyterlab" in " ".join(psutil.Process(process.pid).cmdline())
        assert (state / "repository.pid").exists()
        # The repository answers with the demo content...
        demo = requests.get(f"{repository}/api/packages/demo", timeout=30)
        assert demo.status_code == 200
        assert "temperature-analysis" in {item["name"] for item in demo.json()}
        # ...Lab serves the extension, and the server extension is logged in as demo.
        assert_serves_labextension(lab, lab_token)
        status = requests.get(
            f"{lab}/jupyter-repo/status",
            timeout=30,
            headers={"Authorization": f"token {lab_token}"},
        ).json()
        assert status["connected"] is True, status
        assert status["url"] == repository
        assert status["user"]["login"] == "demo"
        # Sample files to publish were put into the folder Lab opened.
        assert (workspace / "demo" / "welcome.ipynb").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        _stop_pid_file(state / "repository.pid")
        log.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(repository, timeout=1)
        except requests.ConnectionError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the repository server is still running after the test stopped it")
