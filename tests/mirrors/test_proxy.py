"""Pull-through proxies of a conda channel and a PyPI index (issue 19, acceptance 2).

The upstreams are real and none of them is this project: a static conda channel indexed by
py-rattler's own indexer, and a static PEP 503 tree of wheels, each served by Python's
``http.server`` on 127.0.0.1. The proxy is a namespace of a real server
(``jupyter repo mirror add ... --proxy``); the clients are py-rattler, pip and uv. The first
install pulls through; then the upstream is stopped and the same install works from what the
proxy stored, also after the index TTL has passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import File, UpstreamDocument
from tests.support import processes
from tests.support.environments import pip_environment
from tests.support.net import free_port, wait_for_http
from tests.support.server import RepoServer

ROOT = Path(__file__).resolve().parents[2]
#: How often the server re-reads the list of proxies (short, so a test's proxy is seen soon).
REFRESH = 0.3


class StaticUpstream:
    """``python -m http.server`` over a folder: a plain file server, as upstreams often are.

    Its request log (stderr) says which paths were fetched, and how often.
    """

    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> StaticUpstream:
        handle = open(self.log, "ab")  # noqa: SIM115 - kept for the process's lifetime
        self.process = processes.popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1"],
            cwd=self.root,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        wait_for_http(self.url + "/", process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def requests_for(self, path: str) -> int:
        """How many GETs of ``path`` (exactly) the upstream answered."""
        pattern = re.compile(rf'"GET {re.escape(path)} HTTP/1\.[01]"')
        return len(pattern.findall(self.log.read_text(errors="replace")))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoServer]:
    root = tmp_path_factory.mktemp("proxy-server")
    repo_server = RepoServer(root, config={"Proxies.refresh_seconds": REFRESH})
    repo_server.start()
    try:
        yield repo_server
    finally:
        repo_server.close()


@pytest.fixture
def upstream_dir(tmp_path: Path) -> Path:
    return tmp_path / "upstream"


@pytest.fixture
def upstream(upstream_dir: Path, tmp_path: Path) -> Iterator[StaticUpstream]:
    upstream_dir.mkdir(parents=True, exist_ok=True)
    static = StaticUpstream(upstream_dir, tmp_path / "upstream.log").start()
    try:
        yield static
    finally:
        static.stop()


def mirror_cli(server: RepoServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(server.root / "config")}
    return processes.run(
        [sys.executable, "-m", "jupyter_repo", "mirror", *args, f"--data-dir={server.data_dir}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_proxy(
    server: RepoServer, owner: str, kind: str, upstream_url: str, *extra: str, ttl: int = 0
) -> None:
    server.create_user(owner)
    added = mirror_cli(
        server,
        "add",
        owner,
        f"{kind}-proxy",
        f"--kind={kind}",
        "--proxy",
        f"--upstream={upstream_url}",
        f"--index-ttl={ttl}",
        *extra,
    )
    assert added.returncode == 0, added.stderr
    time.sleep(REFRESH * 3)  # the server re-reads its proxies every REFRESH seconds


def stored_files(server: RepoServer, owner: str) -> list[tuple[str, int | None, str | None]]:
    """(basename, origin mirror, origin URL) of every file stored in ``owner``'s namespace."""
    from jupyter_repo.repository.models import Account, Package

    def query(session: object) -> list[tuple[str, int | None, str | None]]:
        rows = session.execute(  # type: ignore[attr-defined]
            select(File.basename, File.origin_mirror_id, File.origin_url)
            .join(Package, Package.id == File.package_id)
            .join(Account, Account.id == Package.owner_id)
            .where(Account.login == owner)
            .order_by(File.basename)
        ).all()
        return [tuple(row) for row in rows]

    return server.call(query, write=False)


# -- conda ------------------------------------------------------------------------------------


