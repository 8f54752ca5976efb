"""A real repository server in a subprocess, plus in-process access to its database.

Set-up steps that are not under test (creating users, organizations, tokens) go through
the repository's services directly, against the same database; everything under test goes
through HTTP and real clients.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests

from jupyter_repo.repository import security
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import accounts, orgs, tokens
from tests.support import processes
from tests.support.net import free_port, wait_for_http

PASSWORD = "correct-horse-battery"


@functools.cache
def password_hash(password: str) -> str:
    """One real Argon2id hash per password for the whole run.

    A hash costs ~0.2 s of CPU by design, and the suite creates well over a thousand users
    as set-up; sharing the (salted, valid) hash keeps every login through the server real.
    """
    return security.hash_password(password)


class RepoServer:
    """One ``jupyter repo serve`` process with its own data folder."""

    def __init__(
        self,
        root: Path,
        *,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.root = root
        self.data_dir = data_dir or root / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.url + "/api"
        self.extra_args = extra_args or []
        self.env = env or {}
        self.config = config or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._repo: Repository | None = None
        self.log_path = root / "server.log"

    # -- process ---------------------------------------------------------------------------

    def command(self) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "jupyter_repo",
            "serve",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            f"--Repository.data_dir={self.data_dir}",
        ]
        for key, value in self.config.items():
            args.append(f"--{key}={value}")
        return args + self.extra_args

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "JUPYTER_CONFIG_DIR": str(self.root / "config"),
                "JUPYTER_DATA_DIR": str(self.root / "jupyter-data"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.env)
        return env

    def start(self) -> RepoServer:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept for the process's lifetime
        self.process = processes.popen(
            self.command(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT
        )
        wait_for_http(self.api, process=self.process)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def rss(self) -> int:
        assert self.process is not None
        return psutil.Process(self.process.pid).memory_info().rss

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    # -- direct access for set-up ----------------------------------------------------------

    def spool_count(self) -> int:
        """Uploads in progress (or left behind) in this process's spool folder."""
        spool_dir = self.data_dir / "tmp"
        return len(list(spool_dir.glob("*.part"))) if spool_dir.is_dir() else 0

    def repository_config(self) -> dict[str, Any]:
        """Traitlets config for an in-process Repository on the same database and store."""
        return {"Repository": {"data_dir": str(self.data_dir), "auto_migrate": False}}

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            from traitlets.config import Config

            self._repo = Repository(config=Config(self.repository_config()))
        return self._repo

    def call(self, function: Any, *args: Any, write: bool = True, **kwargs: Any) -> Any:
        return self.repo.call(function, *args, write=write, **kwargs)

    def create_user(self, login: str, password: str = PASSWORD) -> str:
        hashed = password_hash(password)

        def create(session: Any) -> None:
            account = accounts.create_user(session, login, None, name=login.title())
            account.password_hash = hashed

        self.call(create)
        return login

    def create_org(self, login: str, owner: str) -> str:
        self.call(lambda s: accounts.create_org(s, login, accounts.get_user(s, owner)))
        return login

    def actor(self, login: str) -> Actor:
        return self.call(
            lambda s: accounts.password_actor(accounts.get_user(s, login)), write=False
        )

    def add_to_group(
        self, org: str, group: str, login: str, permission: str = "read", as_user: str | None = None
    ) -> None:
        owner = self.actor(as_user) if as_user else self._org_owner(org)
        self.call(orgs.create_group, owner, org, group, permission)
        self.call(orgs.add_member, owner, org, group, login)

    def grant(self, org: str, group: str, package: str) -> None:
        self.call(orgs.add_package, self._org_owner(org), org, group, package)

    def _org_owner(self, org: str) -> Actor:
        members = self.call(
            lambda s: [
                u.login
                for u in orgs.members(
                    s, Actor(user_id=-1, is_site_admin=True, cap=3), org, accounts.OWNERS_GROUP
                )
            ],
            write=False,
        )
        return self.actor(members[0])

    def token(self, login: str, scopes: list[str] | None = None, **kwargs: Any) -> str:
        actor = self.actor(login)
        kwargs.setdefault("name", f"test-{len(scopes or [])}-{os.urandom(4).hex()}")
        _row, secret = self.call(tokens.create_token, actor, scopes=scopes or ["all"], **kwargs)
        return secret

    def session(self, token: str | None = None) -> requests.Session:
        session = requests.Session()
        if token:
            session.headers["Authorization"] = f"token {token}"
        return session

    def close(self) -> None:
        self.stop()
        if self._repo is not None:
            self._repo.close()


@contextmanager
def running_server(root: Path, **kwargs: Any) -> Iterator[RepoServer]:
    server = RepoServer(root, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.close()
