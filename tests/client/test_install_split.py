"""The minimal install: what a kernel's environment needs, without the server's stack.

``pip install jupyter-repo`` (no extra) into a fresh virtual environment must give working
notebook widgets and client -- they search a live repository here -- while the server's
libraries and JupyterLab stay out, and ``jupyter repo serve`` says which extra to install.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.paths import ROOT
from tests.support.server import RepoServer

SERVER_STACK = (
    "sqlalchemy",
    "alembic",
    "argon2",
    "tornado",
    "nbconvert",
    "nh3",
    "conda_package_streaming",
    "pkginfo",
    "jinja2",
    "jupyterlab",
    "jupyter_server",
    "boto3",
    "psycopg",
)

PROBE = """
import importlib.util, json, sys
from jupyter_repo.client.api import RepoClient
from jupyter_repo.widgets import PackageSearch
client = RepoClient(sys.argv[1])
found = [item["full_name"] for item in client.search(sys.argv[2])[0]]
widget = PackageSearch(client=client, query=sys.argv[2], debounce=0)
missing = [name for name in sys.argv[3:] if importlib.util.find_spec(name) is None]
print(json.dumps({"found": found, "missing": missing, "widget": type(widget).__name__}))
"""


@pytest.fixture(scope="module")
def minimal_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("minimal") / "venv"
    processes.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    done = processes.run(
        [str(python), "-m", "pip", "install", "-q", str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=venv.parent,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return venv


@pytest.mark.slow
def test_the_minimal_install_searches_without_the_server_stack(
    minimal_venv: Path, server: RepoServer, unique: str, samples: Path
) -> None:
    from jupyter_repo.demo import builders
    from tests.support.http import upload

    owner = server.create_user(f"mini{unique}")
    wheel = builders.wheel(samples, f"minimal-{unique}", "1.0")
    assert (
        upload(
            server.api, server.token(owner), owner, f"minimal-{unique}", "1.0", wheel.name, wheel
        ).status_code
        == 201
    )
    python = minimal_venv / "bin" / "python"
    done = processes.run(
        [str(python), "-c", PROBE, server.url, f"minimal-{unique}", *SERVER_STACK],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=minimal_venv.parent,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["found"] == [f"{owner}/minimal-{unique}"]
    assert result["widget"] == "PackageSearch"
    assert sorted(result["missing"]) == sorted(SERVER_STACK), result


@pytest.mark.slow
def test_serve_without_the_server_extra_names_the_extra(minimal_venv: Path) -> None:
    jupyter = minimal_venv / "bin" / "jupyter"
    done = processes.run(
        [str(jupyter), "repo", "serve"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=minimal_venv.parent,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 1
    assert "pip install 'jupyter-repo[server]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
