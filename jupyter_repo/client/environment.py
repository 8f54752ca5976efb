"""Capturing the environment a kernel runs in, and writing it as publishable specs.

The capture runs the kernel's *own* interpreter (from its kernelspec) with
:mod:`jupyter_repo.client.capture_script`, so what is recorded is what the notebook's code
imports, not what the Jupyter server happens to have. Two files come out of it: an
``environment.yml`` (conda packages pinned to version and build, pip packages under
``pip:``) and an exact lock (``requirements.txt`` with ``==`` pins, plus an ``@EXPLICIT``
URL list when the kernel runs in a conda environment).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from jupyter_repo.client import capture_script
from jupyter_repo.client.errors import CaptureError

CAPTURE_TIMEOUT = 120.0
#: Installer tools that are not part of what the code needs.
NOT_LOCKED = frozenset({"pip"})
#: A token in a channel URL's path, as conda and rattler carry it (``.../t/<token>/...``).
PATH_TOKEN_RE = re.compile(r"/t/[^/]+(?=/|$)")
#: Fields of a conda record (and of a pip entry) that hold URLs.
URL_FIELDS = ("url", "channel", "direct_url")
ENVIRONMENT_YML = "environment.yml"
REQUIREMENTS_TXT = "requirements.txt"
EXPLICIT_TXT = "conda-explicit.txt"


def without_credentials(url: str) -> str:
    """``url`` without the credentials a package manager wrote into it: ``user:pass@``,
    ``/t/<token>/`` path segments and the query (signed URLs) (py-rattler and conda record
    the channel URL they were given, token and all, in ``conda-meta/``). What is captured
    gets published."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""  # not a URL any tool could use: nothing worth keeping
    if not parts.scheme or not parts.netloc:
        return PATH_TOKEN_RE.sub("", url.partition("?")[0])
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, PATH_TOKEN_RE.sub("", parts.path), "", ""))


def _scrubbed(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: without_credentials(value) if key in URL_FIELDS and isinstance(value, str) else value
        for key, value in record.items()
    }


def pin(name: str, version: str) -> str:
    """``name==version``, or ``name===version`` for versions PEP 440 cannot parse."""
    try:
        Version(version)
    except InvalidVersion:
        return f"{name}==={version}"
    return f"{name}=={version}"


