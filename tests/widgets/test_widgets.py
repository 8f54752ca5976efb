"""The notebook widgets, driven through their model against the real repository server.

Installs are real: pip into this test run's own environment (the "kernel"; every wheel is
uninstalled again), py-rattler into a temporary conda prefix. What is asserted is what the
user sees: the status line, the rows, the dropdowns, the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import ipywidgets
import psutil
import pytest
import requests

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.install import Target
from jupyter_repo.demo import builders
from jupyter_repo.widgets import PackageSearch
from jupyter_repo.widgets.driving import SearchDriver
from tests.support import processes, publish
from tests.support.net import free_port
from tests.support.server import RepoServer

SUMMARY = 'Tiny <script>alert("x")</script> & <b>bold</b> tool'


@pytest.fixture(autouse=True)
def _no_user_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The developer's own repository settings must not leak into these tests."""
    for name in ("JUPYTER_REPO_URL", "JUPYTER_REPO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))


@pytest.fixture
def token(server: RepoServer, user: str) -> str:
    return server.token(user)


@pytest.fixture
def client(server: RepoServer, token: str) -> RepoClient:
    return RepoClient(server.url, token)


@pytest.fixture
def wheel_name(
    server: RepoServer, user: str, token: str, unique: str, tmp_path: Path
) -> Iterator[str]:
    """A private package with two wheels (1.0 on main, 2.0 on dev only); uninstalled after."""
    name = f"jrw-{unique}"
    publish.wheel(
        server, token, user, tmp_path / "wheels", name, "1.0", summary=SUMMARY, private=True
    )
    publish.wheel(
        server,
        token,
        user,
        tmp_path / "wheels",
        name,
        "2.0",
        summary=SUMMARY,
        private=True,
        labels=("dev",),
    )
    yield name
    processes.run(
        [sys.executable, "-m", "pip", "uninstall", "-y", "-q", name],
        capture_output=True,
        check=False,
    )
    sys.modules.pop(name.replace("-", "_"), None)
    importlib.invalidate_caches()


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 90))


