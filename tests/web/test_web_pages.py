"""The web pages over real HTTP: what they show, who may see what, forms, sessions and CSRF."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import zlib
from pathlib import Path

import pytest
import requests
from nbformat.v4 import new_markdown_cell

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import RenderCache
from tests.support.server import PASSWORD, RepoServer
from tests.support.web import WebClient, active_content, upload


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1).strip()


@pytest.fixture(scope="module")
def policy_owner(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An owner with one conda package, for pages that list something."""
    owner = server.create_user(f"policy{uuid.uuid4().hex[:8]}")
    upload(
        server,
        server.token(owner),
        owner,
        "policy-pkg",
        "1.0",
        builders.conda_package(tmp_path_factory.mktemp("policy"), "policy-pkg", "1.0"),
        basename="noarch/policy-pkg-1.0-0.conda",
    )
    return owner


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="home"),
        pytest.param("/search?q=policy", id="search"),
        pytest.param("/{owner}", id="owner"),
        pytest.param("/{owner}/policy-pkg", id="package"),
        pytest.param("/login", id="login"),
    ],
)
def test_pages_are_html_under_a_strict_policy(
    server: RepoServer, policy_owner: str, path: str
) -> None:
    response = requests.get(server.url + path.format(owner=policy_owner), timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in policy and "default-src 'none'" in policy
    assert "img-src 'self' data:" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in response.text.lower()
    assert re.match(r"app;dur=\d+(\.\d+)?$", response.headers["Server-Timing"])


def test_search_and_package_page_show_files_and_install_commands(
    server: RepoServer, user: str, samples: Path
) -> None:
    token = server.token(user)
    stable = builders.conda_package(samples, "webpkg", "1.0", subdir="linux-64", build="h1_0")
    beta = builders.conda_package(samples, "webpkg", "2.0")
    wheel = builders.wheel(samples, "webpkg", "1.0")
    upload(server, token, user, "webpkg", "1.0", stable, basename=f"linux-64/{stable.name}")
    upload(server, token, user, "webpkg", "2.0", beta, basename=f"noarch/{beta.name}", label="beta")
    upload(server, token, user, "webpkg", "1.0", wheel)

    found = requests.get(
        f"{server.url}/search", params={"q": "webpkg", "type": "conda", "platform": "linux-64"}
    ).text
    assert f'href="/{user}/webpkg"' in found and "1 package found" in found
    assert (
        "0 packages found"
        in requests.get(f"{server.url}/search", params={"q": "webpkg", "platform": "osx-64"}).text
    )
    assert (
        "1 package found"
        in requests.get(f"{server.url}/search", params={"q": "webpkg", "label": "beta"}).text
    )
    assert (
        "0 packages found"
        in requests.get(f"{server.url}/search", params={"q": "webpkg", "label": "nightly"}).text
    )

    page = requests.get(f"{server.url}/{user}/webpkg").text
    base = server.url
    assert f"conda install -c {base}/conda/{user} webpkg" in page
    assert f"conda install -c {base}/conda/{user}/label/beta webpkg" in page
    assert f"pip install --index-url {base}/pypi/{user}/simple webpkg" in page
    assert f"anaconda download {user}/webpkg" in page
    assert f"jupyter repo install {user}/webpkg --url {base}" in page
    # Files with platform, size, sha256 and labels; filters by label and platform.
    assert f"linux-64/{stable.name}" in page and f"noarch/{beta.name}" in page
    assert hashlib.sha256(stable.read_bytes()).hexdigest() in page
    only_beta = requests.get(f"{server.url}/{user}/webpkg", params={"label": "beta"}).text
    assert f"noarch/{beta.name}" in only_beta and f"linux-64/{stable.name}" not in only_beta
    linux = requests.get(f"{server.url}/{user}/webpkg", params={"platform": "linux-64"}).text
    assert f"linux-64/{stable.name}" in linux and beta.name not in linux

    download = requests.get(f"{server.url}/{user}/webpkg/download/1.0/linux-64/{stable.name}")
    assert download.status_code == 200 and download.content == stable.read_bytes()
    assert "attachment" in download.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "path",
    [
        "/{user}?page=abc",
        "/{user}?page=0",
        "/search?per_page=many",
    ],
)
def test_bad_query_arguments_are_400_pages(server: RepoServer, user: str, path: str) -> None:
    response = requests.get(server.url + path.format(user=user), timeout=30)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'class="error-message"' in response.text


