"""Real infrastructure for the scaled-out tier, from Debian's packages, on free ports.

PostgreSQL (a throwaway cluster), OpenStack Swift with s3api (a real S3 server) and nginx
(the load balancer). Each starts in a temporary folder, binds 127.0.0.1 only, and is
stopped and removed by ``stop()``. The recipes follow the project's components notes.
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support import processes
from tests.support.net import free_port


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class PostgreSQL:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pgci.")))
    port: int = field(default_factory=free_port)

    @property
    def bin(self) -> Path:
        return Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])

    def url(self, database: str = "repo") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgreSQL:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        data = self.root / "data"
        processes.run(
            [
                *_as_postgres(),
                str(self.bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        processes.run(
            [
                *_as_postgres(),
                str(self.bin / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            check=True,
            capture_output=True,
        )
        return self

    def create_database(self, name: str) -> str:
        processes.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-qAt",
                "-c",
                f'CREATE DATABASE "{name}"',
            ],
            check=True,
            capture_output=True,
        )
        return self.url(name)

    def stop(self) -> None:
        processes.run(
            [
                *_as_postgres(),
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


SWIFT_PIPELINE = (
    "catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk "
    "tempurl s3api tempauth copy slo dlo proxy-logging proxy-server"
)


@dataclass
class Swift:
    """Single-node Swift with s3api + tempauth: access key ``test:tester``, secret ``testing``."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="swiftci.")))
    port: int = field(default_factory=free_port)
    access_key: str = "test:tester"
    secret_key: str = "testing"
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Swift:
        etc = self.root / "etc"
        (self.root / "node" / "d1").mkdir(parents=True)
        etc.mkdir()
        backend = [free_port() for _ in range(3)]
        user = getpass.getuser()
        (etc / "swift.conf").write_text(
            "[swift-hash]\n"
            f"swift_hash_path_suffix = {random.getrandbits(64)}\n"
            f"swift_hash_path_prefix = {random.getrandbits(64)}\n"
            "[storage-policy:0]\nname = gold\ndefault = yes\n"
        )
        rings = (
            "import sys\nfrom swift.common.ring import RingBuilder\n"
            "d = sys.argv[1]\nports = [int(p) for p in sys.argv[2:]]\n"
            "for t, p in zip(('object', 'container', 'account'), ports):\n"
            "    rb = RingBuilder(6, 1, 1)\n"
            "    rb.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1',"
            " 'port': p, 'device': 'd1', 'weight': 1})\n"
            "    rb.rebalance()\n    rb.get_ring().save(f'{d}/{t}.ring.gz')\n"
        )
        processes.run(
            ["/usr/bin/python3", "-c", rings, str(etc), *map(str, backend)],
            check=True,
            capture_output=True,
        )
        for kind, port in zip(("object", "container", "account"), backend, strict=True):
            (etc / f"{kind}-server.conf").write_text(
                f"[DEFAULT]\ndevices = {self.root / 'node'}\nmount_check = false\n"
                f"bind_ip = 127.0.0.1\nbind_port = {port}\nworkers = 0\nuser = {user}\n"
                f"swift_dir = {etc}\nlog_level = WARNING\n"
                f"[pipeline:main]\npipeline = {kind}-server\n"
                f"[app:{kind}-server]\nuse = egg:swift#{kind}\n"
            )
        filters = "".join(
            f"[filter:{name}]\nuse = egg:swift#{egg}\n"
            for name, egg in [
                ("catch_errors", "catch_errors"),
                ("gatekeeper", "gatekeeper"),
                ("healthcheck", "healthcheck"),
                ("proxy-logging", "proxy_logging"),
                ("listing_formats", "listing_formats"),
                ("bulk", "bulk"),
                ("tempurl", "tempurl"),
                ("copy", "copy"),
                ("slo", "slo"),
                ("dlo", "dlo"),
            ]
        )
        (etc / "proxy-server.conf").write_text(
            f"[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {self.port}\nworkers = 0\n"
            f"user = {user}\nswift_dir = {etc}\nlog_level = WARNING\n"
            f"[pipeline:main]\npipeline = {SWIFT_PIPELINE}\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
            "[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\n"
            "[filter:tempauth]\nuse = egg:swift#tempauth\n"
            f"user_test_tester = {self.secret_key} .admin\n"
            "[filter:cache]\nuse = egg:swift#memcache\n"
            f"memcache_servers = 127.0.0.1:{free_port()}\n" + filters
        )
        for kind in ("object", "container", "account", "proxy"):
            log = open(self.root / f"{kind}.log", "wb")  # noqa: SIM115 - lives with the process
            self.processes.append(
                processes.popen(
                    [f"/usr/bin/swift-{kind}-server", str(etc / f"{kind}-server.conf")],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.endpoint}/healthcheck", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError("Swift did not start in 90 s")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)


#: How a location passes requests to the processes (in both of docs/deploy.md's blocks).
PROXY_TO_REPO = (
    "    proxy_pass http://repo;\n"
    "    proxy_http_version 1.1;\n"
    '    proxy_set_header Connection "";\n'
    "    proxy_set_header Host $http_host;\n"
    "    proxy_set_header X-Real-IP $remote_addr;\n"
    "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
    "    proxy_set_header X-Forwarded-Proto $scheme;\n"
    "    proxy_next_upstream error timeout http_502;\n"
    "    proxy_next_upstream_tries 3;\n"
)


@dataclass
class Nginx:
    """nginx on 127.0.0.1 balancing over ``backends`` (host:port), streaming bodies."""

    backends: list[str]
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nginxci.")))
    port: int = field(default_factory=free_port)
    #: The servers' ``c.Repository.static_index_dir``: nginx serves public indexes from it.
    static_indexes: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def upstream_block(self) -> str:
        """The load-balancing part, shown verbatim in docs/deploy.md (a test checks it)."""
        servers = "".join(
            f"    server {backend} max_fails=1 fail_timeout=2s;\n" for backend in self.backends
        )
        return f"upstream repo {{\n    least_conn;\n{servers}    keepalive 32;\n}}\n"

    @staticmethod
    def location_block() -> str:
        """The proxying part, shown verbatim in docs/deploy.md (a test checks it)."""
        return (
            "client_max_body_size 0;\n"
            "proxy_request_buffering off;\n"
            "proxy_buffering off;\n"
            "proxy_read_timeout 3600s;\n"
            "location / {\n" + PROXY_TO_REPO + "}\n"
        )

    @staticmethod
    def static_map_block(static_indexes: str | Path) -> str:
        """Which folder index requests look in (http level; verbatim in docs/deploy.md):
        the static folder only for requests without credentials, else a missing one."""
        return (
            'map "$http_authorization$http_x_api_key" $repo_index_root {\n'
            f'    ""      {static_indexes};\n'
            "    default /nonexistent;\n"
            "}\n"
        )

    @staticmethod
    def static_location_block() -> str:
        """Public conda indexes from the folder, all else (and every miss) proxied
        (server level; verbatim in docs/deploy.md)."""
        return (
            "location ~ ^/conda/[^/]+/(label/[^/]+/)?[^/]+/"
            "(repodata\\.json|repodata\\.json\\.zst|repodata_shards\\.msgpack\\.zst"
            "|run_exports\\.json)$ {\n"
            "    root $repo_index_root;\n"
            "    try_files $uri @repo;\n"
            "    gzip_static on;\n"
            "    gzip_vary on;\n"
            "    etag on;\n"
            "    if_modified_since before;\n"
            "    types { application/json json; }\n"
            "    default_type application/octet-stream;\n"
            '    add_header Cache-Control "public, max-age=30";\n'
            "    add_header X-Served-By static-index;\n"
            "}\n"
            "location @repo {\n" + PROXY_TO_REPO + "}\n"
        )

    def config(self) -> str:
        user = "user root;\n" if os.geteuid() == 0 else ""
        indent = lambda text, n: "".join(" " * n + line + "\n" for line in text.splitlines())  # noqa: E731
        return (
            f"worker_processes 2; pid {self.root}/nginx.pid;\n"
            f"error_log {self.root}/error.log warn;\n"
            f"{user}events {{ worker_connections 1024; }}\n"
            "http {\n"
            f"  access_log {self.root}/access.log;\n"
            f"  client_body_temp_path {self.root}/body; proxy_temp_path {self.root}/proxy;\n"
            f"  fastcgi_temp_path {self.root}/fcgi; uwsgi_temp_path {self.root}/uwsgi;\n"
            f"  scgi_temp_path {self.root}/scgi;\n"
            + indent(self.upstream_block(), 2)
            + (indent(self.static_map_block(self.static_indexes), 2) if self.static_indexes else "")
            + f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            + indent(self.location_block(), 4)
            + (indent(self.static_location_block(), 4) if self.static_indexes else "")
            + "  }\n}\n"
        )

    def start(self) -> Nginx:
        conf = self.root / "nginx.conf"
        conf.write_text(self.config())
        processes.run(
            ["nginx", "-t", "-q", "-c", str(conf), "-p", str(self.root)],
            check=True,
            capture_output=True,
        )
        processes.run(
            ["nginx", "-c", str(conf), "-p", str(self.root)], check=True, capture_output=True
        )
        return self

    def stop(self) -> None:
        pid_file = self.root / "nginx.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGQUIT)
            time.sleep(0.2)
        shutil.rmtree(self.root, ignore_errors=True)
