"""A stale token (revoked, expired, unknown) with pip, uv, py-rattler and the anaconda CLI.

The chosen behaviour (issue 18): a refused token does not stop a public read; the caller gets
what anyone without a token gets, with a ``Warning`` header, and anything an anonymous
caller could not have (a private package, a missing one, anything needing an account) is a
401 that names the refused token. So installs of public packages keep working, private ones
fail with "401" rather than "not found", and ``anaconda login`` can replace the token.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import update

from jupyter_repo.repository.models import Account, Token, utcnow
from tests.indexes.test_conda_channels import run_rattler
from tests.indexes.test_pypi_index import BIN, _imports, _run, _venv
from tests.support import publish
from tests.support.anaconda import AnacondaCLI
from tests.support.server import PASSWORD, RepoServer


@dataclass
class Namespace:
    server: RepoServer
    owner: str
    stale: str  # a revoked token of the owner, which could read everything


def revoke_all_tokens(server: RepoServer, login: str) -> None:
    server.call(
        lambda session: session.execute(
            update(Token)
            .where(Token.user_id == Account.id, Account.login == login)
            .values(revoked_at=utcnow())
        )
    )


@pytest.fixture(scope="module")
def namespace(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Namespace:
    owner = server.create_user(f"st{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    work = tmp_path_factory.mktemp("stale")
    publish.wheel(server, token, owner, work, "open-lib", "1.0")
    publish.wheel(server, token, owner, work, "hidden-lib", "1.0", private=True)
    publish.conda(server, token, owner, work, "open-tool", "1.0")
    publish.conda(server, token, owner, work, "hidden-tool", "1.0", private=True)
    stale = server.token(owner, ["all"], name="to-revoke")
    revoke_all_tokens(server, owner)
    return Namespace(server, owner, stale)


def _credentials(url: str, token: str) -> str:
    return url.replace("http://", f"http://__token__:{token}@")


def test_http_answers_to_a_stale_token(namespace: Namespace) -> None:
    """Public reads: the anonymous answer, privately cached, with a warning. Private and
    missing alike: 401 naming the token (never a difference between the two)."""
    server, owner, stale = namespace.server, namespace.owner, namespace.stale
    headers = {"Authorization": f"token {stale}"}
    simple = requests.get(f"{server.url}/pypi/{owner}/simple/", headers=headers, timeout=30)
    assert simple.status_code == 200 and "open-lib/" in simple.text
    assert "hidden-lib" not in simple.text
    assert "invalid, expired or revoked" in simple.headers["Warning"]
    assert simple.headers["Cache-Control"].startswith("private")
    private = requests.get(
        f"{server.url}/pypi/{owner}/simple/hidden-lib/", headers=headers, timeout=30
    )
    missing = requests.get(
        f"{server.url}/pypi/{owner}/simple/no-such-lib/", headers=headers, timeout=30
    )
    assert private.status_code == missing.status_code == 401
    assert private.json() == missing.json()
    assert "invalid, expired or revoked" in private.json()["error"]
    assert "Warning" in private.headers and "WWW-Authenticate" in private.headers
    me = requests.get(f"{server.api}/user", headers=headers, timeout=30)
    assert me.status_code == 401 and "invalid, expired or revoked" in me.json()["error"]


def test_pip_installs_public_packages_and_names_the_token_for_private_ones(
    namespace: Namespace, tmp_path: Path
) -> None:
    python = _venv(tmp_path / "venv")
    index = _credentials(f"{namespace.server.url}/pypi/{namespace.owner}/simple", namespace.stale)
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-cache-dir"]
    public = _run([*pip, "--no-input", "--index-url", index, "open-lib"])
    assert public.returncode == 0, public.stdout + public.stderr
    assert _imports(python, "import open_lib; print(open_lib.__version__)") == "1.0"
    private = _run([*pip, "--no-input", "--index-url", index, "hidden-lib"])
    assert private.returncode != 0
    assert "401" in private.stdout + private.stderr


def test_uv_installs_public_packages_and_names_the_token_for_private_ones(
    namespace: Namespace, tmp_path: Path
) -> None:
    uv = str(BIN / "uv")
    venv = tmp_path / "uvenv"
    _run([uv, "venv", "--python", sys.executable, str(venv)]).check_returncode()
    install = [uv, "pip", "install", "--python", str(venv / "bin" / "python"), "--no-cache"]
    server, owner, stale = namespace.server, namespace.owner, namespace.stale
    for index in (
        _credentials(f"{server.url}/pypi/{owner}/simple", stale),
        f"{server.url}/pypi/t/{stale}/{owner}/simple",
    ):
        public = _run([*install, "--index-url", index, "open-lib"])
        assert public.returncode == 0, public.stderr
        private = _run([*install, "--index-url", index, "hidden-lib"])
        assert private.returncode != 0
        assert "401" in private.stderr, private.stderr


def test_rattler_installs_public_packages_with_a_stale_token(
    namespace: Namespace, tmp_path: Path
) -> None:
    server, owner, stale = namespace.server, namespace.owner, namespace.stale
    channel = f"{server.url}/t/{stale}/conda/{owner}"
    public, private = run_rattler(
        [
            {"channels": [channel], "specs": ["open-tool"], "prefix": str(tmp_path / "a")},
            {
                "channels": [channel],
                "specs": ["hidden-tool"],
                "prefix": str(tmp_path / "b"),
                "sharded": False,
            },
        ],
        tmp_path / "cache",
    )
    assert public["ok"], public
    assert public["installed"] == {"open-tool": "1.0"}
    assert not private["ok"] and "hidden-tool" in private["error"]


def test_anaconda_cli_logs_in_again_over_a_stale_token(
    server: RepoServer, anaconda: AnacondaCLI, user: str
) -> None:
    anaconda.login(user, PASSWORD)
    assert f"Username: {user}" in anaconda.ok("org", "whoami").output
    revoke_all_tokens(server, user)

    # Public reads work; what needs the account says why it cannot.
    assert anaconda("search", "anything").returncode == 0
    whoami = anaconda("org", "whoami")
    assert f"Username: {user}" not in whoami.output
    assert "invalid, expired or revoked" in whoami.output or "Anonymous" in whoami.output

    # The stale token, still saved, does not stand in the way of a new login.
    result = anaconda.login(user, PASSWORD)
    assert "login successful" in result.output
    assert f"Username: {user}" in anaconda.ok("org", "whoami").output
