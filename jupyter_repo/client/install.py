"""Installing packages from the repository into an environment (blocking; reused by the
CLI, the Jupyter extension's install tasks and the notebook widgets).

* PyPI packages: ``<python> -m pip install`` from the namespace's index
  ``<url>/pypi/<owner>/simple``. The token travels as HTTP Basic credentials inside
  ``PIP_INDEX_URL`` (an environment variable, not a command-line argument; pip hides
  credentials in its output) so private packages and their files download.
* conda packages: solved and linked with py-rattler into the target prefix, when that
  prefix is a conda environment (it has ``conda-meta/``).
* environments: their pip lock (``requirements.txt``) is installed with pip; or first
  planned against the target (:mod:`~jupyter_repo.client.envdiff`: what would be added,
  upgraded or downgraded, for the conda part too when the target is a conda environment)
  and then exactly the changed pins are installed: conda ones with py-rattler first (exact
  ``name ==version build`` specs against the owner's channel, then the channels the
  environment names), then pip ones.

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

from jupyter_repo.client import capture_script, errors
from jupyter_repo.client.api import JSON, RepoClient
from jupyter_repo.client.config import within_repository
from jupyter_repo.client.envdiff import (
    EnvironmentLock,
    Plan,
    compute_plan,
    parse_conda_pins,
    parse_pins,
)
from jupyter_repo.client.environment import CapturedEnvironment, capture_interpreter

Log = Callable[[str], None]
#: An environment spec file is text; refuse to download more than this.
MAX_SPEC_BYTES = 16 << 20
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
                text=True, timeout=60, env={**os.environ, **(env or {})}, check=False,
                stdin=subprocess.DEVNULL, start_new_session=True)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise errors.InstallError(f"Cannot run {python}: {error}") from None
        if completed.returncode != 0 or not completed.stdout.strip():
            raise errors.InstallError(f"Cannot run {python}: {completed.stderr.strip()[-300:]}")
        return cls(python, completed.stdout.strip())


def index_with_credentials(index: str, token: str | None, repository: str) -> str:
    """``https://jupyter-repo:<token>@host/...``: pip sends these as HTTP Basic credentials
    to every URL of the host and masks them in its output. Only an index inside
    ``repository`` (the one the token belongs to) ever gets the token."""
    if not token or not within_repository(index, repository):
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
                 stop: threading.Event | None = None, pypi_fallback: bool = True) -> None:
        self.client = client
        self.target = target
        self.log = log or (lambda _line: None)
        self.progress = progress or (lambda _fraction, _message: None)
        self.extra_index_urls = tuple(extra_index_urls)
        self.stop = stop or threading.Event()
        #: Environments: PyPI next to the owner's index (off: the owner's index only).
        self.pypi_fallback = pypi_fallback

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
                        index_url=index_with_credentials(index, self.client.token,
                                                          self.client.url),
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

    def _environment_specs(self, owner: str, name: str, version: str | None
                           ) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        """``(version, [(basename, parsed spec)])`` of a published environment (the latest
        version when none is given), its spec files in :func:`_spec_preference` order."""
        spec = InstallSpec(owner, name, version)
        package = self._package(spec)
        version = version or package.get("latest_version")
        if not version:
            raise errors.NotFound(f"{owner}/{name} has no versions.")
        files = [item for item in package.get("files", [])
                 if item.get("version") == version and item.get("type") == "env"]
        if not files:
            raise errors.InstallError(f"{owner}/{name} {version} is not an environment.")
        files.sort(key=lambda item: _spec_preference(item["basename"]))
        specs: list[tuple[str, dict[str, Any]]] = []
        with tempfile.TemporaryDirectory(prefix="jupyter-repo-install-") as work:
            for index, item in enumerate(files):
                path = Path(work) / f"{index}-{Path(item['basename']).name}"
                self.client.download(owner, name, version, item["basename"], path,
                                     max_bytes=MAX_SPEC_BYTES)
                specs.append((str(item["basename"]), _read_spec(path, item["basename"])))
        return str(version), specs

    def _environment_requirements(self, owner: str, name: str, version: str | None
                                  ) -> tuple[str, str, list[str] | None]:
        """``(version, basename, pip requirements or None)`` of a published environment:
        the latest version when none is given, read from its exact lock first."""
        version, specs = self._environment_specs(owner, name, version)
        basename, spec = specs[0]
        return version, basename, _pip_of(spec)

    def _no_pip_part(self, owner: str, name: str, version: str,
                     basename: str) -> errors.ClientError:
        return errors.InstallError(
            f"{owner}/{name} {version} has no pip packages to install; create a conda "
            f"environment from it with: conda env create --file {basename}"
        )

    def _environment_indexes(self, owner: str) -> dict[str, Any]:
        """pip's indexes for an environment of ``owner``: the namespace's index (with the
        token) next to PyPI, or alone when ``pypi_fallback`` is off."""
        index = index_with_credentials(self.client.pypi_index(owner), self.client.token,
                                       self.client.url)
        if self.pypi_fallback:
            return {"extra_index_urls": (index, *self.extra_index_urls)}
        return {"index_url": index, "extra_index_urls": self.extra_index_urls}

    def install_environment(self, owner: str, name: str, version: str | None = None) -> JSON:
        """Install the pip lock of a published environment into the target."""
        spec = InstallSpec(owner, name, version)
        version, basename, requirements = self._environment_requirements(owner, name, version)
        if requirements is None:
            raise self._no_pip_part(owner, name, version, basename)
        self.log(f"pip install {len(requirements)} packages from {owner}/{name} {version}")
        self.progress(None, f"Installing {len(requirements)} packages with pip")
        if requirements:
            with tempfile.TemporaryDirectory(prefix="jupyter-repo-install-") as work:
                listing = Path(work) / "requirements.txt"
                _write_requirements(listing, requirements, f"{owner}/{name} {version}")
                pip_install(self.target, ["-r", str(listing)], log=self.log,
                            stop=self.stop, secrets=self._secrets(),
                            **self._environment_indexes(owner))
        return self._result(InstallSpec(spec.owner, spec.name, version), version, "pip")

    # -- environments: what would change, then exactly that ----------------------------------

    def environment_lock(self, owner: str, name: str, version: str | None = None
                         ) -> EnvironmentLock:
        """The exact pip pins of a published environment (the latest version by default),
        and its exact conda pins: from its ``@EXPLICIT`` lock, else its environment.yml."""
        version, specs = self._environment_specs(owner, name, version)
        basename, first = specs[0]
        requirements = _pip_of(first)
        explicit = [spec for _basename, spec in specs if spec["format"] == "explicit"]
        ymls = [spec for _basename, spec in specs if spec["format"] == "environment.yml"]
        conda, conda_unpinned, channels = parse_conda_pins((explicit or ymls or [{}])[0])
        for yml in ymls:  # the channels environment.yml names come after the lock's
            channels += [channel for channel in parse_conda_pins(yml)[2]
                         if channel not in channels]
        if not conda:  # e.g. "python=3.12" and "pip" of a pip environment: no conda part
            conda_unpinned, channels = [], []
        if requirements is None and not conda:
            raise self._no_pip_part(owner, name, version, basename)
        pins, unpinned = parse_pins(requirements or [])
        return EnvironmentLock(owner, name, version, basename, pins, unpinned, conda,
                               channels, conda_unpinned)

    def capture_target(self) -> CapturedEnvironment:
        """The target's pip packages, read by its own interpreter."""
        return capture_interpreter(self.target.python)

    def _compute(self, lock: EnvironmentLock) -> Plan:
        conda = None
        if lock.conda and self.target.is_conda:
            conda = capture_script.conda_packages(self.target.prefix)
        if not lock.has_pip and conda is None:
            raise errors.InstallError(
                f"{lock.owner}/{lock.name} {lock.version} has only conda packages and "
                f"{self.target.prefix} is not a conda environment (it has no conda-meta "
                f"folder); create one from it with: conda env create --file {lock.basename}"
            )
        captured = self.capture_target() if lock.has_pip else None
        return compute_plan(lock, captured, conda, prefix=self.target.prefix)

    def plan_environment(self, owner: str, name: str, version: str | None = None) -> Plan:
        """What installing the environment would add, upgrade or downgrade in the target:
        its pip packages, and its conda packages when the target is a conda environment."""
        self.progress(None, f"Reading {owner}/{name}" + (f" {version}" if version else ""))
        lock = self.environment_lock(owner, name, version)
        self.progress(None, f"Reading the packages of {self.target.prefix}")
        plan = self._compute(lock)
        self.log(plan.summary())
        if plan.conda_note:
            self.log(plan.conda_note)
        return plan

    def conda_channels(self, lock: EnvironmentLock, *, with_token: bool = True) -> list[str]:
        """Where an environment's conda pins are solved: the owner's channel first, then the
        channels the environment names (channels of this repository with this client's
        token instead of any token written in the environment)."""
        result = [self.client.conda_channel(lock.owner, with_token=with_token)]
        base = f"{self.client.url.rstrip('/')}/conda/"
        for channel in lock.channels:
            parts = channel[len(base):].split("/") if channel.startswith(base) else []
            if len(parts) > 2 and parts[0] == "t":
                parts = parts[2:]
                channel = base + "/".join(parts)
            if len(parts) == 1 and parts[0]:
                channel = self.client.conda_channel(parts[0], with_token=with_token)
            elif len(parts) == 3 and parts[1] == "label" and parts[0]:
                channel = self.client.conda_channel(parts[0], parts[2], with_token=with_token)
            if channel not in result:
                result.append(channel)
        return result

    def apply_plan(self, plan: Plan) -> JSON:
        """Install exactly the pins ``plan`` changes: conda ones with py-rattler first, then
        pip ones (the rest of the pip lock as constraints); then check the target now
        matches the lock."""
        lock = plan.lock
        wanted = plan.requirements()
        conda_specs = plan.conda_specs()
        method = "+".join(kind for kind, specs in (("conda", conda_specs), ("pip", wanted))
                          if specs) or "pip"
        result: JSON = {"owner": lock.owner, "name": lock.name, "version": lock.version,
                        "method": method, "prefix": self.target.prefix,
                        "counts": plan.counts()}
        if not wanted and not conda_specs:
            self.progress(1.0, f"{self.target.prefix} already matches {lock.ref}")
            return {**result, "message": f"Nothing to change: {self.target.prefix} already "
                                         f"matches {lock.ref}."}
        if conda_specs:
            self._apply_conda(lock, conda_specs)
        if wanted:
            self._apply_pip(plan, wanted)
        self.progress(0.95, f"Checking {self.target.prefix}")
        after = self._compute(lock)
        if after.changes:
            first = after.changes[0]
            tool = "py-rattler" if first.kind == "conda" else "pip"
            hint = "" if first.kind == "conda" else " (is another copy first on its sys.path?)"
            raise errors.InstallError(
                f"{tool} finished but {first.name} is {first.current or 'not installed'} in "
                f"{self.target.prefix}, not {first.wanted}{hint}"
            )
        self.progress(1.0, f"Installed {lock.ref}")
        return {**result, "message": f"Installed {lock.ref} into {self.target.prefix}: "
                                     f"{_counted(plan)}; restart the kernel to use them."}

    def _apply_conda(self, lock: EnvironmentLock, specs: list[str]) -> None:
        if self.stop.is_set():
            raise errors.Cancelled("The installation was cancelled.")
        shown = ", ".join(self.conda_channels(lock, with_token=False))
        self.log(f"conda install {' '.join(specs)} from {shown} into {self.target.prefix}")
        self.progress(None, f"Installing {len(specs)} conda packages with py-rattler")
        try:
            conda_install(Path(self.target.prefix), self.conda_channels(lock), specs,
                          log=self.log)
        except errors.InstallError as error:  # rattler's messages may quote channel URLs
            raise errors.InstallError(errors.mask(error.message, self._secrets())) from None

    def _apply_pip(self, plan: Plan, wanted: list[str]) -> None:
        lock = plan.lock
        if self.stop.is_set():
            raise errors.Cancelled("The installation was cancelled.")
        self.log(f"pip install {len(wanted)} packages from {lock.ref} into "
                 f"{self.target.prefix}")
        self.progress(0.0, f"Installing {len(wanted)} packages with pip")
        seen: set[str] = set()

        def log(line: str) -> None:
            self.log(line)
            if line.startswith(("Collecting ", "Processing ")):
                seen.add(line.split()[1])
                self.progress(min(len(seen) / len(wanted), 1.0) * 0.9,
                              f"Downloading {len(seen)} of {len(wanted)}")

        with tempfile.TemporaryDirectory(prefix="jupyter-repo-apply-") as work:
            changes = Path(work) / "requirements.txt"
            _write_requirements(changes, wanted, str(lock.ref))
            constraints = Path(work) / "constraints.txt"
            _write_requirements(constraints, plan.constraints(), str(lock.ref))
            pip_install(self.target, ["-r", str(changes), "-c", str(constraints)], log=log,
                        stop=self.stop, secrets=self._secrets(),
                        **self._environment_indexes(lock.owner))

    def _result(self, spec: InstallSpec, version: Any, method: str) -> JSON:
        self.progress(1.0, f"Installed {spec.owner}/{spec.name} {version or ''}".rstrip())
        return {"owner": spec.owner, "name": spec.name, "version": version, "method": method,
                "prefix": self.target.prefix,
                "message": f"Installed {spec.owner}/{spec.name} {version or ''} into "
                           f"{self.target.prefix}; restart the kernel if it was already "
                           "imported."}