def build_channel(directory: Path) -> dict[str, Path]:
    """A channel of three packages (both archive formats), indexed by py-rattler."""
    files = {
        "pxa": builders.conda_package(
            directory / "noarch", "pxa", "1.0", depends=["pxb >=2"], summary="proxy A"
        ),
        "pxb-1": builders.conda_package(directory / "noarch", "pxb", "1.0", fmt=".tar.bz2"),
        "pxb-2": builders.conda_package(directory / "noarch", "pxb", "2.0"),
    }
    # In its own process: py-rattler may crash at interpreter exit, after its work is done.
    script = (
        "import asyncio, sys\n"
        "from rattler.index import index_fs\n"
        "asyncio.run(index_fs(sys.argv[1], write_zst=False, write_shards=False))\n"
    )
    processes.run([sys.executable, "-c", script, str(directory)], timeout=120)
    assert (directory / "noarch" / "repodata.json").is_file()
    return files


def run_rattler(channel: str, specs: list[str], prefix: Path, cache: Path) -> dict:
    """py-rattler in its own process (it may crash at exit; judged by its JSON line), with
    its own caches: nothing comes from an earlier run's copy."""
    job = json.dumps(
        {
            "cases": [{"channels": [channel], "specs": specs, "prefix": str(prefix)}],
            "cache": str(cache),
        }
    )
    process = processes.run(
        [sys.executable, "-m", "tests.support.rattler_client", job],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])[0]
    raise AssertionError(f"py-rattler printed no result:\n{process.stdout}\n{process.stderr}")


def installed_records(prefix: Path) -> set[str]:
    return {path.stem for path in (prefix / "conda-meta").glob("*.json")}


def test_conda_proxy_pulls_through_then_installs_with_the_upstream_stopped(
    server: RepoServer, upstream: StaticUpstream, upstream_dir: Path, tmp_path: Path
) -> None:
    build_channel(upstream_dir)
    add_proxy(server, "condaproxy", "conda", upstream.url)
    channel = f"{server.url}/conda/condaproxy"

    first = run_rattler(channel, ["pxa"], tmp_path / "first", tmp_path / "cache-1")
    assert first["ok"], first
    assert first["installed"] == {"pxa": "1.0", "pxb": "2.0"}
    assert all(url.startswith(channel + "/noarch/") for url in first["urls"])
    assert installed_records(tmp_path / "first") == {"pxa-1.0-0", "pxb-2.0-0"}
    assert upstream.requests_for("/noarch/pxa-1.0-0.conda") == 1
    mirror_id = stored_files(server, "condaproxy")[0][1]
    assert stored_files(server, "condaproxy") == [
        ("noarch/pxa-1.0-0.conda", mirror_id, f"{upstream.url}/noarch/pxa-1.0-0.conda"),
        ("noarch/pxb-2.0-0.conda", mirror_id, f"{upstream.url}/noarch/pxb-2.0-0.conda"),
    ]
    # The compressed and sharded variants are "not offered": rattler fell back to the JSON.
    assert requests.get(f"{channel}/noarch/repodata.json.zst", timeout=10).status_code == 404
    assert (
        requests.get(f"{channel}/noarch/repodata_shards.msgpack.zst", timeout=10).status_code == 404
    )

    upstream.stop()
    time.sleep(1.1)  # past the index TTL (0 s) by any clock's resolution

    again = run_rattler(channel, ["pxa"], tmp_path / "again", tmp_path / "cache-2")
    assert again["ok"], again
    assert installed_records(tmp_path / "again") == {"pxa-1.0-0", "pxb-2.0-0"}
    stale = requests.get(f"{channel}/noarch/repodata.json", timeout=10)
    assert stale.status_code == 200
    assert "Stale" in stale.headers["Warning"]
    assert "pxb-1.0-0.tar.bz2" in stale.json()["packages"]
    assert "serving the copy fetched at" in server.log_text()
    # A file never fetched cannot come from a stopped upstream: a clear 502, nothing stored.
    missing = requests.get(f"{channel}/noarch/pxb-1.0-0.tar.bz2", timeout=30)
    assert missing.status_code == 502
    assert f"127.0.0.1:{upstream.port}" in missing.json()["error"]
    assert len(stored_files(server, "condaproxy")) == 2


