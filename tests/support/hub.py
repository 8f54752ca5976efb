"""A real JupyterHub (PyPI) with the real configurable-http-proxy (npm), the repository as
its managed service, DummyAuthenticator and local-process single-user servers, all on free
127.0.0.1 ports.

The hub's configuration is the block docs/deploy.md documents, its three variables filled
in, plus what only a test needs (ports, the proxy, the authenticator, the spawner). The
repository is reached as ``http://localhost:<port>`` and the hub as ``http://127.0.0.1:<port>``:
two hosts to a browser, so their cookies (both have an ``_xsrf``) never mix.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.support import processes
from tests.support.lab import QUIET_SETTINGS
from tests.support.net import free_port, wait_for_http
from tests.support.paths import ROOT

CHP = ROOT / ".cache" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
DOC = ROOT / "docs" / "deploy.md"
SERVICE = "jupyter-repo"


def documented_config() -> str:
    """The ``jupyterhub_config.py`` block of docs/deploy.md, as written there."""
    match = re.search(
        r"<!-- jupyterhub-config:start -->\n```python\n(.*?)```\n<!-- jupyterhub-config:end -->",
        DOC.read_text(),
        re.S,
    )
    assert match, "docs/deploy.md lost its jupyterhub-config block"
    return match.group(1)


def fill(config: str, **values: Any) -> str:
    """The documented block with its variables (``REPO_URL = ...``) set to ``values``."""
    for name, value in values.items():
        config, count = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", config, flags=re.M)
        assert count == 1, f"the documented config has no {name} to fill in"
    return config


class Hub:
    """``jupyterhub -f <config>`` in ``root``; users sign in with any password."""

    def __init__(
        self,
        root: Path,
        *,
        repo_config: dict[str, Any] | None = None,
        repo_config_file: str = "",
        hub_config: str = "",
    ) -> None:
        self.root = root
        self.port = free_port()
        self.hub_port = free_port()
        self.proxy_api_port = free_port()
        self.repo_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = f"http://127.0.0.1:{self.hub_port}/hub/api"
        self.repo_url = f"http://localhost:{self.repo_port}"
        self.admin_token = os.urandom(16).hex()
        self.repo_config = repo_config or {}
        self.repo_config_file = repo_config_file
        self.hub_config = hub_config
        self.log_path = root / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None

    def config_text(self) -> str:
        documented = fill(
            documented_config(),
            REPO_URL=self.repo_url,
            REPO_PORT=self.repo_port,
            REPO_DATA=str(self.root / "repo-data"),
        )
        settings = self.root / "lab-settings"
        for relative, values in QUIET_SETTINGS.items():
            target = settings / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        extra_repo_args = [f"--{key}={value}" for key, value in self.repo_config.items()]
        return (
            documented
            + f"""
