"""Finding 7 (issue 15) through the server extension's own endpoints: the administrator's
``c.RepoExtension.token`` belongs to ``c.RepoExtension.url``. A user logging in from Lab to
another repository (a recording stand-in on a free port), searching there, logging out and
searching again never hands that token over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_repo.client.config import CredentialStore
from tests.extension.conftest import Fetch, call
from tests.support.recorder import RECORDER_TOKEN, Recorder, recording
from tests.support.server import RepoServer


@pytest.fixture
def other() -> Iterator[Recorder]:
    with recording() as recorder:
        yield recorder


async def test_finding_7_lab_login_elsewhere_never_carries_the_configured_token(
    jp_fetch: Fetch,
    server: RepoServer,
    user: str,
    repo_token: str,
    other: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTER_REPO_TOKEN", repo_token)  # the administrator's, too
    status, answer = await call(jp_fetch, "status")
    assert status == 200 and answer["user"]["login"] == user  # at home it is used

    status, answer = await call(
        jp_fetch,
        "login",
        method="POST",
        body={"url": other.url + "/", "username": "someone", "password": "pw"},
    )
    assert status == 200 and answer["user"]["login"] == "recorder", answer
    assert (await call(jp_fetch, "search", params={"q": "x"}))[0] == 200
    # 'jupyter repo logout' in a terminal forgets the saved token (the store is shared):
    # the extension, still pointed at the other repository, must not fall back to its own.
    CredentialStore(tmp_path / "credentials").forget_token(other.url)
    assert (await call(jp_fetch, "search", params={"q": "w"}))[0] == 200
    assert (await call(jp_fetch, "logout", method="POST"))[0] == 200
    status, answer = await call(jp_fetch, "search", params={"q": "y"})
    assert status == 200, answer
    status, answer = await call(jp_fetch, "status")
    assert status == 200 and answer["url"] == other.url and not answer["connected"]

    assert other.saw(RECORDER_TOKEN)  # its own token, while logged in there
    searches = [request for request in other.requests if "/api/search" in request["path"]]
    assert len(searches) == 3
    assert all("Authorization" not in request["headers"] for request in searches[1:])
    assert not other.saw(repo_token)
