"""pip runs: ``<python> -m pip install`` in the target, each output line streamed to a log,
the token only in ``PIP_INDEX_URL`` of the repository's own index, cancellable.

The token travels as HTTP Basic credentials inside ``PIP_INDEX_URL`` (an environment
variable, not a command-line argument; pip hides credentials in its output) so private
packages and their files download; pip's lines are masked before anyone sees them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from jupyter_repo.client import errors
from jupyter_repo.client.config import within_repository
from jupyter_repo.client.install.targets import Target

Log = Callable[[str], None]


def index_with_credentials(index: str, token: str | None, repository: str) -> str:
    """``https://jupyter-repo:<token>@host/...``: pip sends these as HTTP Basic credentials
    to every URL of the host and masks them in its output. Only an index inside
    ``repository`` (the one the token belongs to) ever gets the token."""
    if not token or not within_repository(index, repository):
        return index
    parts = urlsplit(index)
    return urlunsplit(
        (
            parts.scheme,
            f"jupyter-repo:{token}@{parts.netloc}",
            parts.path,
            parts.query,
            parts.fragment,
        )
    )


def run_streaming(
    command: list[str],
    *,
    env: dict[str, str],
    log: Log,
    stop: threading.Event | None = None,
    secrets: tuple[str, ...] = (),
    what: str | None = None,
) -> list[str]:
    """Run ``command``, sending each output line to ``log``; kill it when ``stop`` is set."""
    stop = stop or threading.Event()
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            text=True,
            errors="replace",
            bufsize=1,
        )
    except OSError as error:
        raise errors.InstallError(f"Cannot run {command[0]}: {error}") from None

    def watch() -> None:
        while process.poll() is None:
            if stop.wait(0.2):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    lines: list[str] = []
    assert process.stdout is not None
    for raw in process.stdout:
        line = errors.mask(raw.rstrip(), secrets)
        lines.append(line)
        log(line)
    process.wait()
    watcher.join(1)
    if stop.is_set():
        raise errors.Cancelled("The installation was cancelled.")
    if process.returncode != 0:
        failures = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        raise errors.InstallError(
            f"{what or Path(command[0]).name} failed: {failures[0] if failures else 'no output'}"
        )
    return lines


def pip_install(
    target: Target,
    arguments: list[str],
    *,
    log: Log,
    index_url: str | None = None,
    extra_index_urls: tuple[str, ...] = (),
    stop: threading.Event | None = None,
    secrets: tuple[str, ...] = (),
) -> None:
    """``pip install <arguments>`` into ``target`` (the target's own pip, else this one's)."""
    env = dict(os.environ)
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    env["PYTHONUNBUFFERED"] = "1"  # pip's lines reach the log as they are written
    if index_url:
        env["PIP_INDEX_URL"] = index_url
    if extra_index_urls:
        env["PIP_EXTRA_INDEX_URL"] = " ".join(extra_index_urls)
    options = ["install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
    command = [target.python, "-m", "pip", *options, *arguments]
    try:
        run_streaming(command, env=env, log=log, stop=stop, secrets=secrets, what="pip")
    except errors.InstallError as error:
        if "No module named pip" not in error.message or target.python == sys.executable:
            raise
        log(f"{target.python} has no pip; using {sys.executable}'s pip for it")
        command = [sys.executable, "-m", "pip", "--python", target.python, *options, *arguments]
        run_streaming(command, env=env, log=log, stop=stop, secrets=secrets, what="pip")


def write_requirements(path: Path, lines: list[str], source: str) -> None:
    """Write the requirements file pip is given, one checked requirement a line: never an
    option, a URL or a path, whatever the spec it came from held (the repository refuses
    those at upload; this holds for an environment stored some other way too)."""
    from jupyter_repo.repository.errors import InvalidInput
    from jupyter_repo.repository.inspect.requirements import requirement

    try:
        checked = [requirement(line, source) for line in lines]
    except InvalidInput as error:
        raise errors.InstallError(f"Refusing to install {error.message}") from None
    path.write_text("\n".join(checked) + "\n", encoding="utf-8")
