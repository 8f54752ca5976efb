"""A real JupyterLab server in a subprocess, isolated from the user's Jupyter folders, and
helpers shared by the tests that check Lab, Binder and the demo, and by the tests that drive
Lab in headless Chromium (Debian's /usr/bin/chromium through playwright; never a browser
build of playwright's own)."""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from tests.support import processes
from tests.support.net import free_port, wait_for_http

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

LABEXTENSION = "jupyter-repo"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 60_000
EXECUTED = re.compile(r"\[\d+\]")

# Lab's own network chatter and first-run prompts, off for tests.
QUIET_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def isolated_jupyter_env(root: Path) -> dict[str, str]:
    """Jupyter's config/data/runtime folders under ``root`` (so saved repository tokens and
    Lab settings never touch the real ones); kernels and extensions still come from the
    environment's prefix."""
    env = dict(os.environ)
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(root / "config"),
            "JUPYTER_DATA_DIR": str(root / "data"),
            "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("JUPYTER_REPO_URL", None)
    env.pop("JUPYTER_REPO_TOKEN", None)
    return env


def lab_arguments(
    port: int, token: str, root_dir: Path, settings_dir: Path, *, app: str = "LabApp"
) -> list[str]:
    """The command line of JupyterLab (``app="LabApp"``) or Notebook 7
    (``app="JupyterNotebookApp"``, which has no extension manager or news settings)."""
    lab_only = (
        ["--LabApp.extension_manager=readonly", "--LabApp.news_url=None"] if app == "LabApp" else []
    )
    args = [
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        *lab_only,
        f"--{app}.user_settings_dir={settings_dir}",
    ]
    if os.geteuid() == 0:
        args.append("--allow-root")
    return args


def write_quiet_settings(settings_dir: Path) -> None:
    for relative, values in QUIET_SETTINGS.items():
        target = settings_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def page_config(lab_html: str) -> dict[str, Any]:
    """The JSON JupyterLab embeds in its page (``jupyter-config-data``)."""
    match = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', lab_html, re.S
    )
    assert match, "the Lab page has no jupyter-config-data"
    return json.loads(html.unescape(match.group(1)))


def assert_serves_labextension(lab_url: str, token: str) -> None:
    """The Lab page lists the jupyter-repo extension and its entry point is served."""
    page = requests.get(f"{lab_url}/lab", params={"token": token}, timeout=30)
    assert page.status_code == 200
    extensions = {item["name"]: item for item in page_config(page.text)["federated_extensions"]}
    assert LABEXTENSION in extensions, f"Lab does not load {LABEXTENSION}: {sorted(extensions)}"
    entry = extensions[LABEXTENSION]
    script = requests.get(
        f"{lab_url}/lab/extensions/{LABEXTENSION}/{entry['load']}",
        params={"token": token},
        timeout=30,
    )
    assert script.status_code == 200 and b"jupyter-repo" in script.content


class LabServer:
    """``python -m jupyterlab`` (or, with ``notebook=True``, Notebook 7's ``python -m
    notebook``) on a free 127.0.0.1 port, with its own Jupyter folders."""

    def __init__(
        self,
        root: Path,
        workspace: Path,
        *,
        env: dict[str, str] | None = None,
        notebook: bool = False,
    ):
        self.notebook = notebook
        self.root = root
        self.workspace = workspace
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(16)
        self.extra_env = env or {}
        self.log_path = root / "lab.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LabServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self.workspace.mkdir(parents=True, exist_ok=True)
        settings = self.root / "settings"
        write_quiet_settings(settings)
        env = {**isolated_jupyter_env(self.root), **self.extra_env}
        module, app = (
            ("notebook", "JupyterNotebookApp") if self.notebook else ("jupyterlab", "LabApp")
        )
        command = [
            sys.executable,
            "-m",
            module,
            *lab_arguments(self.port, self.token, self.workspace, settings, app=app),
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept for the process's lifetime
        self.process = processes.popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for_http(f"{self.url}/api/status?token={self.token}", timeout=90, process=self.process)
        return self

    def lab_url(self, path: str = "") -> str:
        return f"{self.url}/lab{'/tree/' + path if path else ''}?token={self.token}"

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to the Jupyter server with its token (XSRF does not apply to tokens)."""
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.url}/{path.lstrip('/')}", headers=headers, timeout=60, **kwargs
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium. One sync playwright per thread at a time: callers keep it
    for a module, never a session (test_web_browser.py runs its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def lab_page(browser: Browser, screenshot: Path) -> Iterator[Page]:
    """A fresh browser context and tab; its last state is kept as ``screenshot``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        tab = context.new_page()
        yield tab
        tab.screenshot(path=str(screenshot))
    finally:
        context.close()


def open_lab(page: Page, lab: LabServer, path: str = "") -> None:
    """Open Lab in its default layout (``reset``: the module's tests share one Lab, whose
    saved workspace would otherwise restore the previous test's panels)."""
    page.goto(lab.lab_url(path) + "&reset")
    page.wait_for_selector("#jupyterlab-splash", state="detached")
    # The extension is up: its sidebar tab, and a notebook's Publish button.
    page.get_by_role("complementary", name="main sidebar").get_by_role(
        "tab", name="Repository"
    ).wait_for()
    if path.endswith(".ipynb"):
        page.get_by_title("Publish this notebook to the repository").wait_for()
        # Wait for the kernel, so its environment is what gets attached.
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        wait_for_connected_kernel(lab, path)
    # Lab focuses the main area's widget (the launcher, or the notebook and its active cell)
    # up to a second after the page is up. A click before that loses focus to it: a Lab
    # dialog then moves focus back to its first field (a token typed into the dialog lands
    # in the URL field), a notebook goes to command mode (typed code runs as shortcuts).
    page.locator("#jp-main-dock-panel :focus").wait_for()


def wait_for_connected_kernel(lab: LabServer, path: str, timeout: float = 90) -> None:
    """The notebook's kernel has started and the page is connected to it. The toolbar's
    indicator reads "idle" before that (its initial state), and a cell run while the
    session has no kernel yet is silently not run: a kernel of a new environment can take
    seconds to start on a busy machine."""
    deadline = time.monotonic() + timeout
    sessions: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        sessions = lab.api("GET", "api/sessions").json()
        kernels = [s["kernel"] for s in sessions if s["path"] == path and s.get("kernel")]
        if kernels and all(
            k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels
        ):
            return
        time.sleep(0.25)
    raise AssertionError(f"the kernel of {path} is not up after {timeout} s: {sessions}")


def run_cell(page: Page, source: str) -> Locator:
    """Type ``source`` into the notebook's last code cell (keystrokes, like a user), run it
    with Shift+Enter and answer the cell's output area once the kernel is done with it.
    The source is one line: the editor would indent what follows a newline."""
    from playwright.sync_api import expect

    cells = page.locator(".jp-Notebook .jp-CodeCell")
    # By index: Shift+Enter on the last cell adds a new last one.
    cell = cells.nth(cells.count() - 1)
    cell.locator(".cm-content").click()
    page.locator(".jp-Notebook.jp-mod-editMode").wait_for()
    cell.locator(".cm-editor.cm-focused").wait_for()
    page.keyboard.type(source)
    # Were the keys taken as command-mode shortcuts, Shift+Enter would run another cell.
    expect(cell.locator(".cm-content")).to_have_text(source)
    page.keyboard.press("Shift+Enter")
    # The prompt shows "[*]" while the cell runs and its execution count once it ran.
    cell.locator(".jp-InputArea-prompt").filter(has_text=EXECUTED).wait_for()
    return cell.locator(".jp-OutputArea")
