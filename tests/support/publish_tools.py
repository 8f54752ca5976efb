"""The publishing clients (twine, poetry, hatch, pdm) in a virtual environment of their own.

They are not in the ``test`` extra: poetry pins libraries the server uses too (``pkginfo``),
and the tests only run them as programs. The environment is made once with uv (a few seconds
with uv's cache) next to the project's ``.venv`` and reused while the requirements stay the
same. Runs get a throw-away HOME and no keyring, so no user configuration or stored
credential is read, and nothing is saved.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from tests.support import processes

# pdm 2.29 breaks on hishel 2.0 (no SyncSqliteStorage), which it does not exclude.
REQUIREMENTS = ("twine>=6", "poetry>=2", "hatch>=1.13", "pdm>=2.20", "hishel<2")
ROOT = Path(__file__).resolve().parents[2] / ".venv-publish-tools"
TOOLS = ("twine", "poetry", "hatch", "pdm")


def tools_bin() -> Path:
    """The ``bin`` folder holding the publishing clients of :data:`TOOLS` (made when missing)."""
    wanted = "\n".join(REQUIREMENTS) + "\n"
    stamp = ROOT / "requirements.txt"
    ROOT.parent.mkdir(parents=True, exist_ok=True)
    with open(ROOT.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready = stamp.exists() and stamp.read_text() == wanted
        if not ready or not all((ROOT / "bin" / tool).exists() for tool in TOOLS):
            uv = Path(sys.executable).parent / "uv"
            for command in (
                [uv, "venv", "--allow-existing", "--python", sys.executable, ROOT],
                [uv, "pip", "install", "--python", ROOT / "bin" / "python", *REQUIREMENTS],
            ):
                result = processes.run(
                    [str(part) for part in command], capture_output=True, text=True, timeout=600
                )
                assert result.returncode == 0, result.stdout + result.stderr
            stamp.write_text(wanted)
    return ROOT / "bin"


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment that reads no user configuration, keyring or index settings."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "UV_", "POETRY_", "HATCH_", "TWINE_", "PDM_"))
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "UV_NO_CONFIG": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_KEYRING_PROVIDER": "disabled",
            "POETRY_VIRTUALENVS_CREATE": "false",
            "NO_COLOR": "1",
            "TERM": "dumb",
            **extra,
        }
    )
    return env


def run(
    command: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A client run: stdin closed, a session of its own, output captured."""
    return processes.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)
