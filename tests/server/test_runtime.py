"""The server's runtime settings (``ServeApp.switch_interval``, ``ServeApp.malloc_trim_interval``)
take effect in a real server, and values out of range stop it with a clear message."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support import processes
from tests.support.server import running_server


def test_switch_interval_and_heap_trim_take_effect(tmp_path: Path) -> None:
    config = {
        "ServeApp.switch_interval": 0.001,
        "ServeApp.malloc_trim_interval": 0.2,
        "ServeApp.log_level": "DEBUG",
    }
    with running_server(tmp_path, config=config) as server:
        found = requests.get(f"{server.api}/search", params={"name": "anything"}, timeout=120)
        assert found.status_code == 200 and found.json() == []
        deadline = time.monotonic() + 120
        while "free heap returned to the system" not in server.log_text():
            assert time.monotonic() < deadline, server.log_text()[-2000:]
            time.sleep(0.2)
        log = server.log_text()
        assert "Python switch interval 1 ms; free heap returned every 0.2 s" in log
        assert "free heap returned to the system: RSS " in log


def test_the_defaults_trim_nothing(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        assert "Python switch interval 5 ms; free heap kept by the C library" in server.log_text()


@pytest.mark.parametrize(
    "option",
    [
        "--ServeApp.switch_interval=-0.001",
        "--ServeApp.switch_interval=2",
        "--ServeApp.malloc_trim_interval=-1",
    ],
)
def test_out_of_range_runtime_settings_are_refused(tmp_path: Path, option: str) -> None:
    result = processes.run(
        [sys.executable, "-m", "jupyter_repo", "serve", "--port=0", option],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")},
    )
    assert result.returncode != 0
    name = option.split("=")[0].removeprefix("--ServeApp.")
    assert name in result.stderr and "Traceback" not in result.stderr, result.stderr