def test_concurrent_first_requests_fetch_a_file_once(
    server: RepoServer, upstream: StaticUpstream, upstream_dir: Path
) -> None:
    files = build_channel(upstream_dir)
    add_proxy(server, "concurrent", "conda", upstream.url)
    url = f"{server.url}/conda/concurrent/noarch/pxb-1.0-0.tar.bz2"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.get(url, timeout=60), range(8)))
    expected = files["pxb-1"].read_bytes()
    assert [answer.status_code for answer in answers] == [200] * 8
    assert all(answer.content == expected for answer in answers)
    assert upstream.requests_for("/noarch/pxb-1.0-0.tar.bz2") == 1
    assert [row[0] for row in stored_files(server, "concurrent")] == ["noarch/pxb-1.0-0.tar.bz2"]


def test_index_documents_are_reused_for_the_ttl_then_revalidated(
    server: RepoServer, upstream: StaticUpstream, upstream_dir: Path
) -> None:
    build_channel(upstream_dir)
    add_proxy(server, "ttlproxy", "conda", upstream.url, ttl=2)
    url = f"{server.url}/conda/ttlproxy/noarch/repodata.json"
    first = requests.get(url, timeout=30)
    assert requests.get(url, timeout=30).content == first.content
    assert upstream.requests_for("/noarch/repodata.json") == 1  # within the TTL: no request
    time.sleep(2.5)
    assert requests.get(url, timeout=30).content == first.content
    log = upstream.log.read_text()
    assert log.count('"GET /noarch/repodata.json HTTP/1.1" 304') == 1  # revalidated
    assert cached_documents_of(server, "ttlproxy") == 1

    builders.conda_package(upstream_dir / "noarch", "pxc", "1.0")
    time.sleep(1.1)  # a later modification time than the copy's
    build_channel(upstream_dir)
    time.sleep(2.5)
    changed = requests.get(url, timeout=30).json()
    assert "pxc-1.0-0.conda" in changed["packages.conda"]
    assert cached_documents_of(server, "ttlproxy") == 1  # replaced, not added


def test_every_server_process_shares_the_proxy_cache(
    server: RepoServer, upstream: StaticUpstream, upstream_dir: Path, tmp_path: Path
) -> None:
    """Behind a load balancer: what one process fetched, another serves with the upstream
    down (the cache is the database and the blob store, not a process's memory)."""
    files = build_channel(upstream_dir)
    add_proxy(server, "sharedcache", "conda", upstream.url)
    channel = "/conda/sharedcache/noarch/"
    assert requests.get(server.url + channel + "repodata.json", timeout=30).status_code == 200
    fetched = requests.get(server.url + channel + files["pxb-2"].name, timeout=30)
    assert fetched.status_code == 200
    upstream.stop()
    other = RepoServer(
        tmp_path / "other", data_dir=server.data_dir, config={"Proxies.refresh_seconds": REFRESH}
    )
    other.start()
    try:
        repodata = requests.get(other.url + channel + "repodata.json", timeout=30)
        assert repodata.status_code == 200 and "Stale" in repodata.headers["Warning"]
        again = requests.get(other.url + channel + files["pxb-2"].name, timeout=30)
        assert again.status_code == 200 and again.content == fetched.content
    finally:
        other.close()


def cached_documents_of(server: RepoServer, owner: str) -> int:
    from jupyter_repo.repository.models import Account, Mirror

    return server.call(
        lambda s: s.scalar(
            select(func.count())
            .select_from(UpstreamDocument)
            .join(Mirror, Mirror.id == UpstreamDocument.mirror_id)
            .join(Account, Account.id == Mirror.owner_id)
            .where(Account.login == owner)
        ),
        write=False,
    )


# -- PyPI -------------------------------------------------------------------------------------


def write_simple_tree(root: Path, wheels: list[Path], project: str) -> None:
    """A static PEP 503 index: ``simple/`` and ``simple/<project>/`` linking ``files/``."""
    (root / "files").mkdir(parents=True, exist_ok=True)
    links = []
    for wheel in wheels:
        shutil.copy(wheel, root / "files" / wheel.name)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        links.append(f'<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a><br>')
    (root / "simple" / project).mkdir(parents=True, exist_ok=True)
    (root / "simple" / "index.html").write_text(
        f'<html><body><a href="{project}/">{project}</a></body></html>\n'
    )
    (root / "simple" / project / "index.html").write_text(
        "<html><body>\n" + "\n".join(links) + "\n</body></html>\n"
    )


