"""Issue 17, defect 4: a republish applies the visibility chosen in the dialog (or says why
it cannot), and its result says which visibility and label the version got. Through the
extension's endpoints and a real repository; checked through the repository's API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.extension.conftest import Fetch, run_task, write_notebook
from tests.support.http import upload
from tests.support.server import RepoServer


@pytest.fixture
def repo_token(server: RepoServer, user: str, request: pytest.FixtureRequest) -> str:
    """The Lab's token; by default one with the 'api' scope (admin on the user's own
    packages), or the scopes a test names (``indirect`` parametrization)."""
    return server.token(user, getattr(request, "param", ["api"]))


def shown(server: RepoServer, owner: str, name: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(f"{server.api}/package/{owner}/{name}", headers=headers, timeout=30)


async def test_defect_4_republish_makes_a_private_notebook_public(
    jp_fetch: Fetch, jp_root_dir: Path, server: RepoServer, user: str, repo_token: str
) -> None:
    write_notebook(jp_root_dir, "tide.ipynb", title="Tides")
    body: dict[str, Any] = {
        "path": "tide.ipynb",
        "namespace": user,
        "attach_environment": False,
        "label": "dev",
    }
    task = await run_task(jp_fetch, "publish/notebook", {**body, "public": False})
    assert task["state"] == "succeeded", task["error"]
    assert (task["result"]["public"], task["result"]["labels"]) == (False, ["dev"])
    assert shown(server, user, "tide").status_code == 404  # private: anonymous sees nothing

    task = await run_task(jp_fetch, "publish/notebook", {**body, "public": True})
    assert task["state"] == "succeeded", task["error"]
    result = task["result"]
    assert (result["version"], result["public"], result["labels"]) == ("2", True, ["dev"])
    anonymous = shown(server, user, "tide")
    assert anonymous.status_code == 200 and anonymous.json()["public"] is True
    assert anonymous.json()["versions"] == ["1", "2"]


async def test_defect_4_a_writer_cannot_change_who_sees_a_package_and_is_told_why(
    jp_fetch: Fetch, jp_root_dir: Path, server: RepoServer, user: str, unique: str
) -> None:
    """The repository lets only a package's administrators change its visibility; the
    publish says so and uploads nothing (a version asked to be private never goes up in
    a public package)."""
    owner = server.create_user(f"own{unique}")
    org = server.create_org(f"org{unique}", owner)
    owner_token = server.token(owner, ["api:write"])
    notebook = write_notebook(jp_root_dir, "shared.ipynb", title="Shared")
    first = upload(
        server.api, owner_token, org, "shared", "1", "shared.ipynb", notebook, type="ipynb"
    )
    assert first.status_code in (200, 201), first.text
    server.add_to_group(org, "writers", user, "write")
    server.grant(org, "writers", "shared")

    body = {"path": "shared.ipynb", "namespace": org, "attach_environment": False}
    task = await run_task(jp_fetch, "publish/notebook", {**body, "public": False})
    assert task["state"] == "failed" and task["reason"] == "forbidden"
    assert task["error"] == (
        f"{org}/shared is public; making it private needs admin rights on the package, and "
        "the repository refused: You do not have admin access to this package. Nothing was "
        "published. Publish it as public, or change who sees it on its page "
        f"({server.url}/{org}/shared) as an administrator."
    )
    after = shown(server, org, "shared")
    assert after.status_code == 200
    assert (after.json()["public"], after.json()["versions"]) == (True, ["1"])

    # As public (what the dialog proposes, from the package's settings), it goes up.
    task = await run_task(jp_fetch, "publish/notebook", {**body, "public": True})
    assert task["state"] == "succeeded", task["error"]
    assert (task["result"]["version"], task["result"]["public"]) == ("2", True)


@pytest.mark.parametrize("repo_token", [["api:write"]], indirect=True)
async def test_defect_4_a_token_limited_to_writing_says_so(
    jp_fetch: Fetch, jp_root_dir: Path, server: RepoServer, user: str
) -> None:
    """What Lab's password login creates (scope api:write) may publish, not change who
    sees a package: the publish says so and uploads nothing."""
    write_notebook(jp_root_dir, "reef.ipynb", title="Reef")
    body: dict[str, Any] = {"path": "reef.ipynb", "namespace": user, "attach_environment": False}
    task = await run_task(jp_fetch, "publish/notebook", {**body, "public": False})
    assert task["state"] == "succeeded", task["error"]

    task = await run_task(jp_fetch, "publish/notebook", {**body, "public": True})
    assert task["state"] == "failed" and task["reason"] == "forbidden"
    assert "This token's scopes do not allow admin access" in task["error"]
    assert task["error"].startswith(f"{user}/reef is private; making it public needs admin")
    token = server.token(user, ["api:read"])
    after = shown(server, user, "reef", token)
    assert (after.json()["public"], after.json()["versions"]) == (False, ["1"])


async def test_a_republish_that_names_no_visibility_keeps_the_package_private(
    jp_fetch: Fetch, jp_root_dir: Path, server: RepoServer, user: str
) -> None:
    """Only an explicit choice changes who sees a package: a caller that sends no
    ``public`` (or the CLI without --private, whose flag is about new packages) never
    makes a private package public."""
    write_notebook(jp_root_dir, "kelp.ipynb", title="Kelp")
    body: dict[str, Any] = {"path": "kelp.ipynb", "namespace": user, "attach_environment": False}
    task = await run_task(jp_fetch, "publish/notebook", {**body, "public": False})
    assert task["state"] == "succeeded", task["error"]

    task = await run_task(jp_fetch, "publish/notebook", body)
    assert task["state"] == "succeeded", task["error"]
    assert (task["result"]["version"], task["result"]["public"]) == ("2", False)
    assert shown(server, user, "kelp").status_code == 404
