"""*Open with its environment* on the server side (issue 17): the ``create-environment``
task builds a new environment from a notebook's attached one (real py-rattler, real uv,
the session's repository), registers a kernel the Jupyter server itself lists, and
answers its name; the live log, progress and cancellation work as for the other tasks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_repo.client import errors
from jupyter_repo.extension.operations import _kernel_prefix
from tests.extension.conftest import Fetch, call, run_task
from tests.support.environments import runner_indexes
from tests.support.newenvs import AttachedNotebook, attached_notebook, what_it_runs
from tests.support.server import RepoServer


@pytest.fixture
def repo_config(server: RepoServer, repo_token: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "url": server.url,
        "token": repo_token,
        "credentials_dir": str(tmp_path / "credentials"),
        "envs_dir": str(tmp_path / "envs"),
        "extra_index_urls": runner_indexes(),  # ipykernel, on a machine without PyPI
    }


@pytest.fixture
def shared(server: RepoServer, user: str, repo_token: str, tmp_path: Path) -> AttachedNotebook:
    return attached_notebook(server, user, repo_token, tmp_path / "shared")


async def kernelspecs(jp_fetch: Fetch) -> dict[str, Any]:
    response = await jp_fetch("api", "kernelspecs")
    return json.loads(response.body)["kernelspecs"]


async def test_create_environment_of_a_notebook_registers_a_kernel_the_server_lists(
    jp_fetch: Fetch, shared: AttachedNotebook, tmp_path: Path, jp_root_dir: Path
) -> None:
    owner, env = shared.owner, shared.environment
    kernel_name = f"repo-{owner}-{env}-v1"
    assert kernel_name not in await kernelspecs(jp_fetch)

    task = await run_task(
        jp_fetch, "create-environment", {"owner": owner, "name": shared.notebook}, timeout=300
    )
    assert task["state"] == "succeeded", task
    result = task["result"]
    assert (result["kernel_name"], result["display_name"]) == (kernel_name, f"{owner}/{env} v1")
    assert result["reused"] is False
    assert result["prefix"] == str(tmp_path / "envs" / owner / f"{env}-v1")

    listed = await kernelspecs(jp_fetch)
    assert listed[kernel_name]["spec"]["display_name"] == f"{owner}/{env} v1"
    python = listed[kernel_name]["spec"]["argv"][0]
    assert what_it_runs(python, shared.conda_name, shared.pip_name) | {
        "python": "",
        "prefix": "",
    } == {"conda": shared.conda_version, "pip": shared.pip_version, "python": "", "prefix": ""}

    status, log = await call(jp_fetch, "tasks", task["id"], "log")
    assert status == 200
    lines = log["lines"]
    assert f"{owner}/{shared.notebook} 1 is a notebook; using its attached environment " in (
        "\n".join(lines)
    )
    assert any(line.startswith("py-rattler: ") for line in lines), lines
    assert lines[-1] == result["message"]

    # Then "Open" writes the notebook naming that kernel, so Lab starts it (not python3).
    status, opened = await call(
        jp_fetch,
        "open",
        method="POST",
        body={"owner": owner, "name": shared.notebook, "kernel_name": kernel_name},
    )
    assert status == 200, opened
    saved = json.loads((Path(jp_root_dir) / opened["path"]).read_text())
    assert saved["metadata"]["kernelspec"] == {
        "name": kernel_name,
        "display_name": f"{owner}/{env} v1",
        "language": "python",
    }
    assert saved["metadata"]["jupyter_repo"]["environment"]["name"] == env
    status, refused = await call(
        jp_fetch,
        "open",
        method="POST",
        body={"owner": owner, "name": shared.notebook, "kernel_name": "no-such-kernel"},
    )
    assert (status, refused) == (
        400,
        {"message": "No kernel named 'no-such-kernel' is installed.", "reason": "bad_request"},
    )

    again = await run_task(
        jp_fetch, "create-environment", {"owner": owner, "name": env, "version": "1"}
    )
    assert again["state"] == "succeeded", again
    assert (again["result"]["kernel_name"], again["result"]["reused"]) == (kernel_name, True)


async def test_create_environment_is_cancelled_and_leaves_nothing(
    jp_fetch: Fetch, shared: AttachedNotebook, tmp_path: Path
) -> None:
    status, answer = await call(
        jp_fetch,
        "create-environment",
        method="POST",
        body={"owner": shared.owner, "name": shared.notebook},
    )
    assert status == 202, answer
    status, _ = await call(jp_fetch, "tasks", answer["task_id"], method="DELETE")
    assert status == 204
    for _ in range(600):
        status, task = await call(jp_fetch, "tasks", answer["task_id"])
        if task["state"] in ("succeeded", "failed", "cancelled"):
            break
        await asyncio.sleep(0.1)
    assert (task["state"], task["reason"]) == ("cancelled", "cancelled"), task
    assert not (tmp_path / "envs" / shared.owner / f"{shared.environment}-v1").exists()
    assert f"repo-{shared.owner}-{shared.environment}-v1" not in await kernelspecs(jp_fetch)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x"}, "'owner' is required."),
        ({"owner": "a"}, "'name' is required."),
        ({"owner": "a", "name": 3}, "'name' must be a string."),
    ],
)
async def test_create_environment_bad_bodies_are_400(
    jp_fetch: Fetch, body: dict[str, Any], message: str
) -> None:
    status, answer = await call(jp_fetch, "create-environment", method="POST", body=body)
    assert (status, answer) == (400, {"message": message, "reason": "bad_request"})


async def test_create_environment_of_a_missing_package_fails_readably(
    jp_fetch: Fetch, user: str
) -> None:
    task = await run_task(jp_fetch, "create-environment", {"owner": user, "name": "no-such-nb"})
    assert (task["state"], task["reason"]) == ("failed", "not_found"), task
    assert "Traceback" not in task["error"]


def test_the_kernelspec_goes_where_the_server_reads_kernels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's data dir when the server reads it; else a ``<prefix>/share/jupyter/kernels``
    it reads and that can be written; else a readable refusal."""
    data = tmp_path / "data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    prefix = tmp_path / "prefix"
    (prefix / "share" / "jupyter" / "kernels").mkdir(parents=True)
    system = str(prefix / "share" / "jupyter" / "kernels")
    assert _kernel_prefix([str(data / "kernels"), system]) is None
    assert _kernel_prefix(["/nonexistent/kernels", system]) == str(prefix.resolve())
    with pytest.raises(errors.InstallError, match="reads kernels from no folder a new kernel"):
        _kernel_prefix([str(tmp_path / "elsewhere")])