def _counted(plan: Plan) -> str:
    counts = plan.counts()
    words = {"add": "added", "upgrade": "upgraded", "downgrade": "downgraded",
             "change": "changed"}
    parts = [f"{counts[action]} {word}" for action, word in words.items() if counts[action]]
    if plan.lock.unpinned:
        parts.append(f"{len(plan.lock.unpinned)} unpinned")
    return ", ".join(parts) or "nothing changed"


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


def _write_requirements(path: Path, lines: list[str], source: str) -> None:
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


def _read_spec(path: Path, basename: str) -> dict[str, Any]:
    """A downloaded spec file, parsed as the repository does."""
    from jupyter_repo.repository.errors import InvalidInput
    from jupyter_repo.repository.inspect.envspec import parse_spec

    shown = Path(basename).name
    try:
        return parse_spec(path.read_text(encoding="utf-8"), shown)
    except (InvalidInput, UnicodeDecodeError) as error:
        raise errors.InstallError(f"{shown} cannot be read: {error}") from None


def _pip_of(spec: dict[str, Any]) -> list[str] | None:
    """The pip requirements of a parsed spec file (None when it has no pip part at all)."""
    if spec["format"] == "explicit":
        return None
    if not spec["pip"] and spec["conda"]:
        return None
    return list(spec["pip"])