def imported_version(module: str) -> str:
    """``module.__version__`` as a fresh interpreter of this environment sees it."""
    completed = processes.run(
        [sys.executable, "-c", f"import {module}; print({module}.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def all_widgets(root: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    """Every widget reachable from ``root`` through synced traits (children, layout...)."""
    seen: dict[str, ipywidgets.Widget] = {}
    pending = [root]
    while pending:
        widget = pending.pop()
        if widget.model_id in seen:
            continue
        seen[widget.model_id] = widget
        for key in widget.keys:
            value = getattr(widget, key)
            values = value if isinstance(value, (list, tuple)) else [value]
            pending.extend(item for item in values if isinstance(item, ipywidgets.Widget))
    return list(seen.values())


def assert_token_hidden(widget: PackageSearch, token: str) -> None:
    found = all_widgets(widget)
    assert len(found) > 20  # rows, dropdowns, the task panel... were all walked
    for item in found:
        state = json.dumps(item.get_state(), default=str)
        assert token not in state, f"the token is in the state of {type(item).__name__}"
    assert token not in widget.status_text and token not in widget.log_text


def test_pip_install_of_a_private_package_into_the_kernel(
    server: RepoServer, user: str, token: str, client: RepoClient, wheel_name: str
) -> None:
    module = wheel_name.replace("-", "_")

    async def scenario() -> PackageSearch:
        widget = PackageSearch(client, debounce=0.05)
        assert widget.state == "idle" and widget.results_data == []
        widget.query.value = wheel_name
        rows = await SearchDriver(widget).results()
        assert [row["name"] for row in rows] == [wheel_name]
        assert widget.state == "ready"
        assert widget.status_text == f"1 package matches “{wheel_name}”."
        html = widget._rows[0].info.value
        assert f"by {user}" in html and "latest 2.0" in html and "pypi" in html
        assert "labels: dev, main" in html and "not installed here" in html
        assert "&lt;script&gt;" in html and "<script>" not in html and "<b>bold" not in html

        widget.select(0)
        assert widget.version.options == ("2.0", "1.0") and widget.version.value == "2.0"
        assert widget.label.options == ("main", "dev") and widget.method.value == "pip"
        widget.version.value = "1.0"
        assert widget.selection.value.count(f"{server.url}/pypi/{user}/simple") == 1
        assert not widget.install_button.disabled

        widget.install_button.click()  # what the user does
        assert widget.state == "installing"
        assert await SearchDriver(widget).install_finished(120) == "succeeded", widget.status_text
        assert widget.status_text == (
            f"Installed {user}/{wheel_name} 1.0 into {sys.prefix} with pip. Import it now; "
            "no restart needed."
        )
        assert f"Successfully installed {wheel_name}-1.0" in widget.log_text
        assert "installed here: 1.0" in widget._rows[0].info.value
        assert widget.task.progress.value == 1.0
        assert "jupyter-repo-state-succeeded" in widget._dom_classes
        assert imported_version(module) == "1.0"

        # The kernel imports it, then upgrades from the dev label: a restart is needed.
        importlib.import_module(module)
        widget.label.value = "dev"
        widget.version.value = "2.0"
        outcome = await widget.install()
        assert outcome.state == "succeeded", outcome.message
        assert widget.status_text == (
            f"Installed {user}/{wheel_name} 2.0 into {sys.prefix} with pip. Restart the "
            "kernel to use it: version 1.0 is already imported."
        )
        assert imported_version(module) == "2.0"
        return widget

    widget = run(scenario())
    assert_token_hidden(widget, token)


def assert_no_install_shown(widget: PackageSearch) -> None:
    """Nothing of the last install is left: no bar, no log, no result line."""
    task = widget.task
    assert task.layout.display == "none" and task.state == "idle"
    assert task.progress.value == 0.0 and task.progress.bar_style == ""
    assert widget.log_text == "" and "Installed" not in widget.status_text
    assert "✔" not in widget.status.value


def test_defect_6_another_package_or_query_clears_the_last_install(
    server: RepoServer, user: str, token: str, client: RepoClient, unique: str, tmp_path: Path
) -> None:
    """Issue 17, defect 6: after an install, the green bar, the log and "✔ Installed …"
    stayed while another package was selected or a new query typed. They are cleared then,
    but not while an install runs (its panel is what the user watches)."""
    names = [f"jr6-{unique}-a", f"jr6-{unique}-b"]
    for name in names:
        publish.wheel(server, token, user, tmp_path, name, "1.0", private=True)

    async def scenario() -> None:
        widget = PackageSearch(client, debounce=0.05)
        driver = SearchDriver(widget)
        widget.query.value = f"jr6-{unique}"
        rows = await driver.results()
        order = [row["name"] for row in rows]
        assert sorted(order) == names
        first, second = order.index(names[0]), order.index(names[1])
        widget.select(first)
        outcome = await widget.install()
        assert outcome.state == "succeeded", outcome.message
        assert widget.task.progress.bar_style == "success" and widget.log_text
        assert widget.status_text.startswith(f"Installed {user}/{names[0]} 1.0")

        widget.select(first)  # the same package again: its result stays
        assert widget.status_text.startswith(f"Installed {user}/{names[0]} 1.0")
        widget.select(second)
        assert_no_install_shown(widget)
        assert widget.state == "ready" and widget.status_text == (
            f"2 packages match “jr6-{unique}”."
        )

        # While an install runs, another selection leaves its panel alone.
        widget.select(first)
        pending = widget.install()
        widget.select(second)
        assert widget.task.running and widget.task.layout.display is None
        outcome = await pending
        assert outcome.state == "succeeded", outcome.message
        assert widget.task.progress.bar_style == "success"

        widget.query.value = f"jr6-{unique}-b"  # a new query
        assert_no_install_shown(widget)
        assert [row["name"] for row in await driver.results()] == [names[1]]
        assert widget.status_text == f"1 package matches “jr6-{unique}-b”."

    try:
        run(scenario())
    finally:
        processes.run(
            [sys.executable, "-m", "pip", "uninstall", "-y", "-q", names[0]],
            check=True,
            capture_output=True,
        )


def conda_prefix(root: Path) -> Path:
    prefix = root / "conda-env"
    (prefix / "conda-meta").mkdir(parents=True)
    return prefix


def test_conda_package_lands_in_a_conda_prefix_with_rattler(
    server: RepoServer, user: str, token: str, client: RepoClient, unique: str, tmp_path: Path
) -> None:
    pytest.importorskip("rattler")
    name = f"jrc-{unique}"
    publish.conda(server, token, user, tmp_path / "conda", name, "1.0", private=True)
    publish.conda(server, token, user, tmp_path / "conda", name, "1.1", private=True)
    prefix = conda_prefix(tmp_path)

    async def scenario() -> PackageSearch:
        widget = PackageSearch(client, target=Target(sys.executable, str(prefix)), debounce=0.01)
        widget.query.value = name
        rows = await SearchDriver(widget).results()
        assert [row["name"] for row in rows] == [name]
        assert "noarch" in widget._rows[0].info.value
        widget.select(0)
        assert widget.method.value == "conda" and widget.version.value == "1.1"
        widget.version.value = "1.0"
        assert "with conda (py-rattler)" in widget.selection.value
        running = widget.install()
        assert widget.task.cancel_button.disabled  # rattler's linking cannot stop half-way
        outcome = await running
        assert outcome.state == "succeeded", outcome.message
        assert widget.status_text == (
            f"Installed {user}/{name} 1.0 into {prefix} with conda. Import it now; no "
            "restart needed."
        )
        assert f"linked {name}-1.0-0" in widget.log_text
        assert "installed here: 1.0" in widget._rows[0].info.value
        return widget

    widget = run(scenario())
    assert (prefix / "conda-meta" / f"{name}-1.0-0.json").is_file()
    assert (prefix / "share" / name / "VERSION").read_text() == "1.0\n"
    assert_token_hidden(widget, token)


def test_a_kernel_that_is_not_a_conda_environment_is_told_why(
    server: RepoServer, user: str, token: str, client: RepoClient, unique: str, tmp_path: Path
) -> None:
    conda_only, both = f"jrn-{unique}", f"jrb-{unique}"
    publish.conda(server, token, user, tmp_path / "conda", conda_only, "1.0")
    publish.conda(server, token, user, tmp_path / "conda", both, "1.0")
    publish.upload(
        server,
        token,
        user,
        builders.wheel(tmp_path / "w", both, "1.0"),
        package=both,
        version="1.0",
    )
    venv = Target(sys.executable, str(tmp_path / "plain"))  # no conda-meta/

    async def scenario() -> None:
        widget = PackageSearch(client, target=venv, query=conda_only)
        await SearchDriver(widget).results()
        widget.select(0)
        assert widget.install_button.disabled
        reason = (
            f"Cannot install {user}/{conda_only} with conda here: this kernel's "
            f"environment ({venv.prefix}) is not a conda environment (it has no "
            f"conda-meta folder). Start the kernel in a conda environment, or run: "
            f"conda install -c {server.url}/conda/{user} {conda_only}"
        )
        assert reason in widget.selection.value.replace("&#x27;", "'")
        outcome = await widget.install()
        assert outcome.state == "failed" and widget.state == "failed"
        assert widget.status_text == reason

        widget.query.value = both
        await SearchDriver(widget).results()
        widget.select(0)
        assert widget.method.options == (
            ("pip (PyPI index)", "pip"),
            ("conda (py-rattler)", "conda"),
        )
        assert widget.method.value == "pip" and not widget.install_button.disabled
        widget.method.value = "conda"
        assert widget.install_button.disabled
        assert "It also has PyPI files: choose pip." in widget.selection.value

    run(scenario())


class _SlowProxy(BaseHTTPRequestHandler):
    """Forwards GETs to the repository; holds answers to queries with "slow" for 1 s."""

    upstream = ""

    def do_GET(self) -> None:  # http.server's name
        if "slow" in self.path:
            time.sleep(1.0)
        answer = requests.get(
            self.upstream + self.path,
            timeout=30,
            headers={"Authorization": self.headers.get("Authorization", "")},
        )
        self.send_response(answer.status_code)
        for header in ("Content-Type", "X-Total-Count"):
            if header in answer.headers:
                self.send_header(header, answer.headers[header])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *_args: Any) -> None:
        return None


@contextlib.contextmanager
def slow_proxy(upstream: str) -> Iterator[str]:
    handler = type("Handler", (_SlowProxy,), {"upstream": upstream})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}"
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_typing_is_debounced_and_a_stale_answer_is_dropped(
    server: RepoServer, user: str, token: str, wheel_name: str
) -> None:
    async def scenario(url: str) -> None:
        widget = PackageSearch(RepoClient(url, token), debounce=0.2)
        search = SearchDriver(widget)
        for end in range(1, len(wheel_name) + 1):  # typing, faster than the debounce
            widget.query.value = wheel_name[:end]
        rows = await search.results()
        assert search.requests_sent == 1 and [row["name"] for row in rows] == [wheel_name]

        widget.live_search.debounce = 0.0
        widget.query.value = "slow-query-matching-nothing"
        while search.requests_sent < 2:  # its request is in flight (held by the proxy)
            await asyncio.sleep(0.01)
        assert widget.state == "searching"
        widget.query.value = wheel_name
        rows = await search.results()
        assert [row["name"] for row in rows] == [wheel_name]
        deadline = time.monotonic() + 15
        while search.dropped < 1:  # the slow answer ("no package matches") comes back...
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)  # ...and is dropped, not shown over the newer one
        assert [row["name"] for row in widget.results_data] == [wheel_name]
        assert widget.status_text == f"1 package matches “{wheel_name}”."

    with slow_proxy(server.url) as url:
        run(scenario(url))


@contextlib.contextmanager
def stalling_index() -> Iterator[str]:
    """A "package index" that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/simple"
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        listener.close()


def pip_processes() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "pip" in child.cmdline() and "install" in child.cmdline():
                found.append(child)
    return found


def test_cancel_kills_a_stalled_pip_quickly(
    server: RepoServer, token: str, client: RepoClient, wheel_name: str
) -> None:
    async def scenario(index: str) -> PackageSearch:
        widget = PackageSearch(client, query=wheel_name, extra_index_urls=(index,))
        await SearchDriver(widget).results()
        widget.select(0)
        running = widget.install()
        deadline = time.monotonic() + 30
        while "Looking in indexes" not in widget.log_text:  # pip is live, then stalls
            assert time.monotonic() < deadline, widget.log_text
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert widget.state == "installing" and pip_processes()
        started = time.monotonic()
        widget.task.cancel_button.click()
        outcome = await running
        elapsed = time.monotonic() - started
        assert outcome.state == "cancelled" and widget.state == "cancelled"
        assert elapsed < 2.0, elapsed  # pip alone would wait for its timeout
        assert widget.status_text == "Cancelled: nothing more was installed."
        assert not pip_processes()
        assert "jupyter-repo:****@" in widget.log_text  # pip's own masking of the index
        return widget

    with stalling_index() as index:
        widget = run(scenario(index))
    assert_token_hidden(widget, token)


def test_magic_and_search_shortcut_in_an_ipython_shell(
    server: RepoServer,
    token: str,
    wheel_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("JUPYTER_REPO_URL", server.url)  # the user's configuration
    monkeypatch.setenv("JUPYTER_REPO_TOKEN", token)
    shell = InteractiveShell.instance()
    try:
        assert shell.run_line_magic("load_ext", "jupyter_repo.widgets") is None
        result = shell.run_cell(f"w = %repo {wheel_name}")
        assert result.success, result.error_in_exec
        widget = shell.user_ns["w"]
        assert isinstance(widget, PackageSearch)
        assert [row["name"] for row in widget.results_data] == [wheel_name]  # private: token
        assert widget.status_text == f"1 package matches “{wheel_name}”."
        capsys.readouterr()
        result = shell.run_cell(
            f"from jupyter_repo.widgets import search\ns = search({wheel_name[:-2]!r})\ns"
        )
        assert result.success, result.error_in_exec
        shown = capsys.readouterr().out
        assert shown.count("PackageSearch(") == 1  # displayed once, not again as Out[]
        assert [row["name"] for row in shell.user_ns["s"].results_data] == [wheel_name]
        assert token not in shown
    finally:
        InteractiveShell.clear_instance()


def test_readable_errors(
    server: RepoServer,
    user: str,
    token: str,
    client: RepoClient,
    wheel_name: str,
    unique: str,
    tmp_path: Path,
) -> None:
    other = server.create_user(f"o{unique}")
    publish.wheel(
        server, server.token(other), other, tmp_path / "secret", "jr-secret", "1.0", private=True
    )
    down = f"http://127.0.0.1:{free_port()}"

    async def scenario() -> None:
        # No repository configured at all (no variables, an empty Jupyter config folder).
        widget = PackageSearch()
        assert widget.state == "failed"
        assert widget.status_text.startswith(
            "No repository is configured: run 'jupyter repo login --url URL'"
        )
        widget.query.value = "anything"
        assert await SearchDriver(widget).results() == [] and widget.state == "failed"
        assert "No repository is configured" in widget.status_text

        # Configured but not logged in: said up front.
        assert PackageSearch(RepoClient(server.url)).status_text == (
            f"Type to search the repository at {server.url}. You are not logged in: only "
            "public packages can be found."
        )

        # The repository is down.
        widget = PackageSearch(RepoClient(down), query="tool")
        assert await SearchDriver(widget).results() == []
        assert widget.state == "failed"
        assert widget.status_text == f"Cannot reach the repository at {down}: Connection refused"
        assert "Traceback" not in widget.status.value

        # A package private to someone else: the same answer as one that does not exist.
        widget = PackageSearch(client, query=f"{other}/jr-secret")
        assert await SearchDriver(widget).results() == []
        assert widget.status_text.startswith(f"{other}/jr-secret: not found, or not visible to you")
        mine = PackageSearch(
            RepoClient(server.url, server.token(other)), query=f"{other}/jr-secret"
        )
        assert [row["name"] for row in await SearchDriver(mine).results()] == ["jr-secret"]
        assert "private" in mine._rows[0].info.value

        # The install fails: version 2.0 is only on the dev label; pip says so.
        widget = PackageSearch(client, query=wheel_name)
        await SearchDriver(widget).results()
        widget.select(0)
        widget.label.value, widget.version.value = "main", "2.0"
        outcome = await widget.install()
        assert outcome.state == "failed" and widget.state == "failed"
        assert widget.status_text.startswith(
            "pip failed: ERROR: Could not find a version that satisfies the requirement "
            f"{wheel_name}==2.0"
        )
        assert "\n" not in widget.status_text and "Traceback" not in widget.status_text
        assert_token_hidden(widget, token)

    run(scenario())
