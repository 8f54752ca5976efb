"""The README's main-job command, `./scripts/demo`: it serves the repository with demo
content and JupyterLab with the extension, logged in to it as the demo user; Ctrl+C stops
both."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support import processes
from tests.support.lab import assert_serves_labextension, isolated_jupyter_env
from tests.support.paths import ROOT

DEMO = ROOT / "scripts" / "demo"


def read_until(process: subprocess.Popen[bytes], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    text, deadline = "", time.monotonic() + timeout
    while marker not in text:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            raise AssertionError(f"scripts/demo did not print {marker!r}; it printed:\n{text}")
        ready, _, _ = select.select([process.stdout], [], [], min(remaining, 1.0))
        if ready:
            text += os.read(process.stdout.fileno(), 65536).decode(errors="replace")
    return text


def is_down(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError:
        return True
    return False


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="scripts/demo installs into the checkout's .venv; run the tests "
    "from it (scripts/test does) so it does not build a second environment",
)
@pytest.mark.slow
def test_scripts_demo_serves_lab_logged_in_to_the_repository(tmp_path: Path) -> None:
    env = isolated_jupyter_env(tmp_path / "jupyter")
    workspace = tmp_path / "workspace"
    process = processes.popen(
        [str(DEMO), "--repo-port=0", "--lab-port=0", f"--workspace={workspace}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output = read_until(process, "Press Ctrl+C", timeout=300)
        repository = re.search(r"repository: (http://127\.0\.0\.1:\d+)", output).group(1)
        lab_url = re.search(r"JupyterLab: (http://127\.0\.0\.1:\d+/lab\?token=\w+)", output).group(
            1
        )
        parts = urlsplit(lab_url)
        lab, token = f"{parts.scheme}://{parts.netloc}", parse_qs(parts.query)["token"][0]

        # The repository, with the demo content.
        packages = requests.get(f"{repository}/api/packages/demo", timeout=30)
        assert packages.status_code == 200
        assert "temperature-analysis" in {item["name"] for item in packages.json()}
        # JupyterLab, with the extension, and sample files to publish.
        assert requests.get(lab_url, timeout=30).status_code == 200
        assert_serves_labextension(lab, token)
        assert (workspace / "welcome.ipynb").exists()
        assert (workspace / "weather-project").is_dir()
        # The server extension is logged in to that repository as the demo user.
        status = requests.get(
            f"{lab}/jupyter-repo/status", timeout=30, headers={"Authorization": f"token {token}"}
        )
        assert status.status_code == 200, status.text
        body = status.json()
        assert body["connected"] is True, body
        assert body["url"] == repository and body["user"]["login"] == "demo"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
    assert is_down(repository) and is_down(lab), "Ctrl+C left a server running"
