"""Fixtures for the Jupyter server extension: pytest-jupyter's server fixtures (only in this
folder), the extension enabled with Jupyter's strict authentication, and a real repository."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 - the jp_* fixtures and their hooks

from jupyter_repo.demo import builders
from tests.support import processes
from tests.support.server import RepoServer

PROBE_PACKAGE = "jr-probe"
PROBE_VERSION = "1.2.3"


@pytest.fixture(autouse=True)
def _clean_environment(jp_environ: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels see what a real server's kernels see.

    pytest-jupyter puts the test runner's whole ``sys.path`` in PYTHONPATH, which would make
    every interpreter (the probe venv's too) import the server's packages. And the
    developer's own JUPYTER_REPO_* variables must not leak into the tests.
    """
    for name in ("PYTHONPATH", "JUPYTER_REPO_URL", "JUPYTER_REPO_TOKEN", "JUPYTER_REPO_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo_token(server: RepoServer, user: str) -> str:
    return server.token(user, ["api:write"])


@pytest.fixture
def repo_config(server: RepoServer, repo_token: str, tmp_path: Path) -> dict[str, Any]:
    """``RepoExtension`` configuration: the test repository, the user's token."""
    return {
        "url": server.url,
        "token": repo_token,
        "credentials_dir": str(tmp_path / "credentials"),
    }


@pytest.fixture
def jp_server_config(repo_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_repo": True},
            "allow_unauthenticated_access": False,
        },
        "RepoExtension": repo_config,
    }


@pytest.fixture(scope="session")
def probe_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, real virtualenv holding one extra package at a known version.

    It is made without pip (fast); the test runner's pip installs the local wheel into it
    with ``--no-index``.
    """
    root = tmp_path_factory.mktemp("probe-venv")
    venv = root / "venv"
    processes.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    wheel = builders.wheel(root / "wheels", PROBE_PACKAGE, PROBE_VERSION)
    processes.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-index",
            "--disable-pip-version-check",
            "--quiet",
            str(wheel),
        ],
        check=True,
    )
    return venv


@pytest.fixture
def probe_kernel(jp_kernel_dir: Path, probe_venv: Path) -> str:
    """A kernelspec whose interpreter is the probe virtualenv's python."""
    name = "probe-venv"
    folder = Path(jp_kernel_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    str(probe_venv / "bin" / "python"),
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "Probe venv",
                "language": "python",
            }
        )
    )
    return name


Fetch = Callable[..., Any]


async def call(
    jp_fetch: Fetch,
    *path: str,
    method: str = "GET",
    body: Any = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """A request to the extension; returns ``(status, decoded JSON or None)``."""
    kwargs: dict[str, Any] = {"method": method, "raise_error": False, "params": params}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    elif method in ("POST", "PUT"):
        kwargs["body"] = b""
    response = await jp_fetch("jupyter-repo", *path, **kwargs)
    text = response.body.decode() if response.body else ""
    return response.code, json.loads(text) if text else None


async def run_task(
    jp_fetch: Fetch, path: str, body: dict[str, Any], timeout: float = 90.0
) -> dict[str, Any]:
    """Start a task, check the 202 answer, poll it until it ends; return its final state."""
    status, answer = await call(jp_fetch, *path.split("/"), method="POST", body=body)
    assert status == 202, answer
    assert answer["location"] == f"/jupyter-repo/tasks/{answer['task_id']}"
    deadline = time.monotonic() + timeout
    while True:
        status, task = await call(jp_fetch, "tasks", answer["task_id"])
        assert status == 200
        if task["state"] in ("succeeded", "failed", "cancelled"):
            return task
        assert time.monotonic() < deadline, f"task still {task['state']}: {task['message']}"
        await asyncio.sleep(0.05)


def write_notebook(root: Path, relative: str, **kwargs: Any) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(builders.notebook_json(**kwargs), indent=1))
    return path


@pytest.fixture
def repo_api(server: RepoServer, repo_token: str) -> Iterator[Any]:
    """A requests session on the repository's API with the user's token (to check results)."""
    session = server.session(repo_token)
    yield session
    session.close()