def pip_install(index: str, target: Path, spec: str) -> subprocess.CompletedProcess[str]:
    return processes.run(
        [
            sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-deps",
            f"--index-url={index}", f"--target={target}", spec,
        ],
        env=pip_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


def uv_install(index: str, target: Path, spec: str) -> subprocess.CompletedProcess[str]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv is not None, "uv is a test dependency"
    env = {k: v for k, v in pip_environment().items() if not k.startswith("UV_")}
    return processes.run(
        [
            uv, "pip", "install", "--no-cache", "--no-deps", f"--python={sys.executable}",
            f"--index-url={index}", f"--target={target}", spec,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


def test_pypi_proxy_pulls_through_then_pip_and_uv_install_with_the_upstream_stopped(
    server: RepoServer, upstream: StaticUpstream, upstream_dir: Path, tmp_path: Path
) -> None:
    wheels = [builders.wheel(tmp_path / "wheels", "pxwheel", version) for version in ("1.0", "2.0")]
    write_simple_tree(upstream_dir, wheels, "pxwheel")
    add_proxy(server, "pypiproxy", "pypi", f"{upstream.url}/simple/")
    index = f"{server.url}/pypi/pypiproxy/simple/"

    page = requests.get(index + "pxwheel/", timeout=30)
    assert page.status_code == 200, page.text
    assert 'href="pxwheel-2.0-py3-none-any.whl#sha256=' in page.text
    assert upstream.url not in page.text  # every file link leads to this server
    as_json = requests.get(
        index + "PXWheel/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=30
    )
    assert as_json.status_code == 200
    assert [item["url"] for item in as_json.json()["files"]] == [w.name for w in wheels]

    first = pip_install(index, tmp_path / "pip-1", "pxwheel==2.0")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "pip-1" / "pxwheel" / "__init__.py").read_text().count('"2.0"') == 1
    assert upstream.requests_for("/files/pxwheel-2.0-py3-none-any.whl") == 1
    assert [row[0] for row in stored_files(server, "pypiproxy")] == ["pxwheel-2.0-py3-none-any.whl"]

    upstream.stop()
    time.sleep(1.1)

    again = pip_install(index, tmp_path / "pip-2", "pxwheel==2.0")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "pip-2" / "pxwheel" / "__init__.py").is_file()
    by_uv = uv_install(index, tmp_path / "uv", "pxwheel==2.0")
    assert by_uv.returncode == 0, by_uv.stderr
    assert (tmp_path / "uv" / "pxwheel" / "__init__.py").is_file()
    # 1.0 was never fetched: with the upstream down it cannot be had, and pip says so.
    older = pip_install(index, tmp_path / "pip-3", "pxwheel==1.0")
    assert older.returncode != 0
    assert len(stored_files(server, "pypiproxy")) == 1


def test_a_proxy_of_another_jupyter_repo_reads_its_private_pep691_index_with_a_token(
    server: RepoServer, tmp_path: Path
) -> None:
    """The upstream speaks PEP 691 JSON (this project's own index, another namespace, a
    private project reached with a token in the upstream URL, which never shows)."""
    from tests.support import publish

    server.create_user("origin")
    write_token = server.token("origin", ["api:write"])
    wheel = publish.wheel(
        server, write_token, "origin", tmp_path / "w", "pxprivate", "1.0", private=True
    )
    read_token = server.token("origin", ["pypi:download"])
    add_proxy(server, "viajson", "pypi", f"{server.url}/t/{read_token}/pypi/origin/simple/")
    index = f"{server.url}/pypi/viajson/simple/"
    installed = pip_install(index, tmp_path / "pip", "pxprivate==1.0")
    assert installed.returncode == 0, installed.stderr
    assert (tmp_path / "pip" / "pxprivate" / "__init__.py").is_file()
    [(basename, _mirror, origin)] = stored_files(server, "viajson")
    assert basename == wheel.name
    assert read_token not in origin and origin.endswith(f"/pypi/origin/simple/pxprivate/{basename}")
    listing = mirror_cli(server, "list", "viajson", "--json")
    assert read_token not in listing.stdout and "/t/***/" in listing.stdout


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("conda", "/conda/{owner}/noarch/repodata.json"),
        ("conda", "/conda/{owner}/linux-64/somepkg-1.0-0.conda"),
        ("pypi", "/pypi/{owner}/simple/somepkg/"),
        ("pypi", "/pypi/{owner}/simple/somepkg/somepkg-1.0-py3-none-any.whl"),
        ("pypi", "/pypi/{owner}/simple/"),
    ],
    ids=["repodata", "conda-file", "project-page", "pypi-file", "pypi-root"],
)
def test_upstream_down_with_nothing_cached_is_a_502_naming_it(
    server: RepoServer, kind: str, path: str
) -> None:
    owner = f"down{kind}{abs(hash(path)) % 10_000}"
    dead = f"http://user:s3cret@127.0.0.1:{free_port()}/t/jr-0123456789abcdef01/"
    add_proxy(server, owner, kind, dead)
    answer = requests.get(server.url + path.format(owner=owner), timeout=60)
    assert answer.status_code == 502
    message = answer.json()["error"]
    assert "upstream" in message and "127.0.0.1" in message and "cannot be reached" in message
    assert "s3cret" not in message and "jr-0123" not in message
    assert stored_files(server, owner) == []


