"""New environments made from shared ones (``jupyter repo env create``), each registered
as a Jupyter kernel.

Layout: every environment lives in ``<environments folder>/<owner>/<name>-v<version>``
(the folder: :data:`ENVS_DIR_VARIABLE`, else ``<Jupyter data dir>/repo-envs``), and is

* a conda prefix made by py-rattler, when the channels offer a ``python`` package the
  environment's conda part asks for; or
* a uv virtual environment on a local interpreter of the pinned Python version (``uv venv
  --python X.Y``; uv never downloads one), when the channels offer no ``python`` (an
  air-gapped site, or a repository channel holding only the non-Python packages): the
  conda packages (all but python, pip, setuptools, wheel) are then linked into that same
  prefix by py-rattler (its records in ``conda-meta/``), next to the venv's files.

Then the pip part (the exact lock, plus ``ipykernel`` when the lock lacks it) is installed
with ``uv pip install --python <prefix>/bin/python``: the owner's index first, then the
given extra indexes, then PyPI (unless the PyPI fallback is off). Last, a kernelspec
running the prefix's python is written, and :data:`MARKER` records what was built: the
same environment (same owner, name, version and spec files) asked for again is reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jupyter_repo.client import errors
from jupyter_repo.client.api import JSON, RepoClient
from jupyter_repo.client.envdiff import parse_conda_pins
from jupyter_repo.client.install import environments
from jupyter_repo.client.install.conda import conda_install, repository_channels
from jupyter_repo.client.install.context import Context, Progress
from jupyter_repo.client.install.pip import Log, run_streaming, write_requirements
from jupyter_repo.client.install.targets import Target
from jupyter_repo.client.refs import EnvironmentRef

#: Where new environments go, when set (else ``<Jupyter data dir>/repo-envs``).
ENVS_DIR_VARIABLE = "JUPYTER_REPO_ENVS_DIR"
#: What a finished environment records about itself (written last: no marker, not done).
MARKER = "jupyter-repo-env.json"
#: Conda packages a local interpreter replaces (the venv has its own).
INTERPRETER_PACKAGES = frozenset({"python", "pip", "setuptools", "wheel"})
#: Kernel names Jupyter accepts (jupyter_client's rule), lower-case here.
KERNEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PYPI = "https://pypi.org/simple"
PYTHON_SPEC_RE = re.compile(r"^python\s*(?:==|=|\s)\s*(?P<major>\d+)\.(?P<minor>\d+)")


def default_envs_dir() -> Path:
    """Where new environments go: ``$JUPYTER_REPO_ENVS_DIR``, else the Jupyter data dir's
    ``repo-envs``."""
    configured = os.environ.get(ENVS_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "repo-envs"


def kernels_dir(kernel_prefix: str | Path | None = None) -> Path:
    """Where kernelspecs are written: ``<prefix>/share/jupyter/kernels`` for a prefix, else
    the user's Jupyter data dir (as ``jupyter kernelspec install [--prefix]`` does)."""
    if kernel_prefix:
        return Path(kernel_prefix).expanduser() / "share" / "jupyter" / "kernels"
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels"


def kernel_name_for(ref: EnvironmentRef) -> str:
    """The default kernel name: ``repo-<owner>-<name>-v<version>`` in Jupyter's alphabet."""
    raw = f"repo-{ref.owner}-{ref.name}-v{ref.version}".lower()
    return re.sub(r"[^a-z0-9._-]+", "-", raw)[:64]


def display_name_for(ref: EnvironmentRef) -> str:
    return f"{ref.owner}/{ref.name} v{ref.version}"


# -- what a shared environment asks for ------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """What one published environment version asks for, read from its spec files."""

    ref: EnvironmentRef
    #: Exact conda pins (``name ==version build``), then the other conda specs.
    conda: list[str]
    #: Channels the spec files name (URLs or names), besides the owner's.
    channels: list[str]
    #: pip requirement lines (the exact lock when there is one).
    pip: list[str]
    #: ``X.Y`` the conda part pins python to (None: any).
    python: str | None
    #: Digest of everything above: the same key, the same environment.
    key: str

    @property
    def conda_names(self) -> set[str]:
        return {_spec_name(spec) for spec in self.conda}


