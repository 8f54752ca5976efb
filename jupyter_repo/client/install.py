"""Installing packages from the repository into an environment (blocking; reused by the
CLI, the Jupyter extension's install tasks and the notebook widgets).

* PyPI packages: ``<python> -m pip install`` from the namespace's index
  ``<url>/pypi/<owner>/simple``. The token travels as HTTP Basic credentials inside
  ``PIP_INDEX_URL`` (an environment variable, not a command-line argument; pip hides
  credentials in its output) so private packages and their files download.
* conda packages: solved and linked with py-rattler into the target prefix, when that
  prefix is a conda environment (it has ``conda-meta/``).
* environments: their pip lock (``requirements.txt``) is installed with pip.

The target is an interpreter: the current one for the CLI, a kernel's for the extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jupyter_repo.client import errors
from jupyter_repo.client.api import JSON, RepoClient

Log = Callable[[str], None]
SPEC_RE = re.compile(
    r"^(?P<owner>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<name>[A-Za-z0-9][A-Za-z0-9._+-]*)"
    r"(?:(?:==|=|@)(?P<version>[A-Za-z0-9][A-Za-z0-9._+!-]*))?$"
)


@dataclass(frozen=True)
class InstallSpec:
    owner: str
    name: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> InstallSpec:
        match = SPEC_RE.match((text or "").strip())
        if match is None:
            raise errors.BadRequest(
                f"{text!r} is not a package: write OWNER/NAME or OWNER/NAME==VERSION."
            )
        return cls(match["owner"].lower(), match["name"], match["version"])

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}" + (f"=={self.version}" if self.version else "")


@dataclass(frozen=True)
class Target:
    """Where packages go: an interpreter and its prefix."""

    python: str
    prefix: str

    @property
    def is_conda(self) -> bool:
        return (Path(self.prefix) / "conda-meta").is_dir()

    @classmethod
    def current(cls) -> Target:
        return cls(sys.executable, sys.prefix)

    @classmethod
    def of_interpreter(cls, python: str, env: dict[str, str] | None = None) -> Target:
        if python == sys.executable:
            return cls.current()
        try:
            completed = subprocess.run(
                [python, "-c", "import sys; print(sys.prefix)"], capture_output=True,
                text=True, timeout=60, env={**os.environ, **(env or {})}, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise errors.InstallError(f"Cannot run {python}: {error}") from None
        if completed.returncode != 0 or not completed.stdout.strip():
            raise errors.InstallError(f"Cannot run {python}: {completed.stderr.strip()[-300:]}")
        return cls(python, completed.stdout.strip())


def index_with_credentials(index: str, token: str | None) -> str:
    """``https://jupyter-repo:<token>@host/...``: pip sends these as HTTP Basic credentials
    to every URL of the host and masks them in its output."""
    if not token:
        return index
    parts = urlsplit(index)
    return urlunsplit((parts.scheme, f"jupyter-repo:{token}@{parts.netloc}", parts.path,
                       parts.query, parts.fragment))


def run_streaming(command: list[str], *, env: dict[str, str], log: Log,
                  stop: threading.Event | None = None, secrets: tuple[str, ...] = (),
                  what: str | None = None) -> list[str]:
    """Run ``command``, sending each output line to ``log``; kill it when ``stop`` is set."""
    stop = stop or threading.Event()
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True, text=True, errors="replace", bufsize=1)
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
        line = raw.rstrip()
        for secret in secrets:
            if secret:
                line = line.replace(secret, "***")
        lines.append(line)
        log(line)
    process.wait()
    watcher.join(1)
    if stop.is_set():
        raise errors.Cancelled("The installation was cancelled.")
    if process.returncode != 0:
        failures = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        raise errors.InstallError(
            f"{what or Path(command[0]).name} failed: "
            f"{failures[0] if failures else 'no output'}")
    return lines


def pip_install(target: Target, arguments: list[str], *, log: Log,
                index_url: str | None = None, extra_index_urls: tuple[str, ...] = (),
                stop: threading.Event | None = None, secrets: tuple[str, ...] = ()) -> None:
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


def conda_install(prefix: Path, channels: list[str], specs: list[str], *, log: Log) -> list[str]:
    """Solve ``specs`` against ``channels`` keeping what is installed, and link into ``prefix``.

    Returns the names of the packages added or changed.
    """
    try:
        import rattler
    except ImportError:
        raise errors.InstallError(
            "Installing conda packages needs py-rattler: pip install py-rattler."
        ) from None
    meta = prefix / "conda-meta"
    installed = [rattler.PrefixRecord.from_path(path) for path in sorted(meta.glob("*.json"))]

    async def solve_and_link() -> list[str]:
        solved = await rattler.solve(
            sources=channels, specs=specs, locked_packages=installed,
            virtual_packages=rattler.VirtualPackage.detect())
        names = {record.name.normalized for record in solved}
        kept = [record for record in installed if record.name.normalized not in names]
        await rattler.install([*solved, *kept], target_prefix=prefix,
                              installed_packages=installed, show_progress=False)
        before = {(r.name.normalized, str(r.version), r.build) for r in installed}
        return [f"{r.name.normalized}-{r.version}-{r.build}" for r in solved
                if (r.name.normalized, str(r.version), r.build) not in before]

    try:
        changed = asyncio.run(solve_and_link())
    except errors.ClientError:
        raise
    except Exception as error:
        message = " ".join(str(error).split())[:500] or type(error).__name__
        raise errors.InstallError(f"conda install failed: {message}") from None
    for item in changed:
        log(f"linked {item}")
    return changed


#: ``progress(fraction or None when unknown, what is happening)``.
Progress = Callable[[float | None, str], None]


class Installer:
    """Installs packages of one repository into one target.

    ``log`` receives every output line (pip's, rattler's), ``progress`` the steps, and
    setting ``stop`` cancels (pip is killed; ``Cancelled`` is raised).
    """

    def __init__(self, client: RepoClient, target: Target, *, log: Log | None = None,
                 progress: Progress | None = None, extra_index_urls: tuple[str, ...] = (),
                 stop: threading.Event | None = None) -> None:
        self.client = client
        self.target = target
        self.log = log or (lambda _line: None)
        self.progress = progress or (lambda _fraction, _message: None)
        self.extra_index_urls = tuple(extra_index_urls)
        self.stop = stop or threading.Event()

    def _secrets(self) -> tuple[str, ...]:
        return (self.client.token,) if self.client.token else ()

    def _package(self, spec: InstallSpec) -> JSON:
        package = self.client.package(spec.owner, spec.name)
        versions = [str(version) for version in package.get("versions", [])]
        if spec.version and spec.version not in versions:
            raise errors.NotFound(
                f"{spec.owner}/{spec.name} has no version {spec.version}; it has "
                f"{', '.join(versions) or 'no versions'}."
            )
        return package

    def install(self, spec: InstallSpec, *, label: str | None = None,
                method: str | None = None) -> JSON:
        """Install one package (or environment) of the repository into the target.

        ``method`` ("pip", "conda" or "env") picks how when a package has several kinds of
        files; by default PyPI files win, then conda, then environment specs.
        """
        self.progress(None, f"Looking up {spec}")
        package = self._package(spec)
        types = list(package.get("package_types") or [])
        if method is not None:
            wanted = {"pip": "pypi"}.get(method, method)
            if wanted not in types:
                raise errors.InstallError(
                    f"{spec.owner}/{spec.name} has no {method} files "
                    f"(it holds {', '.join(types) or 'no files'})."
                )
            types = [wanted]
        version = spec.version or package.get("latest_version")
        if "pypi" in types:
            index = self.client.pypi_index(spec.owner, label)
            requirement = f"{spec.name}=={spec.version}" if spec.version else spec.name
            self.log(f"pip install {requirement} from {index} into {self.target.prefix}")
            self.progress(None, f"Installing {spec} with pip")
            pip_install(self.target, [requirement], log=self.log,
                        index_url=index_with_credentials(index, self.client.token),
                        extra_index_urls=self.extra_index_urls, stop=self.stop,
                        secrets=self._secrets())
            return self._result(spec, version, "pip")
        if "conda" in types:
            channel = self.client.conda_channel(spec.owner, label)
            if not self.target.is_conda:
                raise errors.InstallError(
                    f"{spec.owner}/{spec.name} is a conda package and {self.target.prefix} is "
                    f"not a conda environment; install it with: conda install -c {channel} "
                    f"{spec.name}"
                )
            match = f"{spec.name}=={spec.version}" if spec.version else spec.name
            self.log(f"conda install {match} from {channel} into {self.target.prefix}")
            self.progress(None, f"Installing {spec} with conda")
            conda_install(Path(self.target.prefix),
                          [self.client.conda_channel(spec.owner, label, with_token=True)],
                          [match], log=self.log)
            return self._result(spec, version, "conda")
        if "env" in types:
            return self.install_environment(spec.owner, spec.name, spec.version)
        raise errors.InstallError(
            f"{spec.owner}/{spec.name} holds {', '.join(types) or 'no files'}; only pip and "
            "conda packages and environments can be installed (open notebooks and projects "
            "instead)."
        )

    def install_environment(self, owner: str, name: str, version: str | None = None) -> JSON:
        """Install the pip lock of a published environment into the target."""
        spec = InstallSpec(owner, name, version)
        package = self._package(spec)
        version = version or package.get("latest_version")
        if not version:
            raise errors.NotFound(f"{owner}/{name} has no versions.")
        files = [item for item in package.get("files", [])
                 if item.get("version") == version and item.get("type") == "env"]
        if not files:
            raise errors.InstallError(f"{owner}/{name} {version} is not an environment.")
        chosen = min(files, key=lambda item: _spec_preference(item["basename"]))
        with tempfile.TemporaryDirectory(prefix="jupyter-repo-install-") as work:
            path = Path(work) / Path(chosen["basename"]).name
            self.client.download(owner, name, version, chosen["basename"], path)
            requirements = _pip_requirements(path)
            if requirements is None:
                raise errors.InstallError(
                    f"{owner}/{name} {version} has no pip packages to install; create a conda "
                    f"environment from it with: conda env create --file {chosen['basename']}"
                )
            self.log(f"pip install {len(requirements)} packages from {owner}/{name} {version}")
            self.progress(None, f"Installing {len(requirements)} packages with pip")
            if requirements:
                listing = Path(work) / "requirements.txt"
                listing.write_text("\n".join(requirements) + "\n", encoding="utf-8")
                index = self.client.pypi_index(owner)
                pip_install(self.target, ["-r", str(listing)], log=self.log,
                            extra_index_urls=(index_with_credentials(index, self.client.token),
                                              *self.extra_index_urls),
                            stop=self.stop, secrets=self._secrets())
        return self._result(spec, version, "pip")

    def _result(self, spec: InstallSpec, version: Any, method: str) -> JSON:
        self.progress(1.0, f"Installed {spec.owner}/{spec.name} {version or ''}".rstrip())
        return {"owner": spec.owner, "name": spec.name, "version": version, "method": method,
                "prefix": self.target.prefix,
                "message": f"Installed {spec.owner}/{spec.name} {version or ''} into "
                           f"{self.target.prefix}; restart the kernel if it was already "
                           "imported."}


def _spec_preference(basename: str) -> int:
    """Which spec file of an environment pip installs from: the exact lock first."""
    name = basename.rsplit("/", 1)[-1].lower()
    if name == "requirements.txt":
        return 0
    if name.endswith(".txt") and "explicit" not in name:
        return 1
    if name.endswith((".yml", ".yaml")):
        return 2
    return 3


def _pip_requirements(path: Path) -> list[str] | None:
    """The pip requirements of a spec file (None when it has no pip part at all)."""
    from jupyter_repo.repository.errors import InvalidInput
    from jupyter_repo.repository.inspect.envspec import parse_spec

    try:
        spec = parse_spec(path.read_text(encoding="utf-8"), path.name)
    except (InvalidInput, UnicodeDecodeError) as error:
        raise errors.InstallError(f"{path.name} cannot be read: {error}") from None
    if spec["format"] == "explicit":
        return None
    if not spec["pip"] and spec["conda"]:
        return None
    return list(spec["pip"])
