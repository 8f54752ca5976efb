"""Installing from the repository into an environment: pip into a real virtualenv, conda
packages with py-rattler into a conda prefix, and the extension's install tasks."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.environment import capture_interpreter
from jupyter_repo.client.install import (
    Installer,
    InstallSpec,
    Target,
    conda_install,
    pip_install,
    run_streaming,
)
from jupyter_repo.demo import builders
from tests.extension.conftest import Fetch, run_task
from tests.support import processes
from tests.support.server import RepoServer


@pytest.fixture
def target_venv(tmp_path: Path) -> Path:
    """A fresh virtualenv (without pip) to install into."""
    venv = tmp_path / "target"
    processes.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv


@pytest.fixture
def target_kernel(jp_kernel_dir: Path, target_venv: Path) -> str:
    folder = Path(jp_kernel_dir) / "target"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    str(target_venv / "bin" / "python"),
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "Target",
                "language": "python",
            }
        )
    )
    return "target"


def installed(venv: Path) -> dict[str, str]:
    environment = capture_interpreter(str(venv / "bin" / "python"))
    return {item["name"]: item["version"] for item in environment.pip}


def test_spec_parsing() -> None:
    assert InstallSpec.parse("Alice/tool==1.0") == InstallSpec("alice", "tool", "1.0")
    assert InstallSpec.parse("alice/tool=2") == InstallSpec("alice", "tool", "2")
    assert InstallSpec.parse("alice/tool") == InstallSpec("alice", "tool", None)
    # One grammar with environments (client/refs.py): the version may follow "/" too.
    assert InstallSpec.parse(" alice/tool/2/ ") == InstallSpec("alice", "tool", "2")
    assert str(InstallSpec.parse("alice/tool/2")) == "alice/tool==2"
    with pytest.raises(errors.BadRequest, match=r"^Enter a package as OWNER/NAME"):
        InstallSpec.parse("")


@pytest.mark.parametrize(
    "bad", ["tool", "alice/", "/tool", "alice/tool==", "a/b/c/d", "alice/to ol"]
)
def test_spec_parsing_refuses(bad: str) -> None:
    with pytest.raises(
        errors.BadRequest, match="is not a package: write OWNER/NAME or OWNER/NAME==VERSION"
    ):
        InstallSpec.parse(bad)


def test_run_streaming_is_cancelled_promptly() -> None:
    stop = threading.Event()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        stop.set()  # cancel as soon as the command has said something

    started = time.monotonic()
    with pytest.raises(errors.Cancelled):
        run_streaming(
            [
                sys.executable,
                "-u",
                "-c",
                "import time; print('working', flush=True); time.sleep(60)",
            ],
            env={},
            log=log,
            stop=stop,
        )
    assert time.monotonic() - started < 10
    assert lines == ["working"]


def test_pip_install_into_a_venv_without_pip(tmp_path: Path, target_venv: Path) -> None:
    wheels = tmp_path / "wheels"
    builders.wheel(wheels, "jr-tool", "2.0")
    lines: list[str] = []
    target = Target.of_interpreter(str(target_venv / "bin" / "python"))
    assert target.prefix == str(target_venv) and not target.is_conda
    pip_install(
        target, ["--no-index", "--find-links", str(wheels), "jr-tool==2.0"], log=lines.append
    )
    assert installed(target_venv) == {"jr-tool": "2.0"}
    assert any("has no pip" in line for line in lines)  # the runner's pip did it
    with pytest.raises(errors.InstallError, match="pip failed: ERROR: Could not find a version"):
        pip_install(
            target, ["--no-index", "--find-links", str(wheels), "jr-tool==9"], log=lines.append
        )


def conda_channel(root: Path) -> Path:
    """A local conda channel with one noarch package (what a conda channel serves)."""
    package = builders.conda_package(root / "noarch", "clipkg", "1.0")
    data = package.read_bytes()
    record = {
        "name": "clipkg",
        "version": "1.0",
        "build": "0",
        "build_number": 0,
        "depends": [],
        "subdir": "noarch",
        "noarch": "generic",
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "timestamp": 1_700_000_000_000,
        "license": "BSD-3-Clause",
    }
    for subdir, packages in (("noarch", {package.name: record}), ("linux-64", {})):
        (root / subdir).mkdir(parents=True, exist_ok=True)
        (root / subdir / "repodata.json").write_text(
            json.dumps(
                {
                    "info": {"subdir": subdir},
                    "packages": {},
                    "packages.conda": packages,
                    "repodata_version": 1,
                }
            )
        )
    return root


def test_conda_install_with_rattler_into_a_conda_prefix(tmp_path: Path) -> None:
    pytest.importorskip("rattler")
    channel = conda_channel(tmp_path / "channel")
    prefix = tmp_path / "conda-env"
    (prefix / "conda-meta").mkdir(parents=True)
    assert Target("python", str(prefix)).is_conda
    lines: list[str] = []
    changed = conda_install(prefix, [channel.as_uri()], ["clipkg==1.0"], log=lines.append)
    assert changed == ["clipkg-1.0-0"] and lines == ["linked clipkg-1.0-0"]
    assert (prefix / "share" / "clipkg" / "VERSION").read_text() == "1.0\n"
    assert json.loads((prefix / "conda-meta" / "clipkg-1.0-0.json").read_text())["name"] == "clipkg"
    with pytest.raises(errors.InstallError, match="conda install failed"):
        conda_install(prefix, [channel.as_uri()], ["clipkg==3"], log=lines.append)


def test_conda_package_into_a_venv_is_explained(
    server: RepoServer, user: str, repo_token: str, tmp_path: Path, target_venv: Path
) -> None:
    package = builders.conda_package(tmp_path, "clipkg", "1.0")
    with open(package, "rb") as handle:
        response = requests.put(
            f"{server.api}/upload/{user}/clipkg/1.0/noarch/{package.name}",
            data=handle,
            headers={"Authorization": f"token {repo_token}"},
            timeout=30,
        )
    assert response.status_code == 201, response.text
    installer = Installer(
        RepoClient(server.url, repo_token),
        Target.of_interpreter(str(target_venv / "bin" / "python")),
    )
    with pytest.raises(errors.InstallError) as caught:
        installer.install(InstallSpec(user, "clipkg"))
    assert caught.value.message == (
        f"{user}/clipkg is a conda package and {target_venv} is not a conda environment; "
        f"install it with: conda install -c {server.url}/conda/{user} clipkg"
    )
    with pytest.raises(errors.NotFound, match="has no version 9"):
        installer.install(InstallSpec(user, "clipkg", "9"))


async def test_install_environment_task_installs_the_lock_into_the_kernel(
    jp_fetch: Fetch,
    server: RepoServer,
    user: str,
    repo_token: str,
    tmp_path: Path,
    target_kernel: str,
    target_venv: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The environment's requirements.txt is downloaded and pip-installed into the
    kernel's own environment (pip reads packages from a local folder here)."""
    wheels = tmp_path / "wheels"
    builders.wheel(wheels, "jr-lib", "3.1")
    lock = tmp_path / "requirements.txt"
    lock.write_text("# a lock\njr-lib==3.1\n")
    with open(lock, "rb") as handle:
        response = requests.put(
            f"{server.api}/upload/{user}/analysis-env/1/requirements.txt?type=env",
            data=handle,
            headers={"Authorization": f"token {repo_token}"},
            timeout=30,
        )
    assert response.status_code == 201, response.text
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))

    task = await run_task(
        jp_fetch,
        "install-environment",
        {"owner": user, "name": "analysis-env", "kernel_name": target_kernel},
    )
    assert task["state"] == "succeeded", task["error"]
    assert task["result"]["prefix"] == str(target_venv)
    assert installed(target_venv) == {"jr-lib": "3.1"}
    assert repo_token not in json.dumps(task)

    task = await run_task(
        jp_fetch, "install", {"spec": f"{user}/missing", "kernel_name": target_kernel}
    )
    assert (task["state"], task["reason"]) == ("failed", "not_found")