def read_wanted(context: Context, ref: EnvironmentRef) -> Wanted:
    """Read a published environment (or a notebook's attached one) as :class:`Wanted`:
    conda pins from its ``@EXPLICIT`` lock (else its environment.yml), the other conda
    specs and channels of its environment.yml, pip lines of its exact pip lock."""
    ref, specs = environments.read_specs(context, ref)
    explicit = [spec for _basename, spec in specs if spec["format"] == "explicit"]
    ymls = [spec for _basename, spec in specs if spec["format"] == "environment.yml"]
    conda: list[str] = []
    channels: list[str] = []

    def add(items: list[str]) -> None:  # the lock's pin of a name wins over a loose spec
        for item in items:
            if _spec_name(item) not in {_spec_name(known) for known in conda}:
                conda.append(item)

    for spec in explicit[:1] + ymls[:1]:
        pins, _others, named = parse_conda_pins(spec)
        add([pin.spec for pin in pins])
        channels += [channel for channel in named if channel not in channels]
    if ymls:  # the loose specs (``numpy>=1.26``) of environment.yml
        add(parse_conda_pins(ymls[0])[1])
    pip: list[str] = []
    for _basename, spec in specs:  # requirements.txt first (the exact lock)
        if spec["format"] != "explicit" and spec["pip"]:
            pip = [str(line) for line in spec["pip"]]
            break
    python = next((found for found in map(_python_version, conda) if found), None)
    digest = hashlib.sha256(
        json.dumps([str(ref), specs], sort_keys=True, default=str).encode()
    ).hexdigest()
    return Wanted(ref, conda, channels, pip, python, digest)


def _spec_name(spec: str) -> str:
    return re.split(r"[\s=<>!~\[;,]", spec.strip(), maxsplit=1)[0].lower()


def _python_version(spec: str) -> str | None:
    found = PYTHON_SPEC_RE.match(spec.strip())
    return f"{found['major']}.{found['minor']}" if found else None


# -- what was built --------------------------------------------------------------------------


@dataclass
class CreatedEnvironment:
    """A new environment and its kernel (what :data:`MARKER` holds, plus ``reused``)."""

    owner: str
    name: str
    version: str
    key: str
    prefix: str
    python: str
    kernel_name: str
    display_name: str
    #: Where kernelspecs of this environment were written (``kernels/<name>`` folders).
    kernel_dirs: list[str] = field(default_factory=list)
    #: "conda python" or "local python X.Y.Z (uv venv)".
    interpreter: str = ""
    reused: bool = False

    @property
    def ref(self) -> EnvironmentRef:
        return EnvironmentRef(self.owner, self.name, self.version)

    @property
    def message(self) -> str:
        verb = "Reused the existing" if self.reused else "Created the"
        return (
            f"{verb} environment {self.display_name} in {self.prefix}; kernel "
            f"{self.kernel_name!r} ({self.display_name!r})."
        )

    def to_json(self) -> JSON:
        return {**asdict(self), "message": self.message}

    @classmethod
    def read(cls, prefix: Path) -> CreatedEnvironment | None:
        """The record of a finished environment at ``prefix``, or None."""
        try:
            data = json.loads((prefix / MARKER).read_text(encoding="utf-8"))
            known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
            # where it is, whatever the file says: env remove deletes this folder
            return cls(**{**known, "prefix": str(prefix), "reused": False})
        except (OSError, ValueError, TypeError):
            return None

    def write(self) -> None:
        data = {key: value for key, value in asdict(self).items() if key != "reused"}
        (Path(self.prefix) / MARKER).write_text(json.dumps(data, indent=2), encoding="utf-8")


# -- creating --------------------------------------------------------------------------------


