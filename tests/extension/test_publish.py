"""Acceptance 1 (and 3, 4): publish a notebook, an environment and a project through the
extension's endpoints (pytest-jupyter's ``jp_fetch``, a real repository server), then fetch
them back from the repository and check contents and metadata."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import yaml

from jupyter_repo.client.config import CredentialStore
from tests.extension.conftest import (
    PROBE_PACKAGE,
    PROBE_VERSION,
    Fetch,
    call,
    run_task,
    write_notebook,
)
from tests.support.server import RepoServer

SERVER_ONLY_PACKAGES = (
    "tornado",
    "jupyter-server",
    "jupyter_server",
    "requests",
    "nbformat",
    "sqlalchemy",
    "pytest",
)


def download(
    repo_api: Any, server: RepoServer, owner: str, name: str, version: str, basename: str
) -> bytes:
    response = repo_api.get(f"{server.api}/download/{owner}/{name}/{version}/{basename}")
    assert response.status_code == 200, response.text
    return response.content


def package(repo_api: Any, server: RepoServer, owner: str, name: str) -> dict[str, Any]:
    response = repo_api.get(f"{server.api}/package/{owner}/{name}")
    assert response.status_code == 200, response.text
    return response.json()


def files_of(data: dict[str, Any], version: str) -> dict[str, dict[str, Any]]:
    return {item["basename"]: item for item in data["files"] if item["version"] == version}


async def test_status_shows_user_and_namespaces(
    jp_fetch: Fetch, server: RepoServer, user: str
) -> None:
    org = server.create_org(f"o{user}", user)
    status, answer = await call(jp_fetch, "status")
    assert status == 200
    assert answer["connected"] is True and answer["error"] is None
    assert answer["url"] == server.url
    assert answer["user"]["login"] == user
    assert {(item["login"], item["kind"]) for item in answer["namespaces"]} == {
        (user, "user"),
        (org, "org"),
    }
    assert "token" not in json.dumps(answer).lower()


async def test_publish_notebook_twice_creates_version_2_and_keeps_version_1(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    server: RepoServer,
    user: str,
    repo_api: Any,
    repo_token: str,
    probe_kernel: str,
) -> None:
    path = write_notebook(
        jp_root_dir, "work/Weather Study.ipynb", kernel=probe_kernel, title="Weather study"
    )
    body = {"path": "work/Weather Study.ipynb", "namespace": user, "summary": "Rain and sun"}

    task = await run_task(jp_fetch, "publish/notebook", body)
    assert task["state"] == "succeeded", task["error"]
    result = task["result"]
    assert (result["owner"], result["name"], result["version"]) == (user, "weather-study", "1")
    assert result["environment"]["name"] == "weather-study-env"
    assert result["html_url"] == f"{server.url}/{user}/weather-study"

    # The repository has the notebook, with its kernel and its publication record.
    shown = package(repo_api, server, user, "weather-study")
    assert shown["versions"] == ["1"] and shown["package_types"] == ["ipynb"]
    first = files_of(shown, "1")["weather-study.ipynb"]
    assert first["attrs"]["kernel_name"] == probe_kernel
    assert first["attrs"]["title"] == "Weather study"
    assert first["attrs"]["environment"] == {
        "owner": user,
        "name": "weather-study-env",
        "version": "1",
        "url": f"{server.url}/{user}/weather-study-env",
    }
    published_v1 = download(repo_api, server, user, "weather-study", "1", "weather-study.ipynb")
    record = json.loads(published_v1)["metadata"]["jupyter_repo"]
    assert record == {
        "owner": user,
        "name": "weather-study",
        "version": "1",
        "url": f"{server.url}/{user}/weather-study",
        "repository": server.url,
        "environment": first["attrs"]["environment"],
    }
    assert repo_token not in published_v1.decode()

    # The attached environment is the kernel's (the probe venv), pinned exactly.
    env = package(repo_api, server, user, "weather-study-env")
    env_files = files_of(env, "1")
    assert set(env_files) == {"environment.yml", "requirements.txt"}
    assert env_files["requirements.txt"]["dependencies"]["pip"] == [
        f"{PROBE_PACKAGE}=={PROBE_VERSION}"
    ]

    # The notebook on disk remembers where it went (and holds no token).
    on_disk = json.loads(path.read_text())
    assert on_disk["metadata"]["jupyter_repo"]["version"] == "1"
    assert repo_token not in path.read_text()

    # Publishing again: version 2 of the same package; version 1 is untouched.
    task = await run_task(jp_fetch, "publish/notebook", {**body, "attach_environment": False})
    assert task["state"] == "succeeded", task["error"]
    assert task["result"]["version"] == "2" and task["result"]["name"] == "weather-study"
    assert task["result"]["notebook_metadata"]["version"] == "2"
    shown = package(repo_api, server, user, "weather-study")
    assert shown["versions"] == ["1", "2"]
    assert files_of(shown, "1")["weather-study.ipynb"]["sha256"] == first["sha256"]
    assert (
        download(repo_api, server, user, "weather-study", "1", "weather-study.ipynb")
        == published_v1
    )
    second = json.loads(
        download(repo_api, server, user, "weather-study", "2", "weather-study.ipynb")
    )
    assert second["metadata"]["jupyter_repo"]["version"] == "2"
    assert "environment" not in second["metadata"]["jupyter_repo"]
    assert json.loads(path.read_text())["metadata"]["jupyter_repo"]["version"] == "2"

    # The task log tells what happened.
    status, log = await call(jp_fetch, "tasks", task["id"], "log")
    assert status == 200 and any("weather-study.ipynb" in line for line in log["lines"])


async def test_publish_environment_of_a_kernelspec(
    jp_fetch: Fetch,
    server: RepoServer,
    user: str,
    repo_api: Any,
    probe_kernel: str,
    probe_venv: Path,
) -> None:
    """Acceptance 3: the kernel's own interpreter is read, not the server's."""
    task = await run_task(
        jp_fetch,
        "publish/environment",
        {"kernel_name": probe_kernel, "namespace": user, "name": "probe-env", "public": False},
    )
    assert task["state"] == "succeeded", task["error"]
    assert task["result"]["version"] == "1"
    shown = package(repo_api, server, user, "probe-env")
    assert shown["public"] is False
    requirements = download(repo_api, server, user, "probe-env", "1", "requirements.txt")
    pins = [line for line in requirements.decode().splitlines() if not line.startswith("#")]
    assert pins == [f"{PROBE_PACKAGE}=={PROBE_VERSION}"]
    environment = yaml.safe_load(
        download(repo_api, server, user, "probe-env", "1", "environment.yml")
    )
    pip_section = next(
        item["pip"] for item in environment["dependencies"] if isinstance(item, dict)
    )
    assert pip_section == [f"{PROBE_PACKAGE}=={PROBE_VERSION}"]
    text = requirements.decode().lower() + json.dumps(environment).lower()
    for name in SERVER_ONLY_PACKAGES:
        assert name not in text
    # The repository's own env inspector read the spec the same way.
    yml = files_of(shown, "1")["environment.yml"]
    assert yml["dependencies"]["pip"] == [f"{PROBE_PACKAGE}=={PROBE_VERSION}"]
    assert yml["attrs"]["format"] == "environment.yml"


async def test_publish_environment_of_a_running_kernel(
    jp_fetch: Fetch,
    server: RepoServer,
    user: str,
    repo_api: Any,
) -> None:
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kernel_id = json.loads(response.body)["id"]
    try:
        task = await run_task(
            jp_fetch,
            "publish/environment",
            {"kernel_id": kernel_id, "namespace": user, "name": "running"},
        )
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert task["state"] == "succeeded", task["error"]
    lock = files_of(package(repo_api, server, user, "running"), "1")["requirements.txt"]
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in lock["dependencies"]["pip"]}
    assert {"ipykernel", "jupyter-client"} <= pinned


async def test_defect_5_share_environment_names_it_as_the_notebook_publish_did(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    server: RepoServer,
    user: str,
    repo_api: Any,
    probe_kernel: str,
) -> None:
    """Issue 17, defect 5: *Share environment* suggested ``welcome-environment`` for a
    notebook whose publish created ``welcome-env``. One rule now: the suggestion (what the
    Lab dialog shows) and the extension's default both name the environment the publish
    attached, so sharing it again makes version 2 of the same package."""
    write_notebook(jp_root_dir, "Welcome.ipynb", kernel=probe_kernel)
    write_notebook(jp_root_dir, "Sea Levels.ipynb", kernel=probe_kernel)

    # Before any publish: what publishing with its environment would create.
    status, answer = await call(
        jp_fetch, "publish", "environment", "name", params={"path": "Welcome.ipynb"}
    )
    assert (status, answer) == (200, {"name": "welcome-env"})
    task = await run_task(
        jp_fetch, "publish/notebook", {"path": "Welcome.ipynb", "namespace": user}
    )
    assert task["state"] == "succeeded", task["error"]
    assert task["result"]["environment"]["name"] == "welcome-env"
    status, answer = await call(
        jp_fetch, "publish", "environment", "name", params={"path": "Welcome.ipynb"}
    )
    assert (status, answer) == (200, {"name": "welcome-env"})

    # Published under another name: its environment follows that name, not the file's.
    body = {"path": "Sea Levels.ipynb", "namespace": user, "name": "tides"}
    task = await run_task(jp_fetch, "publish/notebook", body)
    assert task["result"]["environment"]["name"] == "tides-env"
    status, answer = await call(
        jp_fetch, "publish", "environment", "name", params={"path": "Sea Levels.ipynb"}
    )
    assert (status, answer) == (200, {"name": "tides-env"})

    # Sharing the running kernel's environment without a name: the same package, v2.
    response = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps(
            {"path": "Welcome.ipynb", "type": "notebook", "name": "", "kernel": {"name": "python3"}}
        ),
    )
    session = json.loads(response.body)
    try:
        task = await run_task(
            jp_fetch,
            "publish/environment",
            {"kernel_id": session["kernel"]["id"], "namespace": user},
        )
    finally:
        await jp_fetch("api", "sessions", session["id"], method="DELETE")
    assert task["state"] == "succeeded", task["error"]
    assert (task["result"]["name"], task["result"]["version"]) == ("welcome-env", "2")
    names = {item["name"] for item in repo_api.get(f"{server.api}/packages/{user}").json()}
    assert names == {"welcome", "welcome-env", "tides", "tides-env"}

    # Not a notebook, or none there: a clear 4xx.
    status, answer = await call(
        jp_fetch, "publish", "environment", "name", params={"path": "environment.yml"}
    )
    assert status == 400 and "is not a notebook" in answer["message"]
    status, answer = await call(
        jp_fetch, "publish", "environment", "name", params={"path": "missing.ipynb"}
    )
    assert status == 404, answer


def make_project(root: Path) -> Path:
    project = root / "Rain Project"
    (project / "data").mkdir(parents=True)
    write_notebook(project, "analysis.ipynb")
    (project / "data" / "rain.csv").write_text("day,mm\n1,3.5\n2,0.0\n")
    (project / "environment.yml").write_text("name: rain\ndependencies:\n  - python=3.11\n")
    (project / "README.md").write_text("# Rain\n")
    (project / ".gitignore").write_text("secret.txt\nbuild/\n*.tmp\n!keep.tmp\n")
    (project / "secret.txt").write_text("do not publish\n")
    (project / "build").mkdir()
    (project / "build" / "out.bin").write_bytes(b"\0" * 10)
    (project / "scratch.tmp").write_text("x")
    (project / "keep.tmp").write_text("kept by a negation")
    (project / "data" / "sub").mkdir()
    (project / "data" / "sub" / ".gitignore").write_text("*.csv\n")
    (project / "data" / "sub" / "hidden.csv").write_text("a\n")
    (project / ".ipynb_checkpoints").mkdir()
    (project / ".ipynb_checkpoints" / "analysis-checkpoint.ipynb").write_text("{}")
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\0")
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text("[core]\n")
    (project / "data" / "huge.bin").write_bytes(b"\1" * 6000)  # over the 5000-byte limit
    (project / "link.csv").symlink_to(project / "data" / "rain.csv")
    (project / ".env").write_text("API_KEY=do-not-publish\n")
    (project / ".jupyter").mkdir()
    (project / ".jupyter" / "jupyter_server_config.json").write_text("{}")
    return project


async def test_publish_project_honours_exclusion_rules(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    jp_serverapp: Any,
    server: RepoServer,
    user: str,
    repo_api: Any,
    repo_token: str,
) -> None:
    """Acceptance 4: .gitignore (nested, with negation), checkpoints, caches, .git, an
    oversize file and a symbolic link stay out; everything else is published."""
    ext = jp_serverapp.web_app.settings["jupyter_repo"]
    ext.max_project_file_size = 5000
    project = make_project(Path(jp_root_dir))
    # Saved repository tokens inside the folder are never published, whatever its name.
    ext.connection.store = CredentialStore(project / "saved")
    ext.connection.store.save_token(server.url, repo_token)
    task = await run_task(jp_fetch, "publish/project", {"path": "Rain Project", "namespace": user})
    assert task["state"] == "succeeded", task["error"]
    result = task["result"]
    assert (result["name"], result["version"]) == ("rain-project", "1")
    archive = download(repo_api, server, user, "rain-project", "1", "rain-project.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = sorted(member.name for member in tar.getmembers())
        assert all(member.uid == 0 and member.uname == "" for member in tar.getmembers())
    expected = ["README.md", "analysis.ipynb", "data/rain.csv", "environment.yml", "keep.tmp"]
    assert members == [f"rain-project/{name}" for name in expected]
    reasons = {item["path"]: item["reason"] for item in result["excluded"]}
    assert reasons["secret.txt"] == reasons["build/"] == "excluded by .gitignore"
    assert reasons["data/sub/hidden.csv"] == "excluded by .gitignore"
    assert reasons["scratch.tmp"] == "excluded by .gitignore"
    assert "checkpoints" in reasons[".ipynb_checkpoints/"]
    assert {"__pycache__/", ".git/"} <= set(reasons)
    assert "5000 bytes" in reasons["data/huge.bin"]
    assert reasons["link.csv"] == "symbolic link"
    assert reasons["saved/"] == "holds repository credentials"
    assert reasons[".env"] == reasons[".jupyter/"] == "holds credentials: never published"
    assert (
        reasons[".gitignore"]
        == reasons["data/sub/.gitignore"]
        == ("hidden (include hidden files to publish it)")
    )
    # The repository's project inspector lists the same files and read the spec.
    attrs = files_of(package(repo_api, server, user, "rain-project"), "1")["rain-project.tar.gz"][
        "attrs"
    ]
    assert sorted(item["path"] for item in attrs["files"]) == expected
    assert attrs["spec_file"] == "environment.yml"
    assert attrs["notebooks"] == ["analysis.ipynb"]


async def test_project_without_spec_gets_the_kernel_environment(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    server: RepoServer,
    user: str,
    repo_api: Any,
    probe_kernel: str,
) -> None:
    folder = Path(jp_root_dir) / "plain"
    write_notebook(folder, "a.ipynb")
    task = await run_task(
        jp_fetch,
        "publish/project",
        {
            "path": "plain",
            "namespace": user,
            "name": "plain-project",
            "version": "2024.1",
            "kernel_name": probe_kernel,
            "label": "dev",
        },
    )
    assert task["state"] == "succeeded", task["error"]
    archive = download(repo_api, server, user, "plain-project", "2024.1", "plain-project.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        spec = yaml.safe_load(tar.extractfile("plain-project/environment.yml").read())
    assert {"pip": [f"{PROBE_PACKAGE}=={PROBE_VERSION}"]} in spec["dependencies"]
    item = files_of(package(repo_api, server, user, "plain-project"), "2024.1")[
        "plain-project.tar.gz"
    ]
    assert item["labels"] == ["dev"]


async def test_search_packages_and_open(
    jp_fetch: Fetch, jp_root_dir: Path, server: RepoServer, user: str
) -> None:
    write_notebook(jp_root_dir, "Tides.ipynb")
    task = await run_task(
        jp_fetch,
        "publish/notebook",
        {"path": "Tides.ipynb", "namespace": user, "attach_environment": False},
    )
    assert task["state"] == "succeeded", task["error"]

    status, found = await call(jp_fetch, "search", params={"q": "tides", "type": "ipynb"})
    assert status == 200 and found["total"] >= 1
    item = next(entry for entry in found["items"] if entry["owner"] == user)
    assert item == {
        "owner": user,
        "name": "tides",
        "summary": item["summary"],
        "latest_version": "1",
        "package_types": ["ipynb"],
        "platforms": [],
        "labels": ["main"],
        "public": True,
        "html_url": f"{server.url}/{user}/tides",
    }

    status, mine = await call(jp_fetch, "packages")
    assert status == 200 and [entry["name"] for entry in mine["items"]] == ["tides"]
    status, shown = await call(jp_fetch, "package", params={"owner": user, "name": "tides"})
    assert status == 200 and shown["files"][0]["basename"] == "tides.ipynb"

    status, opened = await call(
        jp_fetch, "open", method="POST", body={"owner": user, "name": "tides"}
    )
    assert status == 200 and opened == {"path": "tides.ipynb", "type": "notebook"}
    status, again = await call(
        jp_fetch, "open", method="POST", body={"owner": user, "name": "tides"}
    )
    assert again == {"path": "tides (1).ipynb", "type": "notebook"}
    copy = json.loads((Path(jp_root_dir) / "tides (1).ipynb").read_text())
    assert copy["metadata"]["jupyter_repo"]["name"] == "tides"


async def test_cancel_a_waiting_task(
    jp_fetch: Fetch, jp_serverapp: Any, user: str, probe_kernel: str
) -> None:
    """An install waits while another runs; cancelling it ends it as cancelled, untouched."""
    lock = jp_serverapp.web_app.settings["jupyter_repo"].install_lock
    await lock.acquire()  # another installation is running
    try:
        status, answer = await call(
            jp_fetch,
            "install",
            method="POST",
            body={"spec": f"{user}/anything", "kernel_name": probe_kernel},
        )
        assert status == 202
        for _ in range(200):
            status, task = await call(jp_fetch, "tasks", answer["task_id"])
            if task["state"] == "pending":
                break
            await asyncio.sleep(0.05)
        assert task["state"] == "pending", task
        assert task["message"] == "Waiting for another installation to finish."
        response = await jp_fetch("jupyter-repo", "tasks", answer["task_id"], method="DELETE")
        assert response.code == 204
        await asyncio.sleep(0.05)
        status, task = await call(jp_fetch, "tasks", answer["task_id"])
        assert (task["state"], task["reason"]) == ("cancelled", "cancelled")
    finally:
        lock.release()
    status, listing = await call(jp_fetch, "tasks")
    assert answer["task_id"] in [item["id"] for item in listing["items"]]
    status, missing = await call(jp_fetch, "tasks", "0" * 32)
    assert status == 404 and missing["reason"] == "not_found"