def pypi_index_available(server: RepoServer, owner: str) -> bool:
    return requests.get(f"{server.url}/pypi/{owner}/simple/", timeout=10).status_code == 200


async def test_install_a_wheel_from_the_repository_index(
    jp_fetch: Fetch,
    server: RepoServer,
    user: str,
    repo_token: str,
    tmp_path: Path,
    target_kernel: str,
    target_venv: Path,
) -> None:
    """End to end through the repository's PyPI index (served by the pypi layer)."""
    wheel = builders.wheel(tmp_path, "jr-private", "0.4")
    with open(wheel, "rb") as handle:
        response = requests.put(
            f"{server.api}/upload/{user}/jr-private/0.4/{wheel.name}?private=1",
            data=handle,
            headers={"Authorization": f"token {repo_token}"},
            timeout=30,
        )
    assert response.status_code == 201, response.text
    if not pypi_index_available(server, user):
        pytest.skip("this build of the repository serves no PyPI index yet")
    task = await run_task(
        jp_fetch, "install", {"spec": f"{user}/jr-private==0.4", "kernel_name": target_kernel}
    )
    assert task["state"] == "succeeded", task["error"]
    assert installed(target_venv) == {"jr-private": "0.4"}
    status_lines = json.dumps(task)
    assert repo_token not in status_lines


def test_install_a_conda_package_from_the_repository_channel(
    server: RepoServer,
    user: str,
    repo_token: str,
    tmp_path: Path,
) -> None:
    """End to end through the repository's conda channel (served by the channel layer)."""
    pytest.importorskip("rattler")
    package = builders.conda_package(tmp_path, "chanpkg", "2.0")
    with open(package, "rb") as handle:
        response = requests.put(
            f"{server.api}/upload/{user}/chanpkg/2.0/noarch/{package.name}?private=1",
            data=handle,
            headers={"Authorization": f"token {repo_token}"},
            timeout=30,
        )
    assert response.status_code == 201, response.text
    repodata = requests.get(
        f"{server.url}/conda/t/{repo_token}/{user}/noarch/repodata.json", timeout=10
    )
    if repodata.status_code != 200:
        pytest.skip("this build of the repository serves no conda channel yet")
    prefix = tmp_path / "conda-env"
    (prefix / "conda-meta").mkdir(parents=True)
    lines: list[str] = []
    installer = Installer(
        RepoClient(server.url, repo_token), Target(sys.executable, str(prefix)), log=lines.append
    )
    result = installer.install(InstallSpec(user, "chanpkg", "2.0"))
    assert result["method"] == "conda"
    assert (prefix / "share" / "chanpkg" / "VERSION").read_text() == "2.0\n"
    assert all(repo_token not in line for line in lines)
