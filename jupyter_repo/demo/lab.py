"""The whole demo in one command: a repository with demo content, and JupyterLab with the
jupyter-repo extension logged in to it as the demo user.

``python -m jupyter_repo.demo.lab`` (what ``scripts/demo`` runs) starts both, prints the
URLs and stops both on Ctrl+C or SIGTERM. ``python -m jupyter_repo.demo.lab repository``
(what ``binder/start`` runs) starts only the repository, in the background, and prints the
shell ``export`` lines that point a Jupyter server's extension at it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir

from jupyter_repo.demo import builders
from jupyter_repo.demo.bootstrap import DEMO_PASSWORD, DEMO_USER

URL_VARIABLE = "JUPYTER_REPO_URL"
TOKEN_VARIABLE = "JUPYTER_REPO_TOKEN"
STARTUP_TIMEOUT = 120.0


class DemoError(RuntimeError):
    """Something the person running the demo must fix; printed without a traceback."""


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])


def port_or_free(port: int, ip: str) -> int:
    return port if port else free_port(ip)


def wait_until_up(service: Service, probe_url: str, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait for an HTTP answer below 500; fail early when the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise DemoError(
                f"{service.name} stopped at start-up (exit code "
                f"{service.process.returncode}); see {service.log_path}"
            )
        try:
            with urllib.request.urlopen(probe_url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise DemoError(
        f"{service.name} did not answer at {probe_url} within {timeout:.0f} s; "
        f"see {service.log_path}"
    )


def started(service: Service, probe_url: str) -> None:
    """Wait until the service is up; never leave it running if that fails or is
    interrupted."""
    try:
        wait_until_up(service, probe_url)
    except BaseException:
        stop([service])
        raise


def repository_args(data_dir: Path | None) -> list[str]:
    return [f"--Repository.data_dir={data_dir}"] if data_dir else []


def start_repository(data_dir: Path | None, ip: str, port: int, log_dir: Path) -> Service:
    """``jupyter repo serve --demo`` on ``ip:port``, once it answers. Like Lab it runs in
    its own session: a terminal's Ctrl+C reaches only the launcher, which stops both."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "repository.log"
    command = [
        sys.executable,
        "-m",
        "jupyter_repo",
        "serve",
        "--demo",
        f"--ip={ip}",
        f"--port={port}",
        *repository_args(data_dir),
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    service = Service("The repository", process, f"http://{ip}:{port}", log_path)
    started(service, service.url + "/api/user")
    return service


def issue_token(data_dir: Path | None, login: str = DEMO_USER) -> str:
    """A token for the demo user, through ``jupyter repo admin issue-token``."""
    command = [
        sys.executable,
        "-m",
        "jupyter_repo",
        "admin",
        "issue-token",
        login,
        "--name=jupyterlab-demo",
        *repository_args(data_dir),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise DemoError(f"Could not issue a token for {login}: {done.stderr.strip()}")
    return lines[-1].strip()


WELCOME_MARKDOWN = """# Welcome to the jupyter-repo demo

JupyterLab is logged in to a local repository as the demo user.

* **Publish** (in this notebook's toolbar, or *File → Publish to repository…*) puts this
  notebook, with its kernel's environment, into the repository and shows a link to its page.
* Right-click `weather-project` in the file browser and choose *Publish to repository…* to
  publish the folder as a project.
* The **Repository** panel in the left sidebar lists your namespaces and their packages,
  searches the repository, and opens a published notebook (try *temperature-analysis*).
"""


def prepare_workspace(workspace: Path) -> None:
    """Sample files to publish: a notebook, a project folder and an environment file.
    Existing files are left alone, so a user's edits survive a restart."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    workspace.mkdir(parents=True, exist_ok=True)
    welcome = workspace / "welcome.ipynb"
    if not welcome.exists():
        notebook = new_notebook(
            cells=[
                new_markdown_cell(WELCOME_MARKDOWN),
                new_code_cell(
                    "temperatures = [14.2, 15.1, 16.8]\nsum(temperatures) / len(temperatures)"
                ),
            ]
        )
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        welcome.write_text(nbformat.writes(notebook))
    project = workspace / "weather-project"
    if not project.exists():
        builders.notebook(project, "analysis.ipynb", title="Weather project")
        builders.csv_file(project / "data", "measurements.csv")
        (project / "requirements.txt").write_text(builders.REQUIREMENTS_TXT)
        (project / "README.md").write_text(
            "# Weather project\n\nA folder to publish as a project.\n"
        )
    environment = workspace / "environment.yml"
    if not environment.exists():
        builders.environment_file(workspace)


def start_lab(
    workspace: Path, ip: str, port: int, repo_url: str, repo_token: str, log_dir: Path
) -> tuple[Service, str]:
    """JupyterLab on ``ip:port`` with the extension pointed at the repository; answers the
    service and the URL to open (with Jupyter's own token)."""
    lab_token = secrets.token_hex(24)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--ip={ip}",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={lab_token}",
        f"--ServerApp.root_dir={workspace}",
        "--LabApp.extension_manager=readonly",
        "--LabApp.news_url=None",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, URL_VARIABLE: repo_url, TOKEN_VARIABLE: repo_token}
    log_path = log_dir / "jupyterlab.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    base = f"http://{ip}:{port}"
    service = Service("JupyterLab", process, base, log_path)
    started(service, f"{base}/api/status?token={lab_token}")
    return service, f"{base}/lab?token={lab_token}"


def stop(services: Sequence[Service], timeout: float = 15.0) -> None:
    """SIGTERM to each (Lab then shuts its kernels down), SIGKILL what lingers."""
    for service in services:
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for service in services:
        try:
            service.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


def default_workspace() -> Path:
    return Path(jupyter_data_dir()) / "repo-demo-workspace"


def run_both(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace or default_workspace()).resolve()
    log_dir = workspace.parent / "repo-demo-logs"
    prepare_workspace(workspace)
    services: list[Service] = []

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Explicitly: a shell starts background jobs with SIGINT ignored, and Python then
    # installs no KeyboardInterrupt handler of its own.
    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for signum in stop_signals:
        signal.signal(signum, on_signal)
    try:
        repository = start_repository(
            args.data_dir, args.ip, port_or_free(args.repo_port, args.ip), log_dir
        )
        services.append(repository)
        token = issue_token(args.data_dir)
        lab, lab_url = start_lab(
            workspace, args.ip, port_or_free(args.lab_port, args.ip), repository.url, token, log_dir
        )
        services.insert(0, lab)
        print(
            f"jupyter-repo demo\n"
            f"  repository: {repository.url}  (web login: {DEMO_USER} / {DEMO_PASSWORD})\n"
            f"  JupyterLab: {lab_url}\n"
            f"  workspace:  {workspace}\n"
            f"  logs:       {log_dir}\n"
            f"Press Ctrl+C to stop both.",
            flush=True,
        )
        while all(service.process.poll() is None for service in services):
            time.sleep(0.5)
        for service in services:
            if service.process.poll() is not None:
                print(
                    f"{service.name} stopped (exit code {service.process.returncode}); "
                    f"see {service.log_path}",
                    file=sys.stderr,
                )
        return 1
    except KeyboardInterrupt:
        return 0
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for signum in stop_signals:
            signal.signal(signum, signal.SIG_IGN)
        stop(services)


def run_repository_only(args: argparse.Namespace) -> int:
    """Start the repository detached, write its pid next to its log, print exports."""
    state_dir = Path(args.state_dir or Path(jupyter_data_dir()) / "repo-demo-state").resolve()
    if args.workspace:
        prepare_workspace(Path(args.workspace))
    try:
        repository = start_repository(
            args.data_dir, args.ip, port_or_free(args.repo_port, args.ip), state_dir
        )
        token = issue_token(args.data_dir)
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    (state_dir / "repository.pid").write_text(f"{repository.process.pid}\n")
    (state_dir / "repository.json").write_text(json.dumps({"url": repository.url}))
    print(f"export {URL_VARIABLE}={shlex.quote(repository.url)}")
    print(f"export {TOKEN_VARIABLE}={shlex.quote(token)}", flush=True)
    return 0


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="python -m jupyter_repo.demo.lab",
        description="Run a demo repository and JupyterLab logged in to it.",
    )
    parse.add_argument(
        "mode",
        nargs="?",
        choices=["both", "repository"],
        default="both",
        help="'both' (default): repository and JupyterLab in the foreground; "
        "'repository': only the repository, in the background, printing "
        "shell exports for the Jupyter server extension",
    )
    parse.add_argument("--ip", default="127.0.0.1", help="address of both servers")
    parse.add_argument(
        "--repo-port", type=int, default=8600, help="repository port (0: any free port)"
    )
    parse.add_argument(
        "--lab-port", type=int, default=8601, help="JupyterLab port (0: any free port)"
    )
    parse.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="repository data folder (default: the repository's own default)",
    )
    parse.add_argument(
        "--workspace", default=None, help="folder JupyterLab opens, filled with sample files"
    )
    parse.add_argument(
        "--state-dir",
        default=None,
        help="'repository' mode: where its log, pid and URL are written "
        "(default: repo-demo-state in the Jupyter data folder)",
    )
    return parse


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.mode == "repository":
        return run_repository_only(args)
    return run_both(args)


if __name__ == "__main__":
    sys.exit(main())