def test_owner_pages_are_paginated(server: RepoServer, user: str, samples: Path) -> None:
    token = server.token(user)
    csv = builders.csv_file(samples)
    for index in range(55):
        upload(server, token, user, f"data-{index:02d}", "1", csv, type="file")
    first = requests.get(f"{server.url}/{user}").text
    second = requests.get(f"{server.url}/{user}", params={"page": 2}).text
    assert "data-00" in first and "data-49" in first and "data-50" not in first
    assert "data-50" in second and "data-54" in second and "data-00" not in second
    assert "Page 1 of 2 (55 in all)" in first
    assert 'rel="next" href="?page=2"' in first


@pytest.mark.parametrize("who", ["anonymous", "another-user"])
def test_private_and_unknown_objects_share_one_404_page(
    server: RepoServer, unique: str, samples: Path, who: str
) -> None:
    owner = server.create_user(f"own{unique}")
    token = server.token(owner)
    notebook = builders.notebook(samples, "secret.ipynb")
    upload(server, token, owner, "secret", "1", notebook, type="ipynb", private=1)

    paths = [
        f"/{owner}/secret",
        f"/{owner}/secret/files/1/secret.ipynb",
        f"/{owner}/secret/download/1/secret.ipynb",
    ]
    unknown = [
        f"/{owner}/nothing",
        f"/{owner}/nothing/files/1/secret.ipynb",
        f"/{owner}/nothing/download/1/secret.ipynb",
        f"/nobody{unique}/secret",
        f"/{owner}/secret/files/9/secret.ipynb",
        "/a/b/c/d/e",
    ]
    client = WebClient(server)
    if who == "another-user":
        client.login(server.create_user(f"oth{unique}"))
    bodies = set()
    for path in paths + unknown:
        response = client.get(path)
        assert response.status_code == 404, path
        bodies.add(response.text)
    assert len(bodies) == 1, "the 404 page differs between private and unknown objects"
    assert "secret" not in bodies.pop()

    mine = WebClient(server).login(owner)
    for path in paths:
        assert mine.get(path).status_code == 200, path


