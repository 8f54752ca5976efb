"""Yanking from the package page: a logged-in writer's form over real HTTP, shown on the page
and in the indexes; others are refused and change nothing."""

from __future__ import annotations

import html
import uuid
from pathlib import Path

import requests

from tests.support import publish
from tests.support.server import RepoServer
from tests.support.web import WebClient

JSON = "application/vnd.pypi.simple.v1+json"


def _yanked(server: RepoServer, owner: str) -> dict[str, object]:
    """Each file's PEP 691 ``yanked`` value, as pip and uv read it."""
    page = requests.get(
        f"{server.url}/pypi/{owner}/simple/yk-web/", headers={"Accept": JSON}, timeout=30
    )
    return {item["filename"]: item["yanked"] for item in page.json()["files"]}


def test_a_writer_yanks_and_unyanks_from_the_package_page(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"yw{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    wheels = {
        version: publish.wheel(server, token, owner, tmp_path, "yk-web", version)
        for version in ("1.0", "2.0")
    }
    page = f"/{owner}/yk-web"
    client = WebClient(server).login(owner)
    form = client.get(page).text
    assert 'name="action" value="yank"' in form and 'name="action" value="unyank"' in form

    reason = "<b>broken</b> & replaced by 2.1"
    response = client.post(
        f"{page}/settings",
        {"action": "yank", "version": "2.0", "basename": "", "reason": reason},
        form_page=page,
    )
    assert response.status_code == 303 and response.headers["Location"] == page
    assert _yanked(server, owner) == {wheels["1.0"].name: False, wheels["2.0"].name: reason}
    shown = client.get(page).text
    assert 'class="badge badge-yanked"' in shown and html.escape(reason) in shown
    assert "<b>broken</b>" not in shown
    # Everyone sees the mark, not only the writer.
    assert 'class="badge badge-yanked"' in requests.get(server.url + page, timeout=30).text

    # One file back by name.
    response = client.post(
        f"{page}/settings",
        {"action": "unyank", "version": "2.0", "basename": wheels["2.0"].name},
        form_page=page,
    )
    assert response.status_code == 303
    assert _yanked(server, owner) == {wheels["1.0"].name: False, wheels["2.0"].name: False}
    assert "badge-yanked" not in client.get(page).text

    # A form naming no version, or a file the release does not have, is a 400 page.
    no_version = client.post(f"{page}/settings", {"action": "yank", "version": ""}, form_page=page)
    assert no_version.status_code == 400 and "Name the version" in no_version.text
    no_file = client.post(
        f"{page}/settings",
        {"action": "yank", "version": "1.0", "basename": "other-1.0-py3-none-any.whl"},
        form_page=page,
    )
    assert no_file.status_code == 400
    assert _yanked(server, owner) == {wheels["1.0"].name: False, wheels["2.0"].name: False}


def test_others_cannot_yank_from_the_page(server: RepoServer, tmp_path: Path) -> None:
    owner = server.create_user(f"yx{uuid.uuid4().hex[:8]}")
    stranger = server.create_user(f"yy{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    wheel = publish.wheel(server, token, owner, tmp_path, "yk-web", "1.0")
    secret = publish.wheel(server, token, owner, tmp_path, "yk-hidden", "1.0", private=True)
    form = {"action": "yank", "version": "1.0", "reason": "not yours"}

    anonymous = WebClient(server).post(f"/{owner}/yk-web/settings", form)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")
    other = WebClient(server).login(stranger)
    refused = other.post(f"/{owner}/yk-web/settings", form, form_page="/account")
    assert refused.status_code == 403
    hidden = other.post(f"/{owner}/yk-hidden/settings", form, form_page="/account")
    missing = other.post(f"/{owner}/yk-nothing/settings", form, form_page="/account")
    assert hidden.status_code == missing.status_code == 404
    # The owner's own session, without the form's XSRF token: refused too.
    no_xsrf = WebClient(server).login(owner).post(f"/{owner}/yk-web/settings", form, xsrf=False)
    assert no_xsrf.status_code == 403

    assert _yanked(server, owner) == {wheel.name: False}
    auth = {"Authorization": f"token {token}"}
    detail = requests.get(
        f"{server.api}/dist/{owner}/yk-hidden/1.0/{secret.name}", headers=auth, timeout=30
    )
    assert detail.json()["yanked"] is False
