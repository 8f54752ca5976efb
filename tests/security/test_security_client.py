"""Finding 7 (issue 15): the client sent a configured token to any ``--url``.

A local HTTP server on a free port (the "other" repository) records every request it gets;
the real ``jupyter repo`` CLI, the widgets' and the server extension's connection builders
and the client's redirect handling run against it with a token configured for the real
repository (``JUPYTER_REPO_URL``/``JUPYTER_REPO_TOKEN``, ``jupyter repo login``, a
configuration file, ``c.RepoExtension.token``). The other server must never see the token:
not in a header (also not Basic-encoded), not in the path, not in the query. Variants: same
host on another port, another path prefix, http against https, trailing slashes, ``/api``,
the host's case. The legitimate spellings of the same repository still get the token.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.config import CredentialStore, normalise_url, resolve
from jupyter_repo.client.install import index_with_credentials
from jupyter_repo.extension.connection import Connection as ExtensionConnection
from jupyter_repo.widgets.connection import Connection as WidgetConnection
from jupyter_repo.widgets.connection import TokenWithheld, connect
from tests.support import processes
from tests.support.recorder import RECORDER_TOKEN, Recorder, recording
from tests.support.server import RepoServer


@pytest.fixture
def other() -> Iterator[Recorder]:
    with recording() as recorder:
        yield recorder


@pytest.fixture
def token(server: RepoServer, user: str) -> str:
    return server.token(user, ["api:read"])


@pytest.fixture(autouse=True)
def _own_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's own settings stay out of the way (the widgets' builders read them)."""
    for name in ("JUPYTER_REPO_URL", "JUPYTER_REPO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "process-config"))


class CLI:
    """``python -m jupyter_repo`` with its own Jupyter config folder, no terminal."""

    def __init__(self, root: Path) -> None:
        self.config = root / "cli-config"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("JUPYTER_REPO_") and key != "PYTHONPATH"
        }
        self.env["JUPYTER_CONFIG_DIR"] = str(self.config)

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return processes.run(
            [sys.executable, "-m", "jupyter_repo", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )


# -- the CLI -----------------------------------------------------------------------------------


def test_finding_7_environment_token_is_not_sent_to_another_url(
    tmp_path: Path, server: RepoServer, user: str, token: str, other: Recorder
) -> None:
    cli = CLI(tmp_path)
    env = {"JUPYTER_REPO_URL": server.url, "JUPYTER_REPO_TOKEN": token}
    result = cli("whoami", "--url", other.url, **env)
    assert result.returncode == 1, result
    assert f"JUPYTER_REPO_TOKEN belongs to {server.url}; it is not sent to {other.url}" in (
        result.stderr
    )
    result = cli("search", "anything", "--url", other.url + "/", **env)  # anonymous requests
    assert result.returncode == 0, result.stderr
    assert other.requests and not other.saw(token)


@pytest.mark.parametrize(
    "spelling",
    ["{url}", "{url}/", "{url}/api", "{url}/api/", "HTTP://{host}"],
    ids=["plain", "slash", "api", "api-slash", "upper-case-scheme"],
)
def test_finding_7_environment_token_reaches_its_repository_however_spelled(
    tmp_path: Path, server: RepoServer, user: str, token: str, spelling: str
) -> None:
    cli = CLI(tmp_path)
    env = {"JUPYTER_REPO_URL": server.url, "JUPYTER_REPO_TOKEN": token}
    url = spelling.format(url=server.url, host=server.url.removeprefix("http://"))
    result = cli("whoami", "--url", url, **env)
    assert result.returncode == 0 and result.stdout.startswith(f"{user} "), result
    assert "Warning" not in result.stderr


def test_finding_7_saved_token_is_not_sent_to_another_url(
    tmp_path: Path, server: RepoServer, user: str, token: str, other: Recorder
) -> None:
    cli = CLI(tmp_path)
    assert cli("login", "--url", server.url, "--token", token).returncode == 0
    result = cli("whoami", "--url", other.url)
    assert result.returncode == 1 and "You are not logged in to" in result.stderr
    assert cli("search", "x", "--url", other.url).returncode == 0
    assert other.requests and not other.saw(token)
    # Logging in elsewhere and out again moves the saved default URL: still nothing sent.
    assert (
        cli(
            "login",
            "--url",
            other.url,
            "--username",
            "u",
            "--password",
            "p",
        ).returncode
        == 0
    )
    assert cli("logout").returncode == 0
    assert cli("search", "x", JUPYTER_REPO_TOKEN=token).returncode == 0
    assert not other.saw(token)
    assert cli("whoami", "--url", server.url).stdout.startswith(f"{user} ")


@pytest.mark.parametrize(
    "token_home, used",
    [
        ("{other}/repo-a", "{other}/repo-b"),  # another path prefix, same host and port
        ("{other}/repo-a", "{other}/repo-a/x"),  # a longer path is another repository too
        ("{other}/repo-a/x", "{other}/repo-a"),  # ... and a shorter one
        ("http://127.0.0.1:{free}", "{other}"),  # same host, another port
        ("https://127.0.0.1:{port}", "{other}"),  # https token, http URL
        ("http://localhost:{port}", "{other}"),  # another spelling of the host is another
    ],
)
def test_finding_7_variants_of_the_url_do_not_get_the_token(
    tmp_path: Path, other: Recorder, token_home: str, used: str
) -> None:
    from tests.support.net import free_port

    fill = {"other": other.url, "port": str(other.port), "free": str(free_port())}
    secret = "jr-variant-" + "v" * 40
    result = CLI(tmp_path)(
        "search",
        "x",
        "--url",
        used.format(**fill),
        JUPYTER_REPO_URL=token_home.format(**fill),
        JUPYTER_REPO_TOKEN=secret,
    )
    assert result.returncode == 0, result.stderr
    assert "it is not sent to" in result.stderr
    assert other.requests and not other.saw(secret)


@pytest.mark.parametrize(
    "token_home, used",
    [
        ("{other}/repo-a", "{other}/repo-a/"),
        ("{other}/repo-a/", "{other}/repo-a/api"),
        ("{other}/repo-a/api/", "{other}/repo-a"),
        ("http://LOCALHOST:{port}/repo-a", "http://localhost:{port}/repo-a/"),
        ("HTTP://127.0.0.1:{port}/repo-a", "http://127.0.0.1:{port}/repo-a"),
    ],
)
def test_finding_7_spellings_of_the_same_repository_get_the_token(
    tmp_path: Path, other: Recorder, token_home: str, used: str
) -> None:
    """The recorder stands in for the repository here: it must see the token."""
    fill = {"other": other.url, "port": str(other.port)}
    secret = "jr-same-" + "s" * 40
    result = CLI(tmp_path)(
        "whoami",
        "--url",
        used.format(**fill),
        JUPYTER_REPO_URL=token_home.format(**fill),
        JUPYTER_REPO_TOKEN=secret,
    )
    assert result.returncode == 0 and "Warning" not in result.stderr, result
    assert other.saw(secret)


def test_finding_7_configuration_file_token_stays_with_its_url(
    tmp_path: Path, other: Recorder
) -> None:
    cli = CLI(tmp_path)
    secret = "jr-file-" + "f" * 40
    cli.config.mkdir(parents=True)
    (cli.config / "jupyter_repo_config.py").write_text(
        f"c.ClientCommand.url = {other.url + '/repo-a'!r}\nc.ClientCommand.token = {secret!r}\n"
    )
    result = cli("search", "x", "--url", other.url + "/repo-b")
    assert result.returncode == 0 and "configuration file belongs to" in result.stderr, result
    result = cli("login", "--url", other.url + "/repo-b", "--username", "u", "--password", "p")
    assert result.returncode == 0, result.stderr
    assert not other.saw(secret)
    # Its own URL (from the file, or typed again) gets it.
    assert cli("whoami", "--url", other.url + "/repo-a/").returncode == 0
    assert other.saw(secret)


def test_finding_7_a_token_typed_with_the_url_goes_with_it(
    tmp_path: Path, server: RepoServer, token: str, other: Recorder
) -> None:
    """``--url X --token T`` together is the user's own pairing: sent (the legitimate case
    the rule must keep), while JUPYTER_REPO_TOKEN next to it is not."""
    typed = "jr-typed-" + "t" * 40
    result = CLI(tmp_path)(
        "whoami",
        "--url",
        other.url,
        "--token",
        typed,
        JUPYTER_REPO_URL=server.url,
        JUPYTER_REPO_TOKEN=token,
    )
    assert result.returncode == 0, result.stderr
    assert other.saw(typed) and not other.saw(token)


# -- the other builders: the widgets' and the server extension's -----------------------------


def test_finding_7_widgets_do_not_take_the_token_to_another_url(
    server: RepoServer, token: str, other: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_REPO_URL", server.url)
    monkeypatch.setenv("JUPYTER_REPO_TOKEN", token)
    with pytest.warns(TokenWithheld, match="it is not sent to"):
        client = connect(url=other.url)
    assert client.token is None
    client.search("x")
    with pytest.warns(TokenWithheld):
        WidgetConnection(url=other.url + "/api/").get().search("y")
    assert other.requests and not other.saw(token)
    # Without a URL of its own, the widget uses the configured repository and its token.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert connect().token == token and WidgetConnection().get().whoami()["login"]


def test_finding_7_extension_keeps_the_administrator_token_at_home(
    tmp_path: Path,
    server: RepoServer,
    user: str,
    token: str,
    other: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``c.RepoExtension.token`` (and JUPYTER_REPO_TOKEN) belong to ``c.RepoExtension.url``;
    a user logging in to another repository from Lab, then out again, never hands it over."""
    monkeypatch.setenv("JUPYTER_REPO_TOKEN", token)
    store = CredentialStore(tmp_path / "saved")
    connection = ExtensionConnection(url=server.url, token=token, store=store)
    assert connection.status()["user"]["login"] == user
    answer = connection.login(url=other.url, username="someone", password="pw")
    assert answer["connected"] and answer["user"]["login"] == "recorder"
    assert other.saw(RECORDER_TOKEN)
    connection.logout()
    with connection.client(need_token=False) as client:
        client.search("x")
    # A restarted server: the saved default URL is now the other one.
    restarted = ExtensionConnection(url="", token=token, store=store)
    assert restarted.credentials().url == other.url
    with restarted.client(need_token=False) as client:
        client.search("x")
    assert restarted.credentials().withheld
    assert not other.saw(token)


# -- redirects and package indexes -----------------------------------------------------------


def test_finding_7_redirects_out_of_the_repository_drop_the_token(other: Recorder) -> None:
    """The recorder plays both sides: the repository at ``/repo`` redirects to another
    port, another path prefix and back inside itself. Only the last keeps the token."""
    with recording() as elsewhere:
        other.redirects = {
            "/repo/api/search": elsewhere.url + "/api/search",
            "/repo/api/packages/a": other.url + "/other-repo/api/packages/a",
            "/repo/api/packages/b": other.url + "/repo/api/packages/c",
        }
        secret = "jr-redirect-" + "x" * 40
        with RepoClient(other.url + "/repo", secret) as client:
            client.search("x")
            client.packages("a")
            client.packages("b")
        assert elsewhere.requests and not elsewhere.saw(secret)
        paths = {request["path"].split("?")[0]: request["headers"] for request in other.requests}
        assert "Authorization" not in paths["/other-repo/api/packages/a"]
        assert paths["/repo/api/packages/c"]["Authorization"] == f"token {secret}"


INDEX_SECRET = "jr-index-" + "i" * 40
INDEX_REPOSITORY = "http://repo.example:8600/base"


def test_finding_7_the_repositorys_own_index_carries_the_token() -> None:
    repository = normalise_url(INDEX_REPOSITORY)
    inside = index_with_credentials(f"{repository}/pypi/ann/simple", INDEX_SECRET, repository)
    assert inside == (f"http://jupyter-repo:{INDEX_SECRET}@repo.example:8600/base/pypi/ann/simple")


@pytest.mark.parametrize(
    "index",
    [
        pytest.param("https://pypi.org/simple", id="pypi"),
        pytest.param("http://repo.example:8601/base/pypi/ann/simple", id="other-port"),
        pytest.param("http://repo.example:8600/other/pypi/ann/simple", id="other-path"),
        pytest.param("https://repo.example:8600/base/pypi/ann/simple", id="other-scheme"),
        pytest.param("http://repo.example:8600/base/../other/simple", id="dot-dot-out"),
    ],
)
def test_finding_7_no_other_index_carries_the_token(index: str) -> None:
    repository = normalise_url(INDEX_REPOSITORY)
    assert INDEX_SECRET not in index_with_credentials(index, INDEX_SECRET, repository)


ENV = {"JUPYTER_REPO_URL": "https://a.example/repo/", "JUPYTER_REPO_TOKEN": "jr-env"}


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        pytest.param(None, ENV, "jr-env", id="no-url-env-token"),
        pytest.param(
            "https://A.example:443/repo/api", ENV, "jr-env", id="env-url-spelled-otherwise"
        ),
        pytest.param("http://a.example/repo", ENV, None, id="other-scheme"),
        pytest.param("https://a.example:8443/repo", ENV, None, id="other-port"),
        pytest.param("https://a.example/repo2", ENV, None, id="other-path"),
        pytest.param("https://b.example/repo", ENV, None, id="other-host"),
        # An environment token that names no repository: the saved one for the saved default.
        pytest.param(
            None, {"JUPYTER_REPO_TOKEN": "jr-env"}, "jr-saved", id="env-token-without-url"
        ),
        pytest.param("https://b.example", {}, None, id="saved-other-host"),
        pytest.param("https://a.example/repo/", {}, "jr-saved", id="saved-own-url"),
    ],
)
def test_finding_7_resolve_binds_every_token_source(
    tmp_path: Path, url: str | None, environ: dict[str, str], expected: str | None
) -> None:
    """The rule in one table (the CLI, widgets and extension runs above use it)."""
    store = CredentialStore(tmp_path / "saved")
    store.save_token("https://a.example/repo", "jr-saved")
    store.set_default_url("https://a.example/repo")
    assert resolve(url, store=store, environ=environ).token == expected