class EnvironmentCreator(Context):
    """Creates new environments from shared ones; see :func:`create_environment`."""

    def __init__(
        self,
        client: RepoClient,
        *,
        envs_dir: str | Path | None = None,
        log: Log | None = None,
        progress: Progress | None = None,
        extra_index_urls: tuple[str, ...] = (),
        stop: threading.Event | None = None,
        pypi_fallback: bool = True,
    ) -> None:
        super().__init__(
            client,
            Target.current(),
            log=log,
            progress=progress,
            extra_index_urls=extra_index_urls,
            stop=stop,
            pypi_fallback=pypi_fallback,
        )
        self.envs_dir = Path(envs_dir).expanduser() if envs_dir else default_envs_dir()

    def prefix_of(self, ref: EnvironmentRef) -> Path:
        """``<envs>/<owner>/<name>-v<version>``; the parts passed :class:`EnvironmentRef`'s
        grammar (no separators, no ``..``), and the result is checked to stay inside."""
        checked = EnvironmentRef.parse(f"{ref.owner}/{ref.name}/{ref.version}")
        root = self.envs_dir.resolve()
        prefix = (root / checked.owner / f"{checked.name}-v{checked.version}").resolve()
        if root not in prefix.parents:
            raise errors.BadRequest(f"{ref} cannot be an environment folder name.")
        return prefix

    def create(
        self,
        spec: str | EnvironmentRef,
        *,
        kernel_name: str | None = None,
        kernel_prefix: str | Path | None = None,
    ) -> CreatedEnvironment:
        ref = spec if isinstance(spec, EnvironmentRef) else EnvironmentRef.parse(spec)
        if kernel_name is not None and not KERNEL_NAME_RE.match(kernel_name):
            raise errors.BadRequest(
                f"{kernel_name[:80]!r} is not a kernel name: use 1-64 lower-case letters, "
                "digits, '.', '_' or '-', starting with a letter or digit."
            )
        self.step(0.0, f"Reading {ref}")
        wanted = read_wanted(self, ref)
        ref = wanted.ref
        prefix = self.prefix_of(ref)
        with _building(prefix):  # one build of a prefix at a time (two clicks, two shells)
            existing = CreatedEnvironment.read(prefix)
            if (
                existing is not None
                and existing.key == wanted.key
                and os.access(existing.python, os.X_OK)
            ):
                self.log(f"{display_name_for(ref)} is already built in {prefix}: reusing it")
                existing.reused = True
                created = existing
            else:
                if prefix.exists():
                    why = "an unfinished" if existing is None else "an outdated"
                    self.log(f"removing {why} build of {display_name_for(ref)} in {prefix}")
                    shutil.rmtree(prefix)
                created = self._build(wanted, prefix)
            self.step(0.95, "Registering the kernel")
            name = kernel_name or kernel_name_for(ref)
            kernel_dir = write_kernelspec(created, name, kernels_dir(kernel_prefix))
            created.kernel_name = name
            if str(kernel_dir) not in created.kernel_dirs:
                created.kernel_dirs.append(str(kernel_dir))
            created.write()
        self.step(1.0, created.message)
        return created

    def step(self, fraction: float | None, message: str) -> None:
        self.check_stop()
        self.progress(fraction, message)

    # -- building ----------------------------------------------------------------------------

    def _build(self, wanted: Wanted, prefix: Path) -> CreatedEnvironment:
        ref = wanted.ref
        channels = repository_channels(self.client, ref.owner, wanted.channels)
        shown = repository_channels(self.client, ref.owner, wanted.channels, with_token=False)
        conda_python = False
        if wanted.conda:
            self.step(0.05, f"Reading the channels {', '.join(shown)}")
            offered = self._offers_python(channels, shown, wanted.python)
            conda_python = offered and "python" in wanted.conda_names
        prefix.parent.mkdir(parents=True, exist_ok=True)
        try:
            if conda_python:
                self.step(0.15, f"Creating {prefix} with py-rattler (python from the channels)")
                self._conda(prefix, channels, wanted.conda, wanted)
                interpreter = "conda python"
            else:
                interpreter = self._venv(prefix, wanted)
                specs = [s for s in wanted.conda if _spec_name(s) not in INTERPRETER_PACKAGES]
                (prefix / "conda-meta").mkdir(exist_ok=True)
                if specs:
                    self.step(0.35, f"Installing {len(specs)} conda packages with py-rattler")
                    self._conda(prefix, channels, specs, wanted)
            python = _python_of(prefix)
            self.step(0.6, f"Installing the pip packages with uv into {prefix}")
            self._pip(python, wanted)
        except BaseException:
            shutil.rmtree(prefix, ignore_errors=True)  # nothing half-built stays behind
            raise
        return CreatedEnvironment(
            ref.owner,
            ref.name,
            str(ref.version),
            wanted.key,
            str(prefix),
            str(python),
            kernel_name_for(ref),
            display_name_for(ref),
            interpreter=interpreter,
        )

    def _offers_python(self, channels: list[str], shown: list[str], version: str | None) -> bool:
        """Whether the channels have a ``python`` (of ``version``); a channel that cannot
        be read is named."""
        import rattler

        spec = f"python {version}.*" if version else "python"
        subdir: Any = getattr(rattler, "Subdir", None) or rattler.Platform  # older: Platform
        platforms = [subdir.current(), subdir("noarch")]
        found = False
        for channel, name in zip(channels, shown, strict=True):
            try:
                result = asyncio.run(
                    rattler.Gateway().query([channel], platforms, [spec], recursive=False)
                )
            except Exception as error:
                raise errors.InstallError(
                    f"The conda channel {name} cannot be read: {self._short(error)}"
                ) from None
            found = found or any(len(records) for records in result)
        if not found:
            self.log(
                f"no {spec} package in {', '.join(shown)}: building on a "
                "local interpreter instead (uv venv)"
            )
        return found

    def _short(self, error: Exception) -> str:
        """One line of a library's error, the token masked."""
        text = " ".join(str(error).split())[:500] or type(error).__name__
        return errors.mask(text, self.secrets)

    def _venv(self, prefix: Path, wanted: Wanted) -> str:
        asked = wanted.python or "the default Python"
        self.step(0.15, f"Creating {prefix} on a local interpreter of {asked} (uv venv)")
        command = [uv_binary(), "venv", str(prefix), "--no-project", "--no-config"]
        if wanted.python:
            command += ["--python", wanted.python]
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
        env.pop("VIRTUAL_ENV", None)
        try:
            lines = run_streaming(command, env=env, log=self.log, stop=self.stop, what="uv venv")
        except errors.InstallError as error:
            raise errors.InstallError(
                f"No local interpreter of {asked} for {wanted.ref} ({error.message})"
            ) from None
        found = next((line for line in lines if line.startswith("Using ")), "")
        why = (
            "the conda channels offer no python"
            if "python" in wanted.conda_names
            else "the conda part names no python"
            if wanted.conda
            else "no conda part"
        )
        self.log(f"{why}: built on a local interpreter ({found})")
        return f"local {found.removeprefix('Using ').strip() or 'python'} (uv venv)"

    def _conda(self, prefix: Path, channels: list[str], specs: list[str], wanted: Wanted) -> None:
        self.check_stop()
        self.log(f"py-rattler: {' '.join(specs)} into {prefix}")
        try:
            conda_install(prefix, channels, specs, log=self.log)
        except errors.InstallError as error:
            message = errors.mask(error.message, self.secrets).removeprefix(
                "conda install failed: "
            )
            raise errors.InstallError(
                f"Cannot solve the conda part of {wanted.ref} ({', '.join(specs)}): {message}"
            ) from None

    def _pip(self, python: Path, wanted: Wanted) -> None:
        self.check_stop()
        lines = list(wanted.pip)
        named = {_spec_name(line).replace("_", "-") for line in lines}
        if "ipykernel" not in named:
            lines.append("ipykernel")
        self.log(f"uv pip install {len(lines)} requirements into {python}")
        command = [uv_binary(), "pip", "install", "--python", str(python), "--no-config"]
        env = {**os.environ, "NO_COLOR": "1", "UV_PYTHON_DOWNLOADS": "never"}
        env.pop("VIRTUAL_ENV", None)
        command += ["--index", f"repository={self.client.pypi_index(wanted.ref.owner)}"]
        if self.client.token:  # the token in the environment, never on the command line
            env["UV_INDEX_REPOSITORY_USERNAME"] = "jupyter-repo"
            env["UV_INDEX_REPOSITORY_PASSWORD"] = self.client.token
        for index in self.extra_index_urls:
            command += ["--find-links", index] if _is_folder(index) else ["--index", index]
        if self.pypi_fallback:
            command += ["--default-index", PYPI]
        else:
            command += ["--default-index", self.client.pypi_index(wanted.ref.owner)]
        with tempfile.TemporaryDirectory(prefix="jupyter-repo-env-") as work:
            listing = Path(work) / "requirements.txt"
            write_requirements(listing, lines, str(wanted.ref))
            run_streaming(
                [*command, "-r", str(listing)],
                env=env,
                log=self.log,
                stop=self.stop,
                secrets=self.secrets,
                what="uv pip install",
            )