HOSTILE_CONDA_NAMES = [
    "../../evil-1.0-0.conda",
    "..%2F..%2Fevil-1.0-0.conda",
    "noarch/evil-1.0-0.conda",
    "evil-1.0-0.conda\n.txt",
    "evil-1.0-0.conda/",
    ".evil-1.0-0.conda",
]


def test_hostile_upstream_names_are_refused(
    server: RepoServer, upstream: StaticUpstream, upstream_dir: Path, tmp_path: Path
) -> None:
    # conda: records under unsafe names, next to one good record.
    build_channel(upstream_dir)
    repodata_path = upstream_dir / "noarch" / "repodata.json"
    repodata = json.loads(repodata_path.read_text())
    good = repodata["packages.conda"]["pxa-1.0-0.conda"]
    for name in HOSTILE_CONDA_NAMES:
        repodata["packages.conda"][name] = {**good, "name": "evil"}
    repodata["packages.conda"]["pxb-9.0-0.conda"] = {**good, "name": "pxb", "sha256": "zz"}
    repodata["info"]["base_url"] = "http://elsewhere.example/"
    repodata_path.write_text(json.dumps(repodata))
    add_proxy(server, "hostileconda", "conda", upstream.url)
    channel = f"{server.url}/conda/hostileconda/noarch"
    served = requests.get(f"{channel}/repodata.json", timeout=30).json()
    assert set(served["packages.conda"]) == {"pxa-1.0-0.conda", "pxb-2.0-0.conda"}
    assert "base_url" not in served.get("info", {})
    for name in ["..%2F..%2Fevil-1.0-0.conda", "evil-1.0-0.conda", "pxb-9.0-0.conda"]:
        assert requests.get(f"{channel}/{name}", timeout=30).status_code == 404
    assert "dropped" in server.log_text()

    # PyPI: links whose names or URLs are unsafe.
    wheel = builders.wheel(tmp_path / "wheels", "pxhostile", "1.0")
    write_simple_tree(upstream_dir, [wheel], "pxhostile")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    page = upstream_dir / "simple" / "pxhostile" / "index.html"
    page.write_text(
        page.read_text().replace(
            "</body>",
            f'<a href="../../files/x.whl#sha256={digest}">../../pxhostile-2.0-py3-none-any.whl</a>'
            f'<a href="file:///etc/passwd#sha256={digest}">pxhostile-3.0-py3-none-any.whl</a>'
            f'<a href="../../files/{wheel.name}">pxhostile-4.0-py3-none-any.whl</a>'
            f'<a href="../../files/{wheel.name}#sha256={digest}">'
            "pxhostile-5.0-py3-none-any.whl</a>"
            f'<a href="../../files/o-1.0-py3-none-any.whl#sha256={digest}">'
            "o-1.0-py3-none-any.whl</a>"
            f'<a href="http://169.254.169.254/pxhostile-6.0-py3-none-any.whl#sha256={digest}">'
            "pxhostile-6.0-py3-none-any.whl</a>"
            "</body>",
        )
    )
    add_proxy(server, "hostilepypi", "pypi", f"{upstream.url}/simple/")
    index = f"{server.url}/pypi/hostilepypi/simple/pxhostile/"
    listed = requests.get(
        index, headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=30
    ).json()
    assert [item["filename"] for item in listed["files"]] == [wheel.name]
    for name in [
        "pxhostile-3.0-py3-none-any.whl",  # a file: URL
        "pxhostile-4.0-py3-none-any.whl",  # no sha256
        "pxhostile-5.0-py3-none-any.whl",  # the URL names another file
        "o-1.0-py3-none-any.whl",  # another project's file
        "pxhostile-6.0-py3-none-any.whl",  # another host (not the upstream's)
    ]:
        assert requests.get(index + name, timeout=30).status_code == 404
    assert stored_files(server, "hostileconda") == []
    assert stored_files(server, "hostilepypi") == []