def test_login_logout_and_csrf(server: RepoServer, user: str) -> None:
    client = WebClient(server)
    assert client.get("/account").headers["Location"].startswith("/login?next=")
    refused = client.post("/login", {"username": user, "password": PASSWORD}, xsrf=False)
    assert refused.status_code == 403 and "_xsrf" in refused.text
    wrong = client.post("/login", {"username": user, "password": "wrong-password"})
    assert wrong.status_code == 401 and "Invalid username or password" in wrong.text
    assert "jupyter_repo_session" not in client.http.cookies

    done = client.post(
        "/login", {"username": user, "password": PASSWORD, "next": "//evil.example/"}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/account"
    cookie = client.http.cookies["jupyter_repo_session"]
    account = client.get("/account")
    assert account.status_code == 200 and f'href="/{user}">{user}</a>' in account.text

    # The session is for pages only: the API ignores the cookie.
    api = requests.get(f"{server.api}/user", cookies={"jupyter_repo_session": cookie})
    assert api.status_code == 401

    assert client.post("/logout", {}, form_page="/account").status_code == 303
    replay = requests.get(
        f"{server.url}/account", cookies={"jupyter_repo_session": cookie}, allow_redirects=False
    )
    assert replay.status_code == 303  # the old cookie is dead on the server, not only here


def test_account_tokens_created_used_and_revoked(server: RepoServer, user: str) -> None:
    client = WebClient(server).login(user)
    created = client.post(
        "/account/tokens",
        {"name": "ci", "scopes": ["api:read"], "expires_days": "7"},
        form_page="/account",
    )
    assert created.status_code == 200
    secret = re.search(r'id="new-token-value">([^<]+)<', created.text).group(1)
    assert (
        requests.get(f"{server.api}/user", headers={"Authorization": f"token {secret}"}).json()[
            "login"
        ]
        == user
    )
    again = client.post(
        "/account/tokens", {"name": "ci", "scopes": ["api:read"]}, form_page="/account"
    )
    assert again.status_code == 409 and "already have a token named" in again.text
    missing = client.post(
        "/account/tokens", {"name": "x", "scopes": ["nonsense"]}, form_page="/account"
    )
    assert missing.status_code == 400 and "Unknown scope" in missing.text

    token_id = re.search(r"/account/tokens/([0-9a-f]+)/revoke", client.get("/account").text)
    assert (
        client.post(
            f"/account/tokens/{token_id.group(1)}/revoke",
            {"confirmed": "yes"},
            form_page="/account",
        ).status_code
        == 303
    )
    assert (
        requests.get(f"{server.api}/user", headers={"Authorization": f"token {secret}"}).status_code
        == 401
    )


def test_package_settings_need_write_access(server: RepoServer, unique: str, samples: Path) -> None:
    owner = server.create_user(f"ps{unique}")
    reader = server.create_user(f"rd{unique}")
    token = server.token(owner)
    upload(server, token, owner, "vis", "1", builders.csv_file(samples), type="file")

    anonymous = WebClient(server).post(
        f"/{owner}/vis/settings", {"action": "visibility", "public": "0"}
    )
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")
    forbidden = (
        WebClient(server)
        .login(reader)
        .post(
            f"/{owner}/vis/settings", {"action": "visibility", "public": "0"}, form_page="/account"
        )
    )
    assert forbidden.status_code == 403

    client = WebClient(server).login(owner)
    assert (
        client.post(
            f"/{owner}/vis/settings",
            {"action": "visibility", "public": "0", "confirmed": "yes"},
            form_page="/account",
        ).status_code
        == 303
    )
    assert requests.get(f"{server.url}/{owner}/vis").status_code == 404
    assert (
        client.post(
            f"/{owner}/vis/settings",
            {"action": "add-label", "label": "Stable", "version": "1"},
            form_page="/account",
        ).status_code
        == 303
    )
    assert "stable" in client.get(f"/{owner}/vis").text
    labels_page = client.get(f"/labels/{owner}")
    assert labels_page.status_code == 200 and "stable" in labels_page.text
    assert (
        client.post(
            f"/labels/{owner}", {"action": "lock", "label": "stable"}, form_page="/account"
        ).status_code
        == 303
    )
    locked = client.post(
        f"/{owner}/vis/settings",
        {"action": "remove-label", "label": "stable", "confirmed": "yes"},
        form_page="/account",
    )
    assert locked.status_code == 403 and "locked" in locked.text
    assert WebClient(server).login(reader).get(f"/labels/{owner}").status_code == 404


def test_org_pages_are_for_members(server: RepoServer, unique: str) -> None:
    admin = server.create_user(f"ad{unique}")
    member = server.create_user(f"mb{unique}")
    outsider = server.create_user(f"ou{unique}")
    org = server.create_org(f"org{unique}", admin)
    server.add_to_group(org, "readers", member)

    assert WebClient(server).login(outsider).get(f"/orgs/{org}").status_code == 404
    assert WebClient(server).get(f"/orgs/{org}").status_code == 404
    seen = WebClient(server).login(member).get(f"/orgs/{org}")
    assert seen.status_code == 200 and "readers" in seen.text and "Create group" not in seen.text
    refused = (
        WebClient(server)
        .login(member)
        .post(
            f"/orgs/{org}/groups/readers",
            {"action": "add-member", "login": outsider},
            form_page="/account",
        )
    )
    assert refused.status_code == 403

    client = WebClient(server).login(admin)
    assert (
        client.post(
            f"/orgs/{org}", {"group": "Writers", "permission": "write"}, form_page="/account"
        ).headers["Location"]
        == f"/orgs/{org}/groups/writers"
    )
    no_user = client.post(
        f"/orgs/{org}/groups/writers",
        {"action": "add-member", "login": f"ghost{unique}"},
        form_page="/account",
    )
    assert no_user.status_code == 400 and f"ghost{unique}" in no_user.text
    assert (
        client.post(
            f"/orgs/{org}/groups/writers",
            {"action": "add-member", "login": outsider},
            form_page="/account",
        ).status_code
        == 303
    )
    assert outsider in client.get(f"/orgs/{org}/groups/writers").text


def test_notebook_rendering_is_cached(server: RepoServer, user: str, samples: Path) -> None:
    token = server.token(user)
    notebook = builders.notebook(samples, "cached.ipynb", title="Cached notebook")
    upload(server, token, user, "cached-nb", "1", notebook, type="ipynb")
    first = requests.get(f"{server.url}/{user}/cached-nb/files/1/cached.ipynb")
    assert first.status_code == 200 and "Cached notebook" in first.text
    assert active_content(first.text) == []
    digest = hashlib.sha256(notebook.read_bytes()).hexdigest()
    rows = server.call(lambda s: s.query(RenderCache).filter_by(sha256=digest).count(), write=False)
    assert rows == 1
    again = requests.get(f"{server.url}/{user}/cached-nb/files/1/cached.ipynb")
    assert again.text == first.text


@pytest.mark.parametrize("path", ["/api/nothing-here", "/conda/nobody/x", "/pypi/nobody/x"])
def test_web_routes_leave_other_prefixes_alone(server: RepoServer, path: str) -> None:
    response = requests.get(server.url + path, timeout=30)
    assert response.status_code in (401, 404)
    assert "nothing here, or you may not see it" not in response.text


def test_the_api_and_static_files_answer_beside_the_pages(server: RepoServer) -> None:
    assert requests.get(f"{server.api}").json()["status"] == "ok"
    css = requests.get(server.url + "/static/style.css?v=1")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_a_notebook_that_cannot_be_rendered_says_so(
    server: RepoServer, user: str, samples: Path
) -> None:
    notebook = builders.notebook_json(
        "Broken", extra_cells=[new_markdown_cell("![lost](attachment:lost.png)")]
    )
    path = samples / "broken.ipynb"
    path.write_text(json.dumps(notebook))
    upload(server, server.token(user), user, "broken-nb", "1", path, type="ipynb")
    for _ in range(2):  # the second answer comes from the cached failure
        page = requests.get(f"{server.url}/{user}/broken-nb/files/1/broken.ipynb")
        assert page.status_code == 200
        assert "could not be rendered" in page.text and "missing attachment" in page.text
        assert "Download broken.ipynb" in page.text
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cached = server.call(
        lambda s: s.query(RenderCache).filter_by(sha256=digest).one().content, write=False
    )
    assert zlib.decompress(cached).startswith(b"\x00")


def test_environment_project_and_other_file_pages(
    server: RepoServer, user: str, samples: Path
) -> None:
    token = server.token(user)
    upload(server, token, user, "page-env", "1", builders.environment_file(samples), type="env")
    upload(
        server, token, user, "page-project", "1", builders.project_archive(samples), type="project"
    )
    data = samples / "notes.txt"
    data.write_text("plain notes\n")
    upload(server, token, user, "page-file", "1", data, type="file")
    env = requests.get(f"{server.url}/{user}/page-env/files/1/environment.yml", timeout=30)
    assert env.status_code == 200
    assert "conda env create --file environment.yml" in env.text
    assert "requests==2.31.0" in env.text  # the spec itself
    project = requests.get(
        f"{server.url}/{user}/page-project/files/1/demo-project.tar.gz", timeout=30
    )
    assert project.status_code == 200 and "analysis.ipynb" in project.text
    other = requests.get(f"{server.url}/{user}/page-file/files/1/notes.txt", timeout=30)
    assert other.status_code == 200 and "Download notes.txt" in other.text
