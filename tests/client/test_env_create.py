"""``jupyter repo env create|list|remove``: a new environment (and its kernel) made from a
shared environment, through a real server, real py-rattler, real uv and a real kernelspec.

The shared environments pin tiny conda packages from the owner's (private) channel on the
test server and a wheel from the owner's PyPI index; this machine reaches no public conda
channel, so every environment is built on a local interpreter of the running Python's
version (``uv venv``), which the log must say. ``ipykernel`` (which the locks lack) comes
from the indexes the runner's pip is configured with, else PyPI.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.install import Installer, InstallSpec, Target
from jupyter_repo.client.install.newenv import (
    create_environment,
    list_environments,
    remove_environment,
)
from jupyter_repo.client.publish import Destination, Publisher
from jupyter_repo.demo import builders
from jupyter_repo.widgets import EnvironmentInstaller
from tests.support import processes, publish
from tests.support.environments import isolate_pip, runner_indexes
from tests.support.net import free_port
from tests.support.server import RepoServer

PYTHON = "{}.{}".format(*sys.version_info[:2])


@dataclass
class Shared:
    """An owner with conda packages ``x`` 1.0 and 2.0 in its channel, a wheel ``p`` 1.0 and
    2.0 in its index, and environments made of them."""

    server: RepoServer
    owner: str
    token: str
    x: str
    p: str
    root: Path

    @property
    def client(self) -> RepoClient:
        return RepoClient(self.server.url, self.token)

    def environment(self, name: str, files: dict[str, str]) -> str:
        published = Publisher(self.client).publish_spec_files(
            files, Destination(self.owner, name, "1", public=False), default_name=name
        )
        return f"{self.owner}/{name}/{published.version}"

    def yml(
        self, *dependencies: str, pip: tuple[str, ...] = (), channels: tuple[str, ...] = ()
    ) -> str:
        lines = ["name: team"] + (["channels:"] if channels else [])
        lines += (
            [f"  - {channel}" for channel in channels]
            + ["dependencies:"]
            + [f"  - {d}" for d in dependencies]
        )
        if pip:
            lines += ["  - pip", "  - pip:"] + [f"    - {line}" for line in pip]
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def shared(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Shared:
    unique = uuid.uuid4().hex[:8]
    owner = server.create_user(f"envc{unique}")
    token = server.token(owner, ["api:write"])
    root = tmp_path_factory.mktemp("env-create")
    x, p = f"jrx-{unique}", f"jre-p-{unique}"
    for version in ("1.0", "2.0"):
        publish.conda(server, token, owner, root / "conda", x, version, private=True)
        publish.wheel(server, token, owner, root / "wheels", p, version, private=True)
    return Shared(server, owner, token, x, p, root)


@pytest.fixture(scope="module")
def exact(shared: Shared) -> str:
    """The exact-pin environment, as ``publish`` of a captured conda kernel writes it."""
    channel = shared.client.conda_channel(shared.owner)
    return shared.environment(
        f"exact-{uuid.uuid4().hex[:6]}",
        {
            "environment.yml": shared.yml(
                f"python={PYTHON}", f"{shared.x}=1.0=0", pip=(f"{shared.p}==1.0",)
            ),
            "requirements.txt": f"{shared.p}==1.0\n",
            "conda-explicit.txt": f"@EXPLICIT\n{channel}/noarch/{shared.x}-1.0-0.conda\n",
        },
    )


class User:
    """``python -m jupyter_repo`` as a user runs it: own Jupyter folders and environments
    folder, the repository and token in the environment variables."""

    def __init__(self, shared: Shared, root: Path) -> None:
        self.data = root / "jupyter-data"
        self.envs = root / "envs"
        self.env = {
            **os.environ,
            "JUPYTER_DATA_DIR": str(self.data),
            "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"),
            "JUPYTER_REPO_ENVS_DIR": str(self.envs),
            "JUPYTER_REPO_URL": shared.server.url,
            "JUPYTER_REPO_TOKEN": shared.token,
        }
        self.indexes = [f"--extra-index-url={index}" for index in runner_indexes()]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        extra = self.indexes if args[:2] == ("env", "create") else []
        return processes.run(
            [sys.executable, "-m", "jupyter_repo", *args, *extra],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
        assert "Traceback" not in result.stderr
        return result.stdout

    def fails(self, *args: str) -> str:
        result = self(*args)
        assert result.returncode == 1, (args, result.stdout[-3000:], result.stderr[-3000:])
        assert "Traceback" not in result.stdout + result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("Error: ")
        return line

    def kernel(self, name: str) -> dict:
        return json.loads((self.data / "kernels" / name / "kernel.json").read_text())


def what_it_runs(python: str, conda_name: str, pip_name: str) -> dict[str, str]:
    """The versions the new environment's python sees: the conda package's installed file
    (``share/<name>/VERSION``), the pip package's ``__version__``, and ipykernel."""
    script = (
        "import importlib, json, pathlib, sys\n"
        "conda = pathlib.Path(sys.prefix, 'share', sys.argv[1], 'VERSION').read_text().strip()\n"
        "pip = importlib.import_module(sys.argv[2].replace('-', '_')).__version__\n"
        "import ipykernel\n"
        "print(json.dumps({'conda': conda, 'pip': pip, 'python': sys.version.split()[0],"
        " 'prefix': sys.prefix}))\n"
    )
    done = processes.run(
        [python, "-c", script, conda_name, pip_name],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def user(shared: Shared, tmp_path_factory: pytest.TempPathFactory) -> User:
    return User(shared, tmp_path_factory.mktemp("user"))


def test_env_create_builds_the_exact_pins_and_registers_a_kernel(
    shared: Shared, exact: str, user: User
) -> None:
    owner, name, version = exact.split("/")
    started = time.monotonic()
    out = user.ok("env", "create", exact)
    print(f"env create (first): {time.monotonic() - started:.1f} s")
    kernel_name = f"repo-{owner}-{name}-v{version}"
    prefix = user.envs / owner / f"{name}-v{version}"
    assert f"Created the environment {owner}/{name} v{version} in {prefix}" in out
    assert "the conda channels offer no python: built on a local interpreter" in out
    assert f"py-rattler: {shared.x} ==1.0 0 into {prefix}" in out
    assert "==> [100%]" in out

    spec = user.kernel(kernel_name)
    assert spec["display_name"] == f"{owner}/{name} v{version}"
    assert spec["argv"][:3] == [str(prefix / "bin" / "python"), "-m", "ipykernel_launcher"]
    assert spec["language"] == "python"
    seen = what_it_runs(spec["argv"][0], shared.x, shared.p)
    assert (seen["conda"], seen["pip"]) == ("1.0", "1.0")
    assert seen["python"].startswith(PYTHON + ".") and seen["prefix"] == str(prefix)
    assert (prefix / "conda-meta" / f"{shared.x}-1.0-0.json").is_file()


def test_env_create_again_reuses_the_environment(shared: Shared, exact: str, user: User) -> None:
    owner, name, version = exact.split("/")
    prefix = user.envs / owner / f"{name}-v{version}"
    if not (prefix / "jupyter-repo-env.json").exists():
        user.ok("env", "create", exact)
    before = (prefix / "jupyter-repo-env.json").stat().st_ino
    started = time.monotonic()
    done = user("env", "create", f"{owner}/{name}", "--progress")  # the latest: the same one
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "100%|" in done.stderr and "Reading " in done.stderr  # the bar, on stderr
    print(f"env create (again): {took:.1f} s")
    assert f"{owner}/{name} v{version} is already built in {prefix}: reusing it" in out
    assert f"Reused the existing environment {owner}/{name} v{version}" in out
    assert "uv pip install" not in out and "py-rattler:" not in out
    assert took < 20
    assert (prefix / "jupyter-repo-env.json").stat().st_ino == before
    # Another kernel name for the same environment: one more kernelspec, the same prefix.
    out = user.ok("env", "create", exact, "--name", "team-analysis")
    assert user.kernel("team-analysis")["argv"][0] == str(prefix / "bin" / "python")
    assert user.kernel("team-analysis")["display_name"] == f"{owner}/{name} v{version}"
    # A kernel name another environment's kernel already has is refused, the kernel kept.
    theirs = user.data / "kernels" / "python3" / "kernel.json"
    theirs.parent.mkdir(parents=True)
    theirs.write_text(json.dumps({"argv": ["/usr/bin/python3"], "display_name": "Python 3"}))
    assert user.fails("env", "create", exact, "--name", "python3") == (
        f"Error: A kernel named 'python3' already exists ({theirs.parent}) and runs another "
        "environment; choose another name (--name)."
    )
    assert json.loads(theirs.read_text())["argv"] == ["/usr/bin/python3"]


@pytest.mark.parametrize("bad", ["../escape", "..", ".hidden", "Upper", "a/b", "x" * 65])
def test_env_create_refuses_a_bad_kernel_name(
    shared: Shared, exact: str, bad: str, tmp_path: Path
) -> None:
    user = User(shared, tmp_path)
    assert user.fails("env", "create", exact, "--name", bad) == (
        f"Error: {bad!r} is not a kernel name: use 1-64 lower-case letters, digits, "
        "'.', '_' or '-', starting with a letter or digit."
    )
    assert not tmp_path.joinpath("jupyter-data").exists() and not user.envs.exists()


def test_env_create_solves_unpinned_specs(
    shared: Shared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_pip(monkeypatch)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    ref = shared.environment(
        f"loose-{uuid.uuid4().hex[:6]}",
        {"environment.yml": shared.yml(f"python={PYTHON}", f"{shared.x}>=1.5", pip=(shared.p,))},
    )
    steps: list[tuple[float | None, str]] = []
    lines: list[str] = []
    created = create_environment(
        shared.client,
        ref,
        envs_dir=tmp_path / "envs",
        log=lines.append,
        progress=lambda fraction, message: steps.append((fraction, message)),
        extra_index_urls=tuple(runner_indexes()),
    )
    seen = what_it_runs(created.python, shared.x, shared.p)
    assert (seen["conda"], seen["pip"]) == ("2.0", "2.0")  # solved: the newest that fits
    assert not created.reused
    assert steps[0] == (0.0, f"Reading {ref}") and steps[-1] == (1.0, created.message)
    fractions = [fraction for fraction, _message in steps if fraction is not None]
    assert fractions == sorted(fractions)
    assert any("built on a local interpreter" in line for line in lines)
    assert shared.token not in "\n".join(lines + [message for _f, message in steps])


@pytest.mark.parametrize("kind", ["unsolvable", "channel-down"])
def test_env_create_fails_readably(shared: Shared, user: User, kind: str) -> None:
    unique = uuid.uuid4().hex[:6]
    if kind == "unsolvable":
        wanted, channels = f"{shared.x}>=9", ()
    else:
        down = f"http://127.0.0.1:{free_port()}/conda/nobody"
        wanted, channels = f"{shared.x}=1.0", (down,)
    ref = shared.environment(
        f"{kind}-{unique}",
        {"environment.yml": shared.yml(f"python={PYTHON}", wanted, channels=channels)},
    )
    line = user.fails("env", "create", ref)
    if kind == "unsolvable":
        assert f"Cannot solve the conda part of {ref}" in line
        assert f"{shared.x}>=9" in line
    else:
        assert f"The conda channel {down} cannot be read" in line
    assert shared.token not in line
    owner, name, version = ref.split("/")
    assert not (user.envs / owner / f"{name}-v{version}").exists()  # nothing half-built
    assert not (user.data / "kernels" / f"repo-{owner}-{name}-v{version}").exists()


def test_env_create_follows_a_notebooks_attached_environment(
    shared: Shared, exact: str, user: User, tmp_path: Path
) -> None:
    """Defect 1 of issue 17: a notebook with an attached environment is no environment
    itself; installing (or planning) it, and ``env create`` of it, use the attached one."""
    owner, env_name, version = exact.split("/")
    notebook = builders.notebook_json("Attached")
    notebook["metadata"]["jupyter_repo"] = {  # type: ignore[index]
        "owner": owner,
        "name": f"nb-{env_name}",
        "version": "1",
        "environment": {"owner": owner, "name": env_name, "version": version},
    }
    path = tmp_path / "analysis.ipynb"
    path.write_text(json.dumps(notebook))
    publish.upload(shared.server, shared.token, owner, path, package=f"nb-{env_name}", version="1")

    lines: list[str] = []
    installer = Installer(shared.client, Target.current(), log=lines.append)
    lock = installer.environment_lock(owner, f"nb-{env_name}")  # what the widget plans
    assert (lock.owner, lock.name, lock.version) == (owner, env_name, version)
    assert lines == [
        f"{owner}/nb-{env_name} 1 is a notebook; using its attached environment "
        f"{owner}/{env_name} {version}"
    ]

    out = user.ok("env", "create", f"{owner}/nb-{env_name}")
    assert f"environment {owner}/{env_name} v{version} in " in out
    kernel = user.kernel(f"repo-{owner}-{env_name}-v{version}")
    assert kernel["display_name"] == f"{owner}/{env_name} v{version}"

    # The notebook widget planning the notebook's environment against that new environment.
    python = kernel["argv"][0]
    widget = EnvironmentInstaller(f"{owner}/nb-{env_name}", client=shared.client, target=python)

    async def plan() -> Any:
        widget.plan()
        return await widget.wait_for_plan(60)

    planned = asyncio.run(plan())
    assert planned is not None and widget.state == "planned", widget.status_text
    assert (planned.lock.name, planned.changes) == (env_name, [])
    assert "Nothing to change" in widget.plan_view.value

    # The sidebar's "Install environment" and the search widget's "env" method.
    target = Target(python, str(Path(python).parent.parent))
    result = Installer(shared.client, target).install(
        InstallSpec(owner, f"nb-{env_name}"), method="env"
    )
    assert (result["name"], result["version"]) == (env_name, version)
    assert result["message"].startswith(f"Installed {owner}/{env_name} {version} into ")
    assert what_it_runs(python, shared.x, shared.p)["pip"] == "1.0"


def test_a_notebook_without_an_environment_is_still_refused(shared: Shared, tmp_path: Path) -> None:
    owner = shared.owner
    path = builders.notebook(tmp_path)
    name = f"lonely-{uuid.uuid4().hex[:6]}"
    publish.upload(shared.server, shared.token, owner, path, package=name, version="1")
    with pytest.raises(errors.InstallError, match=f"^{owner}/{name} 1 is not an environment.$"):
        create_environment(shared.client, f"{owner}/{name}", envs_dir=tmp_path / "envs")


def test_env_list_and_remove(shared: Shared, exact: str, user: User) -> None:
    owner, name, version = exact.split("/")
    prefix = user.envs / owner / f"{name}-v{version}"
    kernel_name = f"repo-{owner}-{name}-v{version}"
    if not (prefix / "jupyter-repo-env.json").exists():
        user.ok("env", "create", exact)
    listed = user.ok("env", "list")
    assert f"{owner}/{name} v{version}  {prefix}" in listed
    assert [item.prefix for item in list_environments(user.envs)] == [str(prefix)]

    assert user.fails("env", "remove", "no-such-kernel") == (
        "Error: No environment 'no-such-kernel' was created here; see: jupyter repo env list"
    )
    out = user.ok("env", "remove", kernel_name)
    assert f"removed the environment {owner}/{name} v{version} ({prefix})" in out
    assert not prefix.exists()
    assert not (user.data / "kernels" / kernel_name).exists()
    assert not (user.data / "kernels" / "team-analysis").exists()
    assert user.ok("env", "list").strip() == f"No environments in {user.envs}."


def test_env_remove_deletes_only_the_folder_the_record_is_in(tmp_path: Path) -> None:
    """A record whose ``prefix`` and ``python`` point elsewhere (edited, or copied from
    another machine) removes its own folder, never the folder or kernel it names."""
    victim = tmp_path / "victim"
    (victim / "bin").mkdir(parents=True)
    kernel = tmp_path / "data" / "kernels" / "theirs"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({"argv": [str(victim / "bin" / "python")]}))
    folder = tmp_path / "envs" / "alice" / "team-v1"
    folder.mkdir(parents=True)
    record = {
        "owner": "alice",
        "name": "team",
        "version": "1",
        "key": "k",
        "prefix": str(victim),
        "python": str(victim / "bin" / "python"),
        "kernel_name": "theirs",
        "display_name": "alice/team v1",
        "kernel_dirs": [str(kernel)],
    }
    (folder / "jupyter-repo-env.json").write_text(json.dumps(record))
    lines: list[str] = []
    remove_environment("alice/team/1", tmp_path / "envs", log=lines.append)
    assert not folder.exists()
    assert victim.is_dir() and (kernel / "kernel.json").is_file()
    assert lines == [f"removed the environment alice/team v1 ({folder})"]


def test_env_create_takes_python_from_a_channel_that_offers_it(
    server: RepoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A channel with a ``python`` package: the environment is a conda prefix made by
    py-rattler, python included. The channel's python here is this machine's interpreter
    packaged as a relocatable copy (the binary and a ``pyvenv.cfg`` naming its home)."""
    import rattler

    subdir = str(rattler.Subdir.current())
    base = Path(sys.base_prefix) / "bin" / f"python{PYTHON}"
    version = sys.version.split()[0]
    payload = {
        "bin/python": base.read_bytes(),
        "pyvenv.cfg": f"home = {base.parent}\nversion = {version}\n".encode(),
    }
    probe = tmp_path / "probe"
    for name, data in payload.items():
        (probe / name).parent.mkdir(parents=True, exist_ok=True)
        (probe / name).write_bytes(data)
    (probe / "bin" / "python").chmod(0o755)
    ran = processes.run([str(probe / "bin" / "python"), "-c", "print(1)"], capture_output=True)
    if ran.returncode != 0:  # e.g. it needs its libpython beside it
        pytest.skip(f"{base} does not run as a one-file copy: {ran.stderr[-200:]!r}")
    isolate_pip(monkeypatch)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    unique = uuid.uuid4().hex[:8]
    owner = server.create_user(f"envpy{unique}")
    token = server.token(owner, ["api:write"])
    python_package = builders.conda_package(
        tmp_path / "python",
        "python",
        version,
        subdir=subdir,
        payload=payload,
    )
    publish.upload(
        server, token, owner, python_package, package="python", version=version, subdir=subdir
    )
    x, p = f"jrx-{unique}", f"jre-p-{unique}"
    publish.conda(server, token, owner, tmp_path / "conda", x, "1.0", private=True)
    publish.wheel(server, token, owner, tmp_path / "wheels", p, "1.0", private=True)
    shared = Shared(server, owner, token, x, p, tmp_path)
    ref = shared.environment(
        "with-python",
        {
            "environment.yml": shared.yml(f"python={PYTHON}", f"{x}=1.0=0"),
            "requirements.txt": f"{p}==1.0\n",
        },
    )
    lines: list[str] = []
    created = create_environment(
        shared.client,
        ref,
        envs_dir=tmp_path / "envs",
        log=lines.append,
        extra_index_urls=tuple(runner_indexes()),
    )
    assert created.interpreter == "conda python"
    assert not any("local interpreter" in line for line in lines)
    prefix = Path(created.prefix)
    assert created.python == str(prefix / "bin" / "python")
    records = {path.stem for path in (prefix / "conda-meta").glob("*.json")}
    assert {f"python-{version}-0", f"{x}-1.0-0"} <= records
    seen = what_it_runs(created.python, x, p)
    assert (seen["conda"], seen["pip"], seen["prefix"]) == ("1.0", "1.0", str(prefix))
    kernel = json.loads(Path(created.kernel_dirs[0], "kernel.json").read_text())
    assert kernel["argv"][0] == created.python
    assert kernel["display_name"] == f"{owner}/with-python v1"
