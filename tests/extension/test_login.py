"""Logging in and out from Jupyter: the token is created, saved privately, used, revoked."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.extension.conftest import Fetch, call
from tests.support.net import not_a_repository
from tests.support.server import PASSWORD, RepoServer


@pytest.fixture
def repo_config(tmp_path: Path) -> dict[str, Any]:
    """Nothing configured: the user logs in from the UI."""
    return {"credentials_dir": str(tmp_path / "credentials")}


async def test_login_with_password_then_logout(
    jp_fetch: Fetch, server: RepoServer, user: str, tmp_path: Path
) -> None:
    status, answer = await call(jp_fetch, "status")
    assert answer["connected"] is False and answer["url"] is None

    status, answer = await call(
        jp_fetch,
        "login",
        method="POST",
        body={"url": server.url, "username": user, "password": PASSWORD},
    )
    assert status == 200, answer
    assert answer["connected"] is True and answer["user"]["login"] == user
    assert answer["url"] == server.url
    assert "token" not in json.dumps(answer).lower()

    saved = tmp_path / "credentials" / "tokens.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    entry = json.loads(saved.read_text())[server.url]
    assert entry["issued_here"] is True and entry["login"] == user
    tokens = requests.get(
        f"{server.api}/authentications",
        timeout=10,
        headers={"Authorization": f"token {entry['token']}"},
    ).json()
    assert [item["name"] for item in tokens] == [f"jupyter-repo:{socket.gethostname()}"]
    assert tokens[0]["scopes"] == ["api:write"]

    status, answer = await call(jp_fetch, "search", params={"q": "nothing-like-this"})
    assert status == 200 and answer == {"items": [], "total": 0}

    status, answer = await call(jp_fetch, "logout", method="POST")
    assert status == 200 and answer["connected"] is False and answer["url"] == server.url
    assert server.url not in json.loads(saved.read_text())
    assert (
        requests.get(
            f"{server.api}/user", timeout=10, headers={"Authorization": f"token {entry['token']}"}
        ).status_code
        == 401
    )

    status, answer = await call(
        jp_fetch, "publish", "notebook", method="POST", body={"path": "a.ipynb", "namespace": user}
    )
    assert status == 400 and answer["reason"] == "not_configured"
    assert answer["message"] == f"You are not logged in to {server.url}: log in to it first."


async def test_login_with_a_token(jp_fetch: Fetch, server: RepoServer, user: str) -> None:
    token = server.token(user, ["api:write"])
    status, answer = await call(
        jp_fetch, "login", method="POST", body={"url": server.url + "/api", "token": token}
    )
    assert status == 200 and answer["user"]["login"] == user
    status, answer = await call(
        jp_fetch, "login", method="POST", body={"url": "http://user:pw@example.org", "token": token}
    )
    assert status == 400 and "credentials" in answer["message"]


@pytest.mark.parametrize("answer", [404, 200], ids=["404-everywhere", "html-everywhere"])
@pytest.mark.parametrize("method", ["token", "password"])
async def test_defect_8_a_server_that_is_not_a_repository_is_named_so(
    jp_fetch: Fetch, tmp_path: Path, answer: int, method: str
) -> None:
    """Issue 17, defect 8: "404 Not Found" alone did not say the URL is wrong."""
    credentials = (
        {"token": "jr-some-token"} if method == "token" else {"username": "u", "password": "p"}
    )
    with not_a_repository(answer) as url:
        status, reply = await call(
            jp_fetch, "login", method="POST", body={"url": url, **credentials}
        )
    assert status == 400, reply
    assert reply["reason"] == "bad_request"
    assert reply["message"].startswith(f"There is no jupyter-repo API at {url}: check the URL")
    assert not (tmp_path / "credentials" / "tokens.json").exists()  # nothing saved


async def test_defect_8_a_refused_token_is_called_refused(
    jp_fetch: Fetch, server: RepoServer, user: str, tmp_path: Path
) -> None:
    """Issue 17, defect 8: a token typed into the dialog and refused is not fixed by
    "log in again"; the answer says the token was refused."""
    status, reply = await call(
        jp_fetch, "login", method="POST", body={"url": server.url, "token": "jr-not-a-token"}
    )
    assert status == 401 and reply["reason"] == "unauthorized"
    assert reply["message"].startswith(f"The repository at {server.url} refused this token")
    assert "again" not in reply["message"]
    assert not (tmp_path / "credentials" / "tokens.json").exists()
