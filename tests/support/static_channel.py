"""A static conda channel as upstream: packages built here, indexed by py-rattler's own
indexer, served by Python's plain ``http.server`` (which answers If-Modified-Since) on
127.0.0.1, with its access log kept to see which files a sync requested."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from jupyter_repo.demo import builders
from tests.support import processes
from tests.support.net import free_port, wait_for_http
from tests.support.paths import ROOT

#: An access log line of http.server: ``... "GET /noarch/x.conda HTTP/1.1" 200 -``.
REQUEST_RE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def build_channel(root: Path, packages: list[dict[str, Any]]) -> dict[str, Path]:
    """Write each package (``builders.conda_package`` keyword arguments plus ``name`` and
    ``version``) into ``root/<subdir>/`` and index the channel with py-rattler."""
    (root / "noarch").mkdir(parents=True, exist_ok=True)
    built = {}
    for spec in packages:
        spec = dict(spec)
        subdir = spec.get("subdir", "noarch")
        path = builders.conda_package(root / subdir, spec.pop("name"), spec.pop("version"), **spec)
        built[f"{subdir}/{path.name}"] = path
    reindex(root)
    return built


INDEX_SCRIPT = (
    "import asyncio, sys\n"
    "from rattler.index import index_fs\n"
    "asyncio.run(index_fs(sys.argv[1], write_zst=False, write_shards=False, force=True))\n"
    "print('INDEXED', flush=True)\n"
)


def reindex(root: Path) -> None:
    """Index with py-rattler (``repodata.json`` only, as a plain static channel has), in a
    process of its own: py-rattler may crash at interpreter exit, after its work is done,
    so the run is judged by what it printed and wrote."""
    for stale in root.glob("*/repodata*"):
        stale.unlink()
    result = processes.run(
        [sys.executable, "-c", INDEX_SCRIPT, str(root)], capture_output=True, text=True
    )
    if "INDEXED" not in result.stdout or not (root / "noarch" / "repodata.json").exists():
        raise AssertionError(f"py-rattler's index failed:\n{result.stdout}\n{result.stderr}")


def repodata(root: Path, subdir: str) -> dict[str, Any]:
    return json.loads((root / subdir / "repodata.json").read_text())


class StaticChannel:
    """``python -m http.server`` over a folder; stop and start again on the same port."""

    def __init__(self, root: Path, log: Path, port: int | None = None) -> None:
        self.root = root
        self.log = log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> StaticChannel:
        handle = open(self.log, "ab")  # noqa: SIM115 - kept for the process's lifetime
        self.process = processes.popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", str(self.root)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        wait_for_http(self.url + "noarch/repodata.json", process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None

    def requests(self) -> list[tuple[str, str, int]]:
        """Every request logged so far: (method, path, status)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [
            (match["method"], match["path"], int(match["status"]))
            for match in REQUEST_RE.finditer(text)
        ]


def cli_env(env_root: Path) -> dict[str, str]:
    """The environment of an operator's ``jupyter repo`` run: Jupyter's folders in the test's."""
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(env_root / "config"),
        "JUPYTER_DATA_DIR": str(env_root / "jupyter-data"),
    }


def repo_cli(
    args: list[str], data_dir: Path, env_root: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``jupyter repo ARGS --data-dir=DATA`` as an operator types it."""
    return processes.run(
        [sys.executable, "-m", "jupyter_repo", *args, f"--data-dir={data_dir}"],
        env=cli_env(env_root),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def cli_popen(args: list[str], data_dir: Path, env_root: Path) -> subprocess.Popen[str]:
    return processes.popen(
        [sys.executable, "-m", "jupyter_repo", *args, f"--data-dir={data_dir}"],
        env=cli_env(env_root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
