"""Configured limits answer with a clear error, and secrets never reach the server's log.

One server with small limits and the most verbose logging (every access line, every
logger at DEBUG) serves the whole module; the last test greps its log for every token,
password and session secret the module used.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.http import auth, upload
from tests.support.server import PASSWORD, RepoServer
from tests.support.state import snapshot, unchanged

MAX_UPLOAD = 100_000
MAX_FILES = 3
DEFAULT_AGE, MAX_AGE = 3600, 7200
ATTEMPTS = 3
VERBOSE_LOGGING = """
c.ServeApp.log_level = "DEBUG"
c.ServeApp.logging_config = {
    "loggers": {
        "tornado.access": {"level": "DEBUG", "handlers": ["console"]},
        "tornado.application": {"level": "DEBUG", "handlers": ["console"]},
        "tornado.general": {"level": "DEBUG", "handlers": ["console"]},
        "jupyter_repo": {"level": "DEBUG", "handlers": ["console"]},
        "sqlalchemy.engine": {"level": "INFO", "handlers": ["console"]},
    }
}
"""

#: Every secret the module sent to the server, for the last test.
SECRETS: list[str] = []


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoServer]:
    root = tmp_path_factory.mktemp("limits")
    (root / "config").mkdir()
    (root / "config" / "jupyter_repo_config.py").write_text(VERBOSE_LOGGING)
    server = RepoServer(
        root,
        config={
            "Repository.max_upload_size": MAX_UPLOAD,
            "Repository.max_files_per_package": MAX_FILES,
            "Repository.token_default_max_age": DEFAULT_AGE,
            "Repository.token_max_age_limit": MAX_AGE,
            "ServeApp.login_attempts": ATTEMPTS,
        },
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


def _secret(value: str) -> str:
    SECRETS.append(value)
    return value


def _error(response: requests.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words.lower() in response.json()["error"].lower(), response.json()


def test_uploads_over_the_size_limit_are_413(limited: RepoServer, tmp_path: Path) -> None:
    login = limited.create_user("sizer")
    token = _secret(limited.token(login))
    before = snapshot(limited)
    big = b"x" * (MAX_UPLOAD + 1)
    _error(upload(limited.api, token, login, "big", "1", "big.csv", big), 413, "limit")
    # The staged flow (anaconda-client): the multipart POST is refused as S3 would.
    assert upload(limited.api, token, login, "big", "1", "small.csv", b"a\n").status_code == 201
    before = snapshot(limited)
    stage = requests.post(
        f"{limited.api}/stage/{login}/big/1/big2.csv",
        json={"distribution_type": "file"},
        headers=auth(token),
    )
    assert stage.status_code == 200, stage.text
    posted = requests.post(
        stage.json()["post_url"], data=stage.json()["form_data"], files={"file": ("big2.csv", big)}
    )
    assert posted.status_code == 413
    assert "<Code>EntityTooLarge</Code>" in posted.text
    assert unchanged(before, snapshot(limited), allow_stages=True)


def test_files_per_package_are_limited(limited: RepoServer) -> None:
    login = limited.create_user("filer")
    token = _secret(limited.token(login))
    for index in range(MAX_FILES):
        assert (
            upload(limited.api, token, login, "many", "1", f"f{index}.csv", b"a,b\n").status_code
            == 201
        )
    before = snapshot(limited)
    _error(
        upload(limited.api, token, login, "many", "2", "more.csv", b"a,b\n"),
        413,
        f"holds {MAX_FILES} files, the server's limit",
    )
    staged = requests.post(
        f"{limited.api}/stage/{login}/many/2/more.csv",
        json={"distribution_type": "file"},
        headers=auth(token),
    )
    _error(staged, 413, "limit per package")
    assert unchanged(before, snapshot(limited))


def _expires_in(answer: dict) -> float:
    expires = datetime.fromisoformat(answer["expires"].replace("Z", "+00:00"))
    return (expires - datetime.now(timezone.utc)).total_seconds()


def test_token_lifetimes_are_limited(limited: RepoServer) -> None:
    login = limited.create_user("lifer")
    basic = (login, _secret(PASSWORD))
    created = requests.post(
        f"{limited.api}/authentications", auth=basic, json={"note": "default", "scopes": ["read"]}
    )
    assert created.status_code == 200, created.text
    _secret(created.json()["token"])
    assert DEFAULT_AGE - 60 < _expires_in(created.json()) <= DEFAULT_AGE
    longest = requests.post(
        f"{limited.api}/authentications", auth=basic, json={"note": "longest", "max-age": MAX_AGE}
    )
    assert longest.status_code == 200
    _secret(longest.json()["token"])
    too_long = requests.post(
        f"{limited.api}/authentications",
        auth=basic,
        json={"note": "too-long", "max-age": MAX_AGE + 1},
    )
    _error(too_long, 400, f"over the server's limit of {MAX_AGE} seconds")
    # The web form offers days; a day is over this server's limit of two hours.
    session = requests.Session()
    page = session.get(f"{limited.url}/login")
    xsrf = page.cookies["_xsrf"]
    logged_in = session.post(
        f"{limited.url}/login",
        data={"username": login, "password": PASSWORD, "_xsrf": xsrf},
        allow_redirects=False,
    )
    assert logged_in.status_code == 303
    _secret(session.cookies["jupyter_repo_session"])
    form = session.post(
        f"{limited.url}/account/tokens",
        data={"name": "web", "scopes": "read", "expires_days": "1", "_xsrf": xsrf},
    )
    assert form.status_code == 400
    assert f"over the server&#39;s limit of {MAX_AGE} seconds" in form.text
    listed = requests.get(f"{limited.api}/authentications", auth=basic).json()
    assert sorted(item["name"] for item in listed) == ["default", "longest"]


def test_failed_logins_are_limited_with_429(limited: RepoServer) -> None:
    login = limited.create_user("guessed")
    url = f"{limited.api}/authentications"
    for _attempt in range(ATTEMPTS):
        assert requests.post(url, auth=(login, "wrong-password")).status_code == 401
    refused = requests.post(url, auth=(login, _secret(PASSWORD)))
    _error(refused, 429, "too many failed logins")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    # Another user from the same address is not affected.
    other = limited.create_user("neighbour")
    allowed = requests.post(url, auth=(other, PASSWORD), json={"note": "ok"})
    assert allowed.status_code == 200
    _secret(allowed.json()["token"])

    # The web form counts the same way, with the same clear answer.
    web_user = limited.create_user("webguess")
    session = requests.Session()
    xsrf = session.get(f"{limited.url}/login").cookies["_xsrf"]
    form = {"username": web_user, "password": "wrong-password", "_xsrf": xsrf}
    for _attempt in range(ATTEMPTS):
        answer = session.post(f"{limited.url}/login", data=form)
        assert answer.status_code == 401 and "Invalid username or password" in answer.text
    blocked = session.post(f"{limited.url}/login", data={**form, "password": PASSWORD})
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
    assert int(blocked.headers["Retry-After"]) >= 1


def test_spoofed_addresses_do_not_lift_the_limit(limited: RepoServer) -> None:
    """No proxy is trusted by default, so X-Forwarded-For is the client's own claim and a new
    one per guess changes nothing (tests/security/test_security_ingress.py has the variants)."""
    login = limited.create_user("spoofed")
    url = f"{limited.api}/authentications"
    statuses = [
        requests.post(
            url,
            auth=(login, "wrong-password"),
            headers={"X-Forwarded-For": f"10.0.{index // 250}.{index % 250}"},
        ).status_code
        for index in range(ATTEMPTS + 2)
    ]
    assert statuses == [401] * ATTEMPTS + [429] * 2


def test_secrets_never_reach_the_log(limited: RepoServer, tmp_path: Path) -> None:
    login = limited.create_user("secretive")
    token = _secret(limited.token(login))
    private = builders.wheel(tmp_path, "hush", "1.0")
    assert (
        upload(
            limited.api, token, login, "hush", "1.0", private.name, private, private="1"
        ).status_code
        == 201
    )
    conda = builders.conda_package(tmp_path, "hush-c", "1.0")
    assert (
        upload(
            limited.api, token, login, "hush-c", "1.0", f"noarch/{conda.name}", conda, private="1"
        ).status_code
        == 201
    )
    revoked = _secret(limited.token(login, name="to-revoke"))
    assert (
        requests.delete(f"{limited.api}/authentications", headers=auth(revoked)).status_code == 201
    )
    invalid = _secret("jr-" + hashlib.sha256(b"not issued").hexdigest()[:43])
    base, noarch = limited.url, f"{login}/noarch"
    for secret in (token, revoked, invalid):
        requests.get(f"{base}/t/{secret}/conda/{noarch}/repodata.json")
        requests.get(f"{base}/conda/t/{secret}/{noarch}/{conda.name}")
        requests.get(f"{base}/t/{secret}/conda/{noarch}/no-such-file.tar.bz2")
        requests.get(f"{base}/pypi/t/{secret}/{login}/simple/hush/")
        requests.get(f"{base}/t/{secret}/pypi/{login}/simple/hush/{private.name}")
        requests.get(f"{base}/api/t/{secret}/package/{login}/hush")
        requests.delete(f"{base}/api/t/{secret}/package/{login}/nothing")
        requests.get(f"{base}/pypi/{login}/simple/hush/", auth=("__token__", secret))
        requests.get(f"{limited.api}/user", headers={"Authorization": f"token {secret}"})
        requests.get(f"{limited.api}/user", headers={"Authorization": f"Bearer {secret}"})
        requests.get(f"{limited.api}/no-such-route", headers={"X-API-Key": secret})
        requests.get(f"{base}/{login}/hush", headers={"Authorization": f"token {secret}"})
        requests.put(
            f"{limited.api}/upload/{login}/hush/2.0/x.csv",
            data=b"a\n",
            headers={"Authorization": f"token {secret}"},
        )
    session = requests.Session()
    xsrf = session.get(f"{base}/login").cookies["_xsrf"]
    assert (
        session.post(
            f"{base}/login", data={"username": login, "password": PASSWORD, "_xsrf": xsrf}
        ).status_code
        == 200
    )
    _secret(session.cookies["jupyter_repo_session"])
    assert session.get(f"{base}/account").status_code == 200
    password = _secret("a-Password-nobody-should-see-9")
    session.post(f"{base}/login", data={"username": login, "password": password, "_xsrf": xsrf})
    for login_attempt in (login, "nobody-at-all"):
        requests.post(f"{limited.api}/authentications", auth=(login_attempt, password))
        requests.get(
            f"{limited.api}/user",
            headers={
                "Authorization": "Basic "
                + base64.b64encode(f"{login}:{password}".encode()).decode()
            },
        )
    time.sleep(0.5)  # the log is unbuffered; let the last lines land

    log = limited.log_text()
    leaked = sorted({secret for secret in SECRETS if secret in log})
    assert not leaked, f"secrets in the server log: {leaked}"
    # The log is verbose (so the check above can fail): every request has an access line,
    # with the path as routed (the token taken out), and the database statements are there.
    assert re.search(rf"200 GET /conda/{noarch}/repodata.json \(127.0.0.1\)", log), log[-3000:]
    assert re.search(rf"401 GET /pypi/{login}/simple/hush/ \(127.0.0.1\)", log)
    assert "SELECT" in log