# -- the test's own settings ------------------------------------------------------------
c.JupyterHub.services[0]["command"] = [
    "--ip=127.0.0.1" if arg.startswith("--ip=") else arg
    for arg in c.JupyterHub.services[0]["command"]
] + {extra_repo_args!r}
c.JupyterHub.services[0]["environment"] = {{
    "JUPYTER_CONFIG_DIR": {str(self.root / "repo-config")!r}
}}
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.public_url = {self.url!r}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api_port}"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"hubadmin"}}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.root / "homes" / "{username}")!r}
c.Spawner.cmd = [{sys.executable!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.args = ["--allow-root", "--LabApp.news_url=None",
                  "--LabApp.extension_manager=readonly",
                  "--LabApp.user_settings_dir={settings}"]
c.Spawner.environment = {{"JUPYTER_REPO_URL": "", "JUPYTER_REPO_TOKEN": ""}}
c.Spawner.http_timeout = 90
c.Spawner.start_timeout = 120
c.JupyterHub.db_url = "sqlite:///{self.root / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(self.root / "cookie_secret")!r}
c.ConfigurableHTTPProxy.pid_file = {str(self.root / "proxy.pid")!r}
c.JupyterHub.service_tokens = {{{self.admin_token!r}: "test-admin"}}
c.JupyterHub.services.append({{"name": "test-admin"}})
c.JupyterHub.load_roles.append(
    {{"name": "test-admin", "services": ["test-admin"], "scopes": ["admin:users",
      "admin:servers", "admin:groups", "tokens", "read:services", "access:services"]}}
)
"""
            + self.hub_config
        )

    def start(self) -> Hub:
        self.root.mkdir(parents=True, exist_ok=True)
        assert CHP.exists(), f"{CHP} is missing: ./scripts/test installs it (npm)"
        config = self.root / "jupyterhub_config.py"
        config.write_text(self.config_text())
        (self.root / "repo-config").mkdir(exist_ok=True)
        (self.root / "repo-config" / "jupyter_repo_config.py").write_text(self.repo_config_file)
        env = dict(os.environ)
        env.pop("JUPYTER_REPO_URL", None)
        env.pop("JUPYTER_REPO_TOKEN", None)
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept for the process's lifetime
        self.process = processes.popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_http(f"{self.repo_url}/api", timeout=120, process=self.process)
        # The proxy answers (404) before the hub has given it its routes.
        deadline = time.monotonic() + 120
        while requests.get(f"{self.url}/hub/api", timeout=10).status_code != 200:
            assert self.process.poll() is None, self.log_text()[-3000:]
            assert time.monotonic() < deadline, "the hub's proxy never routed /hub/"
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    # -- the hub's API as its administrator -----------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            self.api + path,
            headers={"Authorization": f"token {self.admin_token}"},
            timeout=60,
            **kwargs,
        )

    def add_user(self, name: str, groups: tuple[str, ...] = ()) -> None:
        answer = self.call("POST", f"/users/{name}")
        assert answer.status_code in (201, 409), answer.text
        for group in groups:
            self.call("POST", f"/groups/{group}")
            answer = self.call("POST", f"/groups/{group}/users", json={"users": [name]})
            assert answer.status_code == 200, answer.text

    def remove_user(self, name: str) -> None:
        self.call("DELETE", f"/users/{name}/server")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answer = self.call("DELETE", f"/users/{name}")
            if answer.status_code in (204, 404):
                return
            time.sleep(1)
        raise AssertionError(f"the hub did not remove {name}: {answer.text}")

    def server_token(self, name: str, scopes: list[str]) -> str:
        """A hub token of user ``name`` with ``scopes`` (what a server's token is like)."""
        answer = self.call(
            "POST",
            f"/users/{name}/tokens",
            json={"scopes": scopes, "note": "test", "expires_in": 3600},
        )
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["token"]
        return token


# -- a person with a browser-like session (requests: cookies, redirects) ------------------

_XSRF_FIELD = re.compile(r'name="_xsrf"\s+value="([^"]+)"')


def hub_login(http: requests.Session, hub: Hub, name: str) -> None:
    """Sign in to the hub's own login form (DummyAuthenticator takes any password)."""
    page = http.get(f"{hub.url}/hub/login", timeout=60)
    found = _XSRF_FIELD.search(page.text)
    assert found, page.text[:500]
    answer = http.post(
        f"{hub.url}/hub/login",
        data={"username": name, "password": "any password", "_xsrf": found.group(1)},
        allow_redirects=False,  # on to the user's server would start one
        timeout=60,
    )
    assert answer.status_code == 302, answer.text[:500]
    assert "jupyterhub-session-id" in {cookie.name for cookie in http.cookies}


def oauth_callback_url(
    http: requests.Session, hub: Hub, provider: str = "jupyterhub", next_path: str = "/account"
) -> str:
    """Start a repository sign-in and follow it through the hub up to (not into) the
    repository's callback: the URL the hub sends the browser back to."""
    answer = http.get(
        f"{hub.repo_url}/oauth/{provider}/login",
        params={"next": next_path},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 302, answer.text[:500]
    location = answer.headers["Location"]
    for _ in range(5):
        answer = http.get(location, allow_redirects=False, timeout=60)
        assert answer.status_code in (301, 302, 303), answer.text[:500]
        location = requests.compat.urljoin(location, answer.headers["Location"])
        if location.startswith(hub.repo_url):
            return location
    raise AssertionError(f"the hub never sent the browser back: {location}")


def web_sign_in(
    http: requests.Session, hub: Hub, name: str, provider: str = "jupyterhub"
) -> requests.Response:
    """A person signs in to the hub, then to the repository's pages through it."""
    hub_login(http, hub, name)
    callback = oauth_callback_url(http, hub, provider)
    return http.get(callback, timeout=60)