@contextmanager
def redirecting_upstream(location: str) -> Iterator[str]:
    """An upstream answering every GET with a redirect to ``location``."""

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x"]
)
@pytest.mark.parametrize("kind", ["conda", "pypi"])
def test_upstream_redirects_to_other_schemes_are_not_followed(
    server: RepoServer, kind: str, location: str
) -> None:
    owner = f"redirect{kind}{location.split(':')[0]}"
    with redirecting_upstream(location) as upstream_url:
        add_proxy(server, owner, kind, upstream_url)
        path = "noarch/repodata.json" if kind == "conda" else "simple/anything/"
        answer = requests.get(f"{server.url}/{kind}/{owner}/{path}", timeout=60)
    assert answer.status_code == 502
    assert f"redirected to a {location.split(':')[0]}: URL, refused" in answer.json()["error"]
    assert stored_files(server, owner) == []
    assert cached_documents_of(server, owner) == 0


@pytest.mark.parametrize("kind", ["conda", "pypi"])
def test_corrupted_upstream_file_is_refused_and_nothing_stored(
    server: RepoServer,
    upstream: StaticUpstream,
    upstream_dir: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    owner = f"corrupt{kind}"
    if kind == "conda":
        files = build_channel(upstream_dir)
        target = files["pxb-2"]
        add_proxy(server, owner, kind, upstream.url)
        url = f"{server.url}/conda/{owner}/noarch/{target.name}"
    else:
        target = builders.wheel(tmp_path / "wheels", "pxcorrupt", "1.0")
        write_simple_tree(upstream_dir, [target], "pxcorrupt")
        target = upstream_dir / "files" / target.name
        add_proxy(server, owner, kind, f"{upstream.url}/simple/")
        url = f"{server.url}/pypi/{owner}/simple/pxcorrupt/{target.name}"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    target.write_bytes(bytes(data))

    for _attempt in range(2):  # refused again, never cached as good
        answer = requests.get(url, timeout=60)
        assert answer.status_code == 502
        assert "sha256 differs" in answer.json()["error"]
    assert stored_files(server, owner) == []
    assert server.spool_count() == 0


def test_a_private_proxy_answers_outsiders_as_a_missing_namespace(
    server: RepoServer, upstream: StaticUpstream, upstream_dir: Path
) -> None:
    build_channel(upstream_dir)
    add_proxy(server, "privateproxy", "conda", upstream.url, "--private")
    token = server.token("privateproxy", ["conda:download"])
    paths = ["noarch/repodata.json", "noarch/pxb-1.0-0.tar.bz2"]
    for path in paths:
        hidden = requests.get(f"{server.url}/conda/privateproxy/{path}", timeout=30)
        missing = requests.get(f"{server.url}/conda/nosuchowner/{path}", timeout=30)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["error"] == missing.json()["error"].replace(
            "nosuchowner", "privateproxy"
        )
    assert upstream.requests_for("/noarch/repodata.json") == 0  # outsiders cost nothing
    for path in paths:
        shown = requests.get(f"{server.url}/conda/t/{token}/privateproxy/{path}", timeout=60)
        assert shown.status_code == 200
    assert [row[0] for row in stored_files(server, "privateproxy")] == ["noarch/pxb-1.0-0.tar.bz2"]
    # Once stored, the file is an ordinary private package: still hidden from outsiders.
    again = requests.get(f"{server.url}/conda/privateproxy/{paths[1]}", timeout=30)
    assert again.status_code == 404
