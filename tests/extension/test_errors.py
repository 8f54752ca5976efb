"""Acceptance 5: errors of the repository (401, 403, 409, 413) and an unreachable
repository reach the caller as clear one-line messages: through the extension's REST
endpoints (synchronous answers and task results) and through the ``jupyter repo`` CLI."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_markdown_cell

from jupyter_repo.client import errors
from jupyter_repo.demo import builders
from tests.extension.conftest import Fetch, call, run_task, write_notebook
from tests.support import processes
from tests.support.net import free_port
from tests.support.server import RepoServer, running_server

SMALL_LIMIT = 4000
BOGUS_TOKEN = "jr-" + "x" * 43


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoServer]:
    """A repository that accepts files of at most 4000 bytes."""
    with running_server(
        tmp_path_factory.mktemp("small"), config={"Repository.max_upload_size": SMALL_LIMIT}
    ) as instance:
        yield instance


def big_notebook(root: Path, name: str = "Big.ipynb") -> Path:
    return write_notebook(root, name, extra_cells=[new_markdown_cell("word " * 3000)])


@pytest.fixture
def reader_org(server: RepoServer, user: str, unique: str) -> str:
    """An organization where the user may only read."""
    owner = server.create_user(f"w{unique}")
    org = server.create_org(f"r{unique}", owner)
    server.add_to_group(org, "readers", user, "read")
    return org


def assert_one_line(message: str, *parts: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    for part in parts:
        assert part in message, message


# -- the REST endpoints ----------------------------------------------------------------------


class TestRefusedToken:
    @pytest.fixture
    def repo_config(self, server: RepoServer, tmp_path: Path) -> dict[str, Any]:
        return {
            "url": server.url,
            "token": BOGUS_TOKEN,
            "credentials_dir": str(tmp_path / "credentials"),
        }

    async def test_401(self, jp_fetch: Fetch, jp_root_dir: Path, user: str) -> None:
        status, answer = await call(jp_fetch, "status")
        assert status == 200 and answer["connected"] is False
        assert_one_line(answer["error"], "Log in to the repository again", "your token was refused")

        status, answer = await call(jp_fetch, "search", params={"q": "x"})
        assert status == 401 and answer["reason"] == "unauthorized"
        assert_one_line(answer["message"], "your token was refused")

        write_notebook(jp_root_dir, "a.ipynb")
        task = await run_task(
            jp_fetch,
            "publish/notebook",
            {"path": "a.ipynb", "namespace": user, "attach_environment": False},
        )
        assert (task["state"], task["reason"]) == ("failed", "unauthorized")
        assert_one_line(task["error"], "your token was refused")

        status, answer = await call(
            jp_fetch,
            "login",
            method="POST",
            body={"username": user, "password": "not-the-password"},
        )
        assert status == 401 and answer["reason"] == "unauthorized"
        assert_one_line(answer["message"], "Invalid username or password")


async def test_403_publishing_where_only_reading_is_allowed(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    reader_org: str,
) -> None:
    write_notebook(jp_root_dir, "a.ipynb")
    task = await run_task(
        jp_fetch,
        "publish/notebook",
        {"path": "a.ipynb", "namespace": reader_org, "attach_environment": False},
    )
    assert (task["state"], task["reason"]) == ("failed", "forbidden")
    assert_one_line(task["error"], f"You do not have write access to the namespace '{reader_org}'")


async def test_409_a_published_version_is_never_replaced(
    jp_fetch: Fetch, jp_root_dir: Path, user: str
) -> None:
    write_notebook(jp_root_dir, "proj/a.ipynb")
    (Path(jp_root_dir) / "proj" / "requirements.txt").write_text("numpy==1.26.4\n")
    body = {"path": "proj", "namespace": user, "version": "1"}
    assert (await run_task(jp_fetch, "publish/project", body))["state"] == "succeeded"
    task = await run_task(jp_fetch, "publish/project", body)  # refused by the repository
    assert (task["state"], task["reason"]) == ("failed", "conflict")
    assert_one_line(
        task["error"], "proj.tar.gz already exists", "published versions cannot be changed"
    )

    write_notebook(jp_root_dir, "b.ipynb")
    notebook = {"path": "b.ipynb", "namespace": user, "version": "7"}
    assert (await run_task(jp_fetch, "publish/notebook", notebook))["state"] == "succeeded"
    task = await run_task(jp_fetch, "publish/notebook", notebook)  # refused before uploading
    assert (task["state"], task["reason"]) == ("failed", "conflict")
    assert_one_line(task["error"], f"{user}/b version 7 already exists")


class TestTooLarge:
    @pytest.fixture
    def small_user(self, small_server: RepoServer, unique: str) -> str:
        return small_server.create_user(f"s{unique}")

    @pytest.fixture
    def repo_config(
        self, small_server: RepoServer, small_user: str, tmp_path: Path
    ) -> dict[str, Any]:
        return {
            "url": small_server.url,
            "token": small_server.token(small_user),
            "credentials_dir": str(tmp_path / "credentials"),
        }

    async def test_413(
        self, jp_fetch: Fetch, jp_root_dir: Path, small_user: str, small_server: RepoServer
    ) -> None:
        big_notebook(Path(jp_root_dir))
        task = await run_task(
            jp_fetch,
            "publish/notebook",
            {"path": "Big.ipynb", "namespace": small_user, "attach_environment": False},
        )
        assert (task["state"], task["reason"]) == ("failed", "too_large")
        assert_one_line(task["error"], "Too large for the repository", "limit")
        # Nothing was stored.
        response = small_server.session().get(f"{small_server.api}/package/{small_user}/big")
        assert response.status_code == 404


class TestUnreachable:
    @pytest.fixture
    def repo_config(self, tmp_path: Path) -> dict[str, Any]:
        self.url = f"http://127.0.0.1:{free_port()}"
        return {
            "url": self.url,
            "token": BOGUS_TOKEN,
            "credentials_dir": str(tmp_path / "credentials"),
        }

    async def test_unreachable(self, jp_fetch: Fetch, jp_root_dir: Path) -> None:
        status, answer = await call(jp_fetch, "status")
        assert status == 200 and answer["connected"] is False
        assert_one_line(
            answer["error"], f"Cannot reach the repository at {self.url}", "Connection refused"
        )

        status, answer = await call(jp_fetch, "search", params={"q": "x"})
        assert status == 502 and answer["reason"] == "unreachable"
        assert_one_line(answer["message"], f"Cannot reach the repository at {self.url}")

        write_notebook(jp_root_dir, "a.ipynb")
        task = await run_task(
            jp_fetch,
            "publish/notebook",
            {"path": "a.ipynb", "namespace": "someone", "attach_environment": False},
        )
        assert (task["state"], task["reason"]) == ("failed", "unreachable")


class TestNotConfigured:
    @pytest.fixture
    def repo_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"credentials_dir": str(tmp_path / "credentials")}

    async def test_not_configured(self, jp_fetch: Fetch) -> None:
        status, answer = await call(jp_fetch, "status")
        assert answer == {
            "url": None,
            "connected": False,
            "user": None,
            "namespaces": [],
            "error": None,
        }
        status, answer = await call(
            jp_fetch,
            "publish",
            "notebook",
            method="POST",
            body={"path": "a.ipynb", "namespace": "me"},
        )
        assert status == 400 and answer["reason"] == "not_configured"
        assert_one_line(answer["message"], "No repository is configured")


async def test_bad_requests_are_400(jp_fetch: Fetch) -> None:
    status, answer = await call(
        jp_fetch, "publish", "notebook", method="POST", body={"path": "a.ipynb"}
    )
    assert status == 400 and answer["message"] == "'namespace' is required."
    status, answer = await call(
        jp_fetch, "publish", "environment", method="POST", body={"namespace": "me", "name": "x"}
    )
    assert status == 400 and "kernel_name" in answer["message"]
    response = await jp_fetch(
        "jupyter-repo", "publish", "notebook", method="POST", body=b"[1, 2", raise_error=False
    )
    assert response.code == 400 and b"not valid JSON" in response.body
    status, answer = await call(jp_fetch, "install", method="POST", body={"spec": "nope"})
    assert status == 202  # the spec is checked in the task, with the repository at hand
    status, answer = await call(jp_fetch, "search", params={"q": "x", "page": "two"})
    assert status == 400 and answer["message"] == "'page' must be a whole number."
    status, answer = await call(
        jp_fetch,
        "open",
        method="POST",
        body={"owner": "someone", "name": "nb", "directory": "no/such/folder"},
    )
    assert status == 404 and answer["reason"] == "not_found"
    assert "no/such/folder" in answer["message"]


# -- the CLI -----------------------------------------------------------------------------------


def cli(tmp_path: Path, *args: str, url: str, token: str | None = None) -> tuple[int, str, str]:
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cli-config"), JUPYTER_REPO_URL=url)
    env.pop("JUPYTER_REPO_TOKEN", None)
    env.pop("PYTHONPATH", None)
    if token:
        env["JUPYTER_REPO_TOKEN"] = token
    completed = processes.run(
        [sys.executable, "-m", "jupyter_repo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return completed.returncode, completed.stdout, completed.stderr


def assert_cli_error(result: tuple[int, str, str], *parts: str) -> None:
    code, _out, err = result
    assert code == 1, result
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert_one_line(lines[0], *parts)


def test_cli_errors(
    tmp_path: Path,
    server: RepoServer,
    user: str,
    repo_token: str,
    reader_org: str,
    small_server: RepoServer,
) -> None:
    env_file = builders.environment_file(tmp_path / "env")

    assert_cli_error(
        cli(tmp_path, "whoami", url=server.url, token=BOGUS_TOKEN),
        "Log in to the repository again: your token was refused",
    )

    assert_cli_error(
        cli(
            tmp_path,
            "publish",
            "env",
            str(env_file),
            "--owner",
            reader_org,
            url=server.url,
            token=repo_token,
        ),
        f"You do not have write access to the namespace '{reader_org}'",
    )

    first = cli(
        tmp_path,
        "publish",
        "env",
        str(env_file),
        "--version",
        "1",
        url=server.url,
        token=repo_token,
    )
    assert first[0] == 0 and f"published {user}/demo-env 1" in first[1], first
    assert_cli_error(
        cli(
            tmp_path,
            "publish",
            "env",
            str(env_file),
            "--version=1",
            url=server.url,
            token=repo_token,
        ),
        "environment.yml already exists",
        "published versions cannot be changed",
    )

    small_user = small_server.create_user(f"c{user}")
    assert_cli_error(
        cli(
            tmp_path,
            "publish",
            "notebook",
            str(big_notebook(tmp_path)),
            "--no-environment",
            url=small_server.url,
            token=small_server.token(small_user),
        ),
        "Too large for the repository",
    )

    port = free_port()
    assert_cli_error(
        cli(tmp_path, "search", "anything", url=f"http://127.0.0.1:{port}"),
        f"Cannot reach the repository at http://127.0.0.1:{port}",
        "Connection refused",
    )

    assert_cli_error(
        cli(
            tmp_path,
            "publish",
            "notebook",
            str(tmp_path / "missing.ipynb"),
            url=server.url,
            token=repo_token,
        ),
        "missing.ipynb does not exist",
    )
    assert_cli_error(
        cli(tmp_path, "install", "not a spec", url=server.url),
        "write OWNER/NAME or OWNER/NAME==VERSION",
    )


async def test_jupyters_own_refusals_answer_a_reason_from_the_shared_set(
    jp_fetch: Fetch,
    jp_root_dir: Path,
) -> None:
    """Jupyter's own refusals carry free-form reasons (the contents manager says "bad type",
    Tornado an HTTP phrase); the Lab extension switches on ``reason``, so the answer carries
    the closed code of the status instead (``errors.REASONS``, shared with TypeScript)."""
    write_notebook(jp_root_dir, "a.ipynb")
    status, answer = await call(
        jp_fetch,
        "open",
        method="POST",
        body={"owner": "someone", "name": "nb", "directory": "a.ipynb"},
    )
    assert (status, answer["reason"]) == (400, "bad_request"), answer
    assert_one_line(answer["message"], "a.ipynb is not a directory")

    status, answer = await call(jp_fetch, "tasks", "0" * 32)
    assert (status, answer["reason"]) == (404, "not_found"), answer

    status, answer = await call(jp_fetch, "status", method="PUT", body={})
    assert status == 405 and answer["reason"] in errors.REASONS, answer
    assert not (Path(jp_root_dir) / "nb.ipynb").exists()
