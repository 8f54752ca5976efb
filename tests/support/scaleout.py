"""The scaled-out tier: PostgreSQL + Swift (S3) + two server processes behind nginx.

``ScaledRepo`` offers the same interface as :class:`RepoServer` (``url``, ``api``, set-up
helpers, ``repo``), so the API, channel and anaconda-client suites run unchanged against it;
``processes`` gives direct access to each server process for cross-process tests.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.support import processes
from tests.support.net import wait_for_http
from tests.support.server import RepoServer
from tests.support.services import Nginx, PostgreSQL, Swift

S3_CLASS = "jupyter_repo.repository.storage.s3.S3Store"


def wait_for_static_indexes(server: RepoServer, *urls: str, timeout: float = 30) -> None:
    """Until nginx serves ``urls`` from the static index folder (no-op on other tiers).

    Right after a change the processes answer (the files are withdrawn) with their own
    ETags; nginx's are ``mtime-size``. A test that compares ETags across requests waits
    for the files first, as a client would get one 200 more when the source switches.
    """
    if getattr(server, "static_indexes", None) is None:
        return
    deadline = time.monotonic() + timeout
    for url in urls:
        while requests.get(url, timeout=30).headers.get("X-Served-By") != "static-index":
            assert time.monotonic() < deadline, f"nginx never served {url} from the folder"
            time.sleep(0.1)


class ScaledRepo(RepoServer):
    """Looks like one server (through nginx); is two processes sharing a database and bucket."""

    def __init__(self, root: Path, *, processes: int = 2, static_indexes: bool = True) -> None:
        super().__init__(root)
        self.process_count = processes
        #: The folder nginx serves public conda indexes from (docs/deploy.md), or ``None``.
        self.static_indexes: Path | None = root / "static-indexes" if static_indexes else None
        self.postgres: PostgreSQL | None = None
        self.swift: Swift | None = None
        self.nginx: Nginx | None = None
        self.processes: list[RepoServer] = []
        self.db_url = ""
        self.bucket = "jupyter-repo-test"

    def service_config(self) -> dict[str, Any]:
        assert self.swift is not None
        config = {
            "Repository.db_url": self.db_url,
            "Repository.storage_class": S3_CLASS,
            "S3Store.endpoint_url": self.swift.endpoint,
            "S3Store.bucket": self.bucket,
        }
        if self.static_indexes is not None:
            config["Repository.static_index_dir"] = str(self.static_indexes)
        return config

    def service_env(self) -> dict[str, str]:
        assert self.swift is not None
        return {
            "AWS_ACCESS_KEY_ID": self.swift.access_key,
            "AWS_SECRET_ACCESS_KEY": self.swift.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def repository_config(self) -> dict[str, Any]:
        assert self.swift is not None
        return {
            "Repository": {
                "db_url": self.db_url,
                "storage_class": S3_CLASS,
                "data_dir": str(self.root / "inprocess"),
                "auto_migrate": False,
                # Its commits withdraw the static files too, like an admin command's.
                "static_index_dir": str(self.static_indexes or ""),
            },
            "S3Store": {
                "endpoint_url": self.swift.endpoint,
                "bucket": self.bucket,
                "access_key_id": self.swift.access_key,
                "secret_access_key": self.swift.secret_key,
            },
        }

    def start(self) -> ScaledRepo:
        self.root.mkdir(parents=True, exist_ok=True)
        self.postgres = PostgreSQL().start()
        self.db_url = self.postgres.create_database("repo")
        self.swift = Swift().start()
        env = {**os.environ, **self.service_env()}
        processes.run(
            [sys.executable, "-m", "jupyter_repo", "migrate", f"--db-url={self.db_url}"],
            env=env,
            check=True,
            capture_output=True,
        )
        for index in range(self.process_count):
            # nginx runs on this machine: its X-Forwarded-For names the client (docs/deploy.md).
            config = {
                **self.service_config(),
                "ServeApp.trusted_proxies": "127.0.0.1",
                # The sweep rewrites files other programs' commits withdrew: soon, in tests.
                "ServeApp.static_index_sweep_interval": 1,
            }
            process = RepoServer(
                self.root / f"process{index}", config=config, env=self.service_env()
            )
            process.start()
            self.processes.append(process)
        self.nginx = Nginx(
            [f"127.0.0.1:{p.port}" for p in self.processes], static_indexes=self.static_indexes
        ).start()
        self.port = self.nginx.port
        self.url = self.nginx.url
        self.api = self.url + "/api"
        wait_for_http(self.api)
        return self

    def spool_count(self) -> int:
        return sum(process.spool_count() for process in self.processes)

    def log_text(self) -> str:
        return "\n".join(process.log_text() for process in self.processes)

    def rss(self) -> int:
        return max(process.rss() for process in self.processes if process.process)

    def stop(self, sig: int = 15) -> None:
        for process in self.processes:
            process.stop()

    def close(self) -> None:
        for process in self.processes:
            process.close()
        if self._repo is not None:
            self._repo.close()
        for service in (self.nginx, self.swift, self.postgres):
            if service is not None:
                service.stop()