@contextlib.contextmanager
def _building(prefix: Path) -> Iterator[None]:
    """Hold ``<prefix>.lock`` (an exclusive advisory lock) while building ``prefix``."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with open(prefix.parent / f".{prefix.name}.lock", "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_folder(index: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*://", index) and Path(index).is_dir()


def _python_of(prefix: Path) -> Path:
    for candidate in ("bin/python", "bin/python3"):
        if (prefix / candidate).exists():
            return prefix / candidate
    raise errors.InstallError(f"{prefix} has no bin/python after it was built.")


def uv_binary() -> str:
    """uv from its Python package, else from PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise errors.InstallError(
                "Creating environments needs uv: pip install 'jupyter-repo[env]'"
            ) from None
        return found


# -- kernels ---------------------------------------------------------------------------------


def write_kernelspec(created: CreatedEnvironment, kernel_name: str, directory: Path) -> Path:
    """``<directory>/<kernel_name>/kernel.json`` running the environment's python."""
    kernel_dir = directory / kernel_name
    if (kernel_dir / "kernel.json").exists() and not _is_our_kernel(kernel_dir, created):
        raise errors.BadRequest(
            f"A kernel named {kernel_name!r} already exists ({kernel_dir}) and runs another "
            "environment; choose another name (--name)."
        )
    kernel_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [created.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": created.display_name,
        "language": "python",
        "metadata": {
            "debugger": True,
            "jupyter_repo": {
                "owner": created.owner,
                "name": created.name,
                "version": created.version,
                "prefix": created.prefix,
            },
        },
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return kernel_dir


# -- listing and removing --------------------------------------------------------------------


def list_environments(envs_dir: str | Path | None = None) -> list[CreatedEnvironment]:
    """The finished environments of the folder, by owner, name and version."""
    root = Path(envs_dir).expanduser() if envs_dir else default_envs_dir()
    found = [CreatedEnvironment.read(marker.parent.resolve()) for marker in _markers(root)]
    return sorted((item for item in found if item is not None), key=lambda item: item.prefix)


def _markers(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(root.glob(f"*/*/{MARKER}"))


def remove_environment(
    which: str, envs_dir: str | Path | None = None, *, log: Log | None = None
) -> CreatedEnvironment:
    """Remove an environment (named by its kernel name or ``OWNER/NAME/VERSION``) and its
    kernelspecs."""
    say = log or (lambda _line: None)
    known = list_environments(envs_dir)
    ref = EnvironmentRef.match(which)
    matches = [
        item
        for item in known
        if item.kernel_name == which
        or which in {Path(folder).name for folder in item.kernel_dirs}
        or (
            ref is not None
            and (item.owner, item.name.lower()) == (ref.owner, ref.name.lower())
            and ref.version in (None, item.version)
        )
    ]
    if not matches:
        raise errors.NotFound(
            f"No environment {which!r} was created here; see: jupyter repo env list"
        )
    if len(matches) > 1:
        raise errors.BadRequest(
            f"{which!r} names {len(matches)} environments: "
            + ", ".join(item.kernel_name for item in matches)
        )
    (item,) = matches
    for folder in map(Path, item.kernel_dirs):
        if _is_our_kernel(folder, item):
            shutil.rmtree(folder)
            say(f"removed the kernel {folder.name} ({folder})")
    shutil.rmtree(item.prefix)
    prefix = Path(item.prefix)
    (prefix.parent / f".{prefix.name}.lock").unlink(missing_ok=True)
    say(f"removed the environment {item.display_name} ({item.prefix})")
    return item


def _is_our_kernel(folder: Path, item: CreatedEnvironment) -> bool:
    """Only a kernelspec this environment wrote (its argv runs the prefix's python)."""
    try:
        spec: dict[str, Any] = json.loads((folder / "kernel.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    argv = spec.get("argv") if isinstance(spec, dict) else None
    return (
        folder.parent.name == "kernels"
        and isinstance(argv, list)
        and bool(argv)
        and argv[0] == item.python
        and Path(item.prefix) in Path(item.python).parents
    )


# -- the one call for the CLI, the widgets and the Jupyter extension -------------------------


def create_environment(
    client: RepoClient,
    spec: str | EnvironmentRef,
    *,
    kernel_name: str | None = None,
    kernel_prefix: str | Path | None = None,
    envs_dir: str | Path | None = None,
    log: Log | None = None,
    progress: Progress | None = None,
    extra_index_urls: tuple[str, ...] = (),
    stop: threading.Event | None = None,
    pypi_fallback: bool = True,
) -> CreatedEnvironment:
    """Create (or reuse) a new environment from the shared environment ``spec``
    (``OWNER/NAME[/VERSION]``, or a notebook with an attached environment) and register
    it as the kernel ``kernel_name`` (default ``repo-<owner>-<name>-v<version>``).

    ``log(line)`` gets every line (uv's, rattler's, the steps'); ``progress(fraction or
    None, message)`` each step; setting ``stop`` cancels (``errors.Cancelled``). Failures
    are ``errors.ClientError`` with a one-line message. Blocking: run it in a thread.
    """
    creator = EnvironmentCreator(
        client,
        envs_dir=envs_dir,
        log=log,
        progress=progress,
        extra_index_urls=extra_index_urls,
        stop=stop,
        pypi_fallback=pypi_fallback,
    )
    return creator.create(spec, kernel_name=kernel_name, kernel_prefix=kernel_prefix)
