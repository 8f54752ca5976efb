"""A shared environment on the repository and a throwaway virtualenv to plan it against.

The environment pins three tiny wheels published (privately) in the same namespace:
``a`` 1.0 (not installed in the venv: add), ``b`` 2.0 (the venv has 1.0: upgrade) and
``c`` 1.0 (the venv has 2.0: downgrade), plus ``d`` 1.0, which the venv already has.

:func:`conda_environment` publishes one with a conda part: tiny noarch conda packages in the
owner's (private) channel, ``x`` 1.0 (add), ``y`` 2.0 (the prefix has 1.0: upgrade), ``z``
1.0 (the prefix has 2.0: downgrade) and ``w`` 1.0 (already there), plus one pip pin ``p``;
the target is a conda prefix (``conda-meta/``, the old versions linked by py-rattler) whose
pip side is an empty venv.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.install import Target, conda_install
from jupyter_repo.client.publish import Destination, Publisher
from jupyter_repo.demo import builders
from tests.support import processes, publish
from tests.support.server import RepoServer


@dataclass
class SharedEnvironment:
    owner: str
    token: str
    name: str
    version: str
    #: Package names by role: {"a": "jre-a-<unique>", ...}
    packages: dict[str, str]
    venv: Path

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def spec(self) -> str:
        return f"{self.owner}/{self.name}/{self.version}"


def pip_environment() -> dict[str, str]:
    """pip without the machine's configuration (its find-links and extra indexes): the
    repository's index is the only place packages can come from."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PIP_") or key == "PIP_CERT"
    }
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


def isolate_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for pip run by the code under test (it inherits this process's variables)."""
    for key in list(os.environ):
        if key.startswith("PIP_") and key != "PIP_CERT":
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")


def make_venv(path: Path, wheels: list[Path]) -> Path:
    """A virtualenv without pip (fast) holding ``wheels``, installed by the runner's pip."""
    processes.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    if wheels:
        processes.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(path / "bin" / "python"),
                "install",
                "--no-index",
                "--no-deps",
                "--quiet",
                *map(str, wheels),
            ],
            check=True,
            env=pip_environment(),
        )
    return path


def versions_in(python: str, names: list[str]) -> dict[str, str | None]:
    """The versions a fresh interpreter imports (None: not importable)."""
    script = (
        "import importlib, json, sys\n"
        "found = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        found[name] = importlib.import_module(name.replace('-', '_')).__version__\n"
        "    except ImportError:\n"
        "        found[name] = None\n"
        "print(json.dumps(found))\n"
    )
    completed = processes.run(
        [python, "-c", script, *names],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    return json.loads(completed.stdout)


def shared_environment(
    server: RepoServer, owner: str, unique: str, root: Path, *, private: bool = True
) -> SharedEnvironment:
    token = server.token(owner, ["api:write"])
    names = {role: f"jre-{role}-{unique}" for role in "abcd"}
    built = root / "wheels"
    for role, versions in (
        ("a", ["1.0"]),
        ("b", ["1.0", "2.0"]),
        ("c", ["1.0", "2.0"]),
        ("d", ["1.0"]),
    ):
        for version in versions:
            publish.wheel(server, token, owner, built, names[role], version, private=private)
    lock = [
        f"{names['a']}==1.0",
        f"{names['b'].upper()}==2.0",  # any spelling of the name
        f"{names['c'].replace('-', '_')}==1.0",
        f"{names['d']}==1.0",
    ]
    requirements = "# Exact pip lock of the environment\n" + "\n".join(lock) + "\n"
    yml = "name: team\ndependencies:\n  - python=3.12\n  - pip\n  - pip:\n" + "".join(
        f"    - {line}\n" for line in lock
    )
    name = f"team-env-{unique}"
    publisher = Publisher(RepoClient(server.url, token))
    published = publisher.publish_spec_files(
        {"environment.yml": yml, "requirements.txt": requirements},
        Destination(owner, name, "1", public=not private),
        default_name=name,
    )
    installed = [
        builders.wheel(root / "installed", names["b"], "1.0"),
        builders.wheel(root / "installed", names["c"], "2.0"),
        builders.wheel(root / "installed", names["d"], "1.0"),
    ]
    venv = make_venv(root / "venv", installed)
    return SharedEnvironment(owner, token, name, published.version, names, venv)


@dataclass
class CondaEnvironment(SharedEnvironment):
    """A shared environment with a conda part; ``venv`` (no pip, no packages) is the pip
    side of the target and ``packages`` maps roles x, y, z, w (conda) and p (pip)."""

    #: A conda prefix (conda-meta/) holding y 1.0, z 2.0 and w 1.0.
    prefix: Path

    @property
    def target(self) -> Target:
        return Target(self.python, str(self.prefix))


def conda_records(prefix: Path) -> set[str]:
    """``name-version-build`` of every conda-meta record of ``prefix``."""
    return {path.stem for path in (prefix / "conda-meta").glob("*.json")}


def conda_environment(server: RepoServer, owner: str, unique: str, root: Path) -> CondaEnvironment:
    token = server.token(owner, ["api:write"])
    names = {role: f"jr{role}-{unique}" for role in "xyzw"}
    names["p"] = f"jre-p-{unique}"
    for role, versions in (
        ("x", ["1.0"]),
        ("y", ["1.0", "2.0"]),
        ("z", ["1.0", "2.0"]),
        ("w", ["1.0"]),
    ):
        for version in versions:
            publish.conda(server, token, owner, root / "conda", names[role], version, private=True)
    publish.wheel(server, token, owner, root / "wheels", names["p"], "1.0", private=True)
    client = RepoClient(server.url, token)
    channel = client.conda_channel(owner)
    wanted = {"x": "1.0", "y": "2.0", "z": "1.0", "w": "1.0"}
    yml = (
        f"name: team\nchannels:\n  - {channel}\ndependencies:\n"
        + "".join(f"  - {names[role]}={version}=0\n" for role, version in wanted.items())
        + f"  - pip\n  - pip:\n    - {names['p']}==1.0\n"
    )
    explicit = "# Exact conda lock of the environment\n# platform: unknown\n@EXPLICIT\n" + "".join(
        f"{channel}/noarch/{names[role]}-{version}-0.conda\n" for role, version in wanted.items()
    )
    name = f"conda-env-{unique}"
    published = Publisher(client).publish_spec_files(
        {
            "environment.yml": yml,
            "requirements.txt": f"{names['p']}==1.0\n",
            "conda-explicit.txt": explicit,
        },
        Destination(owner, name, "1", public=False),
        default_name=name,
    )
    prefix = root / "conda-env"
    (prefix / "conda-meta").mkdir(parents=True)
    conda_install(
        prefix,
        [client.conda_channel(owner, with_token=True)],
        [f"{names['y']}==1.0", f"{names['z']}==2.0", f"{names['w']}==1.0"],
        log=lambda _line: None,
    )
    return CondaEnvironment(
        owner, token, name, published.version, names, make_venv(root / "venv", []), prefix
    )


def runner_indexes() -> list[str]:
    """The indexes and wheel folders the runner's pip is configured with (where ipykernel
    comes from on a machine without PyPI); none: PyPI."""
    found: list[str] = []
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        found += os.environ.get(key, "").split()
    listed = processes.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.split(".")[-1] in {"index-url", "extra-index-url", "find-links"}:
            found += value.strip().strip("'\"").split()
    usable = [item for item in found if not item.startswith("file:") or Path(item[7:]).is_dir()]
    return [item for index, item in enumerate(usable) if item not in usable[:index]]