@dataclass
class CapturedEnvironment:
    """What one interpreter (or conda prefix) has installed."""

    python_version: str | None
    executable: str | None
    prefix: str
    platform: str
    pip: list[dict[str, Any]] = field(default_factory=list)
    conda: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        # What a capture holds is published: never the credentials of a channel or index.
        self.pip = [_scrubbed(item) for item in self.pip]
        if self.conda is not None:
            self.conda = [_scrubbed(record) for record in self.conda]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CapturedEnvironment:
        return cls(
            python_version=data.get("python_version"),
            executable=data.get("executable"),
            prefix=str(data.get("prefix") or ""),
            platform=str(data.get("platform") or ""),
            pip=list(data.get("pip") or []),
            conda=data.get("conda"),
        )

    @property
    def is_conda(self) -> bool:
        return self.conda is not None

    def pip_only(self) -> list[dict[str, Any]]:
        """pip packages not installed by conda (conda records them itself)."""
        conda_names = {canonicalize_name(record["name"]) for record in self.conda or []}
        return [
            item
            for item in self.pip
            if canonicalize_name(item["name"]) not in NOT_LOCKED
            and not (
                item.get("installer") == "conda" or canonicalize_name(item["name"]) in conda_names
            )
        ]

    def _pins(self) -> list[str | None]:
        return [_checked_pin(item) for item in self.pip_only()]

    def requirement_lines(self) -> list[str]:
        """``name==version`` of each pip package (editable and local installs too: by the
        version they report), leaving out any whose name or version is no requirement pip
        could be given (a repository refuses a spec with such a line)."""
        return [line for line in self._pins() if line is not None]

    def requirements_txt(self) -> str:
        lines = [
            "# Exact pip lock of the environment, captured by jupyter-repo",
            f"# python {self.python_version or 'unknown'} on {self.platform}",
        ]
        left_out = self._pins().count(None)
        if left_out:
            lines.append(
                f"# {left_out} installed distribution(s) left out: their name or "
                "version is not a valid requirement"
            )
        lines += self.requirement_lines()
        return "\n".join(lines) + "\n"

    def environment_yml(self, name: str) -> str:
        dependencies: list[Any] = []
        channels: list[str] = []
        if self.conda is not None:
            for record in self.conda:
                build = record.get("build") or ""
                dependency = f"{record['name']}={record['version']}" + (
                    f"={build}" if build else ""
                )
                if not _one_word(dependency):
                    continue  # a damaged conda-meta record: no spec a repository accepts
                dependencies.append(dependency)
                channel = _channel_name(record)
                if channel and _one_word(channel) and channel not in channels:
                    channels.append(channel)
        if self.python_version and not any(
            str(item).split("=")[0] == "python" for item in dependencies
        ):
            # A venv with conda packages linked in (conda-meta/ without python, as
            # ``jupyter repo env create`` builds on a local interpreter) runs this python
            # all the same: its pip lock holds wheels for it, so recreating needs it.
            dependencies.insert(0, f"python={self.python_version}")
        requirements = self.requirement_lines()
        if requirements:
            if not any(str(item).split("=")[0] == "pip" for item in dependencies):
                dependencies.append("pip")
            dependencies.append({"pip": requirements})
        document: dict[str, Any] = {"name": name}
        if channels:
            document["channels"] = channels
        document["dependencies"] = dependencies
        return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)

    def explicit_lock(self) -> str | None:
        """An ``@EXPLICIT`` list of package URLs (conda environments only)."""
        if self.conda is None:
            return None
        urls = []
        for record in self.conda:
            url = record.get("url")
            if (
                not url
                or not str(url).startswith(("http://", "https://", "file://"))
                or not _one_word(str(url))
            ):
                continue
            digest = record.get("sha256") or record.get("md5")
            urls.append(f"{url}#{digest}" if digest else str(url))
        header = [
            "# Exact conda lock of the environment, captured by jupyter-repo",
            f"# platform: {_subdir(self.conda)}",
            "@EXPLICIT",
        ]
        return "\n".join(header + urls) + "\n"

    def files(self, name: str) -> dict[str, str]:
        """The spec files to publish, ``environment.yml`` first."""
        result = {
            ENVIRONMENT_YML: self.environment_yml(name),
            REQUIREMENTS_TXT: self.requirements_txt(),
        }
        explicit = self.explicit_lock()
        if explicit is not None:
            result[EXPLICIT_TXT] = explicit
        return result


def _one_word(text: str) -> bool:
    """No spaces, line breaks or control characters (one token of one spec line)."""
    return bool(text) and text.isprintable() and not any(char.isspace() for char in text)


def _checked_pin(item: dict[str, Any]) -> str | None:
    """The pin of one captured distribution, or None when it is not a plain requirement
    (metadata is whatever the installed files say)."""
    from jupyter_repo.repository.errors import InvalidInput
    from jupyter_repo.repository.inspect.requirements import requirement

    line = pin(str(item.get("name") or ""), str(item.get("version") or ""))
    try:
        return requirement(line, "captured")
    except InvalidInput:
        return None


def _channel_name(record: dict[str, Any]) -> str:
    channel = str(record.get("channel") or "")
    if channel.startswith(("http://", "https://")):
        channel = channel.rstrip("/")
        if channel.rsplit("/", 1)[-1] == record.get("subdir"):
            channel = channel.rsplit("/", 1)[0]
        if channel.startswith("https://conda.anaconda.org/"):
            channel = channel[len("https://conda.anaconda.org/") :]
    return channel


def _subdir(records: list[dict[str, Any]]) -> str:
    subdirs = {record.get("subdir") for record in records} - {None, "noarch"}
    return str(next(iter(subdirs))) if len(subdirs) == 1 else "unknown"


# -- capture -----------------------------------------------------------------------------


