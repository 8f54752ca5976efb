"""The authorization matrix of the Jupyter extension's routes: every route, every actor of
``tests/support/authz_policy.py``, public and private objects.

The extension acts with the repository token it is configured with, so here the actor is
that token; Jupyter's own login and XSRF guard every route in front of this (see
``test_security.py``). The routes come from the running Jupyter application; one without a
policy entry fails the test. Expected answers come from the policy table only.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from jupyter_repo.client.config import CredentialStore
from jupyter_repo.extension.connection import Connection
from tests.extension.conftest import Fetch, call, write_notebook
from tests.extension.test_security import concrete, extension_routes, implemented
from tests.support import authz_policy as policy
from tests.support import authz_world, processes
from tests.support.authz_world import World
from tests.support.environments import runner_indexes
from tests.support.server import RepoServer

KERNEL = "matrix-target"


@pytest.fixture
def repo_config(server: RepoServer, tmp_path: Path) -> dict[str, Any]:
    """The extension starts without a token; each cell configures the actor's. New
    environments (create-environment) go to the test's folder, ipykernel from the runner's
    indexes."""
    return {
        "url": server.url,
        "token": "",
        "credentials_dir": str(tmp_path / "credentials"),
        "envs_dir": str(tmp_path / "envs"),
        "extra_index_urls": runner_indexes(),
    }


@pytest.fixture
def matrix_kernel(jp_kernel_dir: Path, tmp_path: Path) -> str:
    """A kernel in a fresh, empty virtualenv: captured quickly, and nothing gets installed."""
    venv = tmp_path / "kernel-venv"
    processes.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    folder = Path(jp_kernel_dir) / KERNEL
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    str(venv / "bin" / "python"),
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "Matrix",
                "language": "python",
            }
        )
    )
    return KERNEL


def extension_app(jp_serverapp: Any) -> Any:
    (app,) = jp_serverapp.extension_manager.extension_apps["jupyter_repo"]
    return app


def configure(ext: Any, world: World, actor: str, folder: Path) -> None:
    """The extension now acts as ``actor`` (a fresh credential store, nothing saved)."""
    credential = world.credential(actor, "api")
    ext.connection = Connection(
        url=world.server.url,
        token=credential.token or "",
        store=CredentialStore(str(folder)),
        timeout=ext.request_timeout,
    )


async def wait_for(jp_fetch: Fetch, task_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, task = await call(jp_fetch, "tasks", task_id)
        assert status == 200
        if task["state"] in ("succeeded", "failed", "cancelled"):
            return task
        assert time.monotonic() < deadline, f"task still {task['state']}: {task['message']}"
        await asyncio.sleep(0.05)


def status_of(outcome: str, route: policy.ExtensionRoute, actor: str) -> int:
    if outcome == policy.OK:
        return route.ok_for(actor)
    return {policy.UNAUTH: 401, policy.HIDDEN: 404, policy.DENIED: 403}[outcome]


REASONS = {policy.UNAUTH: "unauthorized", policy.HIDDEN: "not_found", policy.DENIED: "forbidden"}


def coverage_problems(jp_serverapp: Any, jp_base_url: str) -> list[str]:
    listed = {
        (entry.method, re.sub(r"\{task_id\}", "0" * 32, entry.path.partition("?")[0]))
        for entry in policy.EXTENSION_ROUTES
    }
    problems = []
    for pattern, handler in extension_routes(jp_serverapp.web_app):
        path = concrete(pattern, jp_base_url).removeprefix("jupyter-repo/")
        for method in implemented(handler):
            if (method, path) not in listed:
                problems.append(
                    f"extension route without a matrix entry: {method} {path} ({handler.__name__})"
                )
    return problems


async def test_extension_authorization_matrix(
    jp_fetch: Fetch,
    jp_serverapp: Any,
    jp_base_url: str,
    jp_root_dir: Path,
    server: RepoServer,
    matrix_kernel: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = authz_world.build(server, uuid.uuid4().hex[:6], tmp_path / "world")
    ext = extension_app(jp_serverapp)
    write_notebook(jp_root_dir, "matrix/note.ipynb", kernel=matrix_kernel)
    project = Path(jp_root_dir) / "matrix-project"
    (project / "data").mkdir(parents=True)
    (project / "environment.yml").write_text("name: matrix\ndependencies:\n  - python\n")
    (project / "data" / "values.csv").write_text("a,b\n1,2\n")
    problems = coverage_problems(jp_serverapp, jp_base_url)
    checked = 0
    for route in policy.EXTENSION_ROUTES:
        visibilities = ("public", "private") if route.per_visibility else (None,)
        for visibility in visibilities:
            for actor in policy.EXTENSION_ACTORS:
                configure(ext, world, actor, tmp_path / f"store-{checked}")
                problem = await run_cell(jp_fetch, world, route, actor, visibility)
                checked += 1
                if problem:
                    problems.append(
                        f"{route.method:6} {route.path:40} {actor:20} "
                        f"{visibility or '-':8} {problem}"
                    )
    with capsys.disabled():
        print(
            f"\nextension authorization matrix: {len(policy.EXTENSION_ROUTES)} routes, "
            f"{checked} cells checked, {len(problems)} problems"
        )
    assert not problems, "\n" + "\n".join(problems)


async def run_cell(
    jp_fetch: Fetch, world: World, route: policy.ExtensionRoute, actor: str, visibility: str | None
) -> str | None:
    values = {
        **world.values(visibility),
        "notebook_path": "matrix/note.ipynb",
        "project_path": "matrix-project",
        "kernel": KERNEL,
    }
    credential = world.credential(actor, "api")
    values["token"] = credential.token or ""
    if "{task_id}" in route.path:
        status, answer = await call(
            jp_fetch,
            "install-environment",
            method="POST",
            body={"owner": world.org, "name": world.envs["public"], "kernel_name": KERNEL},
        )
        assert status == 202, answer
        await wait_for(jp_fetch, answer["task_id"])
        values["task_id"] = answer["task_id"]
    path, _, query = authz_world.fill(route.path, values).partition("?")
    params = dict(item.split("=", 1) for item in query.split("&")) if query else None
    body = authz_world.fill(route.body, values) if route.method in ("POST", "PUT") else None
    if body is not None and "kernel_name" not in body and route.task:
        body["kernel_name"] = KERNEL
    status, answer = await call(
        jp_fetch, *path.split("/"), method=route.method, body=body, params=params
    )
    if route.needs_token and actor == "anonymous":
        want, outcome = 400, "not_configured"
        return None if status == want else f"expected {want} ({outcome}), got {status} {answer}"
    outcome = policy.expected(
        route.needs,
        actor,
        visibility,
        reads_credentials=route.reads_credentials,
        creates=route.creates,
        family="extension",
    )
    if route.task:
        if status != 202:
            return f"expected 202 and a task, got {status} {answer}"
        task = await wait_for(jp_fetch, answer["task_id"])
        if outcome == policy.OK:
            return None if task["state"] == "succeeded" else f"task failed: {task}"
        if task["state"] == "failed" and task["reason"] == REASONS[outcome]:
            return None
        return f"expected a task failing with {REASONS[outcome]}, got {task}"
    want = status_of(outcome, route, actor)
    if status != want:
        return f"expected {want} ({outcome}), got {status} {answer}"
    if outcome != policy.OK:
        if answer.get("reason") != REASONS[outcome]:
            return f"expected reason {REASONS[outcome]}, got {answer}"
        return None
    if route.path == "status":
        connected = actor not in policy.INVALID and policy.LEVELS[actor]["account"] >= policy.READ
        if answer["connected"] is not connected:
            return f"expected connected={connected}, got {answer}"
    if route.lists:
        package = world.packages[visibility or "public"]
        names = {item["name"] for item in answer["items"]}
        shown = policy.may_read_listed(actor, visibility or "public")
        if (package in names) != shown:
            return f"the listing {'lacks' if shown else 'shows'} {package}: {sorted(names)}"
    return None