def capture_interpreter(
    python: str, env: dict[str, str] | None = None, timeout: float = CAPTURE_TIMEOUT
) -> CapturedEnvironment:
    """Run the capture script in ``python`` (with ``env`` added to this process's)."""
    source = Path(capture_script.__file__).read_text(encoding="utf-8")
    environment = dict(os.environ)
    environment.update(env or {})
    with tempfile.TemporaryDirectory(prefix="jupyter-repo-capture-") as empty:
        try:
            # cwd is an empty folder: '' on sys.path must not shadow anything.
            completed = subprocess.run(
                [python, "-c", source],
                cwd=empty,
                env=environment,
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise CaptureError(f"The interpreter {python} does not exist.") from None
        except PermissionError:
            raise CaptureError(f"The interpreter {python} cannot be run.") from None
        except subprocess.TimeoutExpired:
            raise CaptureError(
                f"Reading the environment of {python} took longer than {timeout:.0f} s."
            ) from None
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CaptureError(
            f"Reading the environment of {python} failed: {lines[-1] if lines else 'no output'}"
        )
    try:
        data = json.loads(completed.stdout)
    except ValueError:
        raise CaptureError(f"{python} did not report its environment as expected.") from None
    return CapturedEnvironment.from_json(data)


def prefix_interpreter(prefix: Path) -> Path | None:
    for candidate in ("bin/python", "bin/python3", "python.exe"):
        path = prefix / candidate
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def capture_prefix(prefix: str | Path) -> CapturedEnvironment:
    """The environment at ``prefix``: run its Python if it has one, else read conda-meta."""
    root = Path(prefix).expanduser().resolve()
    if not root.is_dir():
        raise CaptureError(f"{prefix} is not a folder.")
    python = prefix_interpreter(root)
    if python is not None:
        return capture_interpreter(str(python))
    conda = capture_script.conda_packages(str(root))
    if conda is None:
        raise CaptureError(
            f"{prefix} is not an environment: it has neither bin/python nor conda-meta/."
        )
    return CapturedEnvironment(
        python_version=None, executable=None, prefix=str(root), platform=sys.platform, conda=conda
    )


# -- kernels -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelInterpreter:
    kernel_name: str
    python: str
    env: dict[str, str]


def kernel_interpreter(kernel_name: str, spec: Any) -> KernelInterpreter:
    """The interpreter a kernelspec runs (``argv[0]``, resolved as jupyter_client does)."""
    argv = list(getattr(spec, "argv", None) or [])
    language = str(getattr(spec, "language", "") or "")
    if not argv:
        raise CaptureError(f"The kernel {kernel_name!r} has no command line.")
    if language and language.lower() != "python":
        raise CaptureError(
            f"The kernel {kernel_name!r} runs {language}, not Python; only Python kernels' "
            "environments can be captured."
        )
    env = {str(key): str(value) for key, value in (getattr(spec, "env", None) or {}).items()}
    first = argv[0]
    if first in {
        "python",
        f"python{sys.version_info[0]}",
        "python{}.{}".format(*sys.version_info[:2]),
    }:
        first = sys.executable  # what jupyter_client launches for these names
    elif not os.path.isabs(first):
        found = shutil.which(first, path=env.get("PATH", os.environ.get("PATH")))
        if found is None:
            raise CaptureError(f"The kernel {kernel_name!r} runs {first!r}, which is not found.")
        first = found
    return KernelInterpreter(kernel_name, first, env)


def capture_kernel(kernel_name: str, kernel_spec_manager: Any | None = None) -> CapturedEnvironment:
    """Capture the environment of an installed kernelspec (blocking)."""
    if kernel_spec_manager is None:
        from jupyter_client.kernelspec import KernelSpecManager

        kernel_spec_manager = KernelSpecManager()
    from jupyter_client.kernelspec import NoSuchKernel

    try:
        spec = kernel_spec_manager.get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise CaptureError(f"No kernel named {kernel_name!r} is installed.") from None
    interpreter = kernel_interpreter(kernel_name, spec)
    return capture_interpreter(interpreter.python, interpreter.env)
