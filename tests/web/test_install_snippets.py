"""Issue 17, acceptance 4: every install snippet a package page shows runs as shown.

For each package type the package page is fetched over real HTTP, the command blocks of
its *Install* section are read from the HTML as a user copies them, and each line is run
in a fresh "user machine": a virtualenv first on PATH (its python sees this checkout's
libraries through a ``.pth``, so ``jupyter repo`` installs into *it*), its own HOME,
Jupyter and anaconda configuration folders and an empty working folder. Then what the
user expects is checked: the package importable at its version, the conda package linked,
the notebook, data file or unpacked project in the folder.

``conda`` is not installed on this machine (and reaches no public channel), so a ``conda
install -c CHANNEL SPEC`` line is run by py-rattler with exactly that channel and spec
(tests/support/rattler_client.py); any other conda line fails the test.
``jupyter repo env create`` builds on a local interpreter here (no channel offers python)
and takes ipykernel from this machine's configured indexes (given to uv as the user's
``UV_*`` settings), as tests/client/test_env_create.py does.
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.client.test_env_create import runner_indexes
from tests.support import processes
from tests.support.server import PASSWORD, RepoServer
from tests.support.web import WebClient, upload

RATTLER = Path(__file__).parent.parent / "support" / "rattler_client.py"
_BLOCK = re.compile(
    r'<div class="install-item" id="install-([\w-]+)">.*?'
    r'<pre class="command"[^>]*><code>(.*?)</code>',
    re.S,
)


def page_snippets(page: str) -> dict[str, list[str]]:
    """Each install block of a package page (by client), as the lines a user copies."""
    install = page[page.index('id="install-heading"') :]
    install = install[: install.index("</section>")]
    return {
        client: [html.unescape(line) for line in code.split("\n")]
        for client, code in _BLOCK.findall(install)
    }


class UserMachine:
    """A fresh virtualenv first on PATH, with its own HOME and configuration folders."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.work = root / "work"
        self.home = root / "home"
        for folder in (self.work, self.home / ".binstar" / "data"):
            folder.mkdir(parents=True)
        # anaconda-client logs a traceback on its first run, before its config file exists.
        (self.home / ".binstar" / "data" / "config.yaml").write_text("{}\n")
        processes.run(
            [sys.executable, "-m", "venv", "--without-pip", str(self.venv)],
            check=True,
            timeout=120,
        )
        self.python = self.venv / "bin" / "python"
        purelib = processes.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        ours = sysconfig.get_paths()["purelib"]  # this checkout's libraries, .pth files too
        Path(purelib, "zz_test_runner.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
        for script, module in (
            ("jupyter", "jupyter_core.command"),
            ("jupyter-repo", "jupyter_repo.app"),
            ("pip", "pip._internal.cli.main"),
        ):
            path = self.venv / "bin" / script
            path.write_text(
                f"#!{self.python}\nimport sys\nfrom {module} import main\nsys.exit(main())\n"
            )
            path.chmod(0o755)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("JUPYTER", "BINSTAR", "ANACONDA", "CONDA", "VIRTUAL_ENV"))
        }
        self.env.update(
            {
                "PATH": f"{self.venv / 'bin'}{os.pathsep}{Path(sys.executable).parent}"
                f"{os.pathsep}{os.environ.get('PATH', '')}",
                "HOME": str(self.home),
                "XDG_CONFIG_HOME": str(self.home / ".config"),
                "JUPYTER_CONFIG_DIR": str(self.home / ".jupyter"),
                "JUPYTER_DATA_DIR": str(self.home / ".local" / "share" / "jupyter"),
                "BINSTAR_CONFIG_DIR": str(self.home / ".binstar"),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                # Where this machine's packages come from (it reaches no PyPI): the
                # runner's pip indexes, for uv too (env create takes ipykernel there).
                "UV_EXTRA_INDEX_URL": " ".join(
                    item for item in runner_indexes() if item.startswith(("http", "file:"))
                ),
                "UV_FIND_LINKS": ",".join(
                    item for item in runner_indexes() if not item.startswith(("http", "file:"))
                ),
                "OTEL_SDK_DISABLED": "true",
                "NO_COLOR": "1",
            }
        )

    def make_conda_environment(self) -> None:
        """The venv becomes a conda environment (``conda-meta/``), as a conda user's is."""
        (self.venv / "conda-meta").mkdir(exist_ok=True)

    def run(self, line: str, typed: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run one line; ``typed`` is what the user types when it asks (its stdin)."""
        words = shlex.split(line)
        if words[0] == "conda":
            return self.conda(words)
        return processes.run(
            words,
            cwd=self.work,
            env=self.env,
            input=typed,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def conda(self, words: list[str]) -> subprocess.CompletedProcess[str]:
        """``conda install -c CHANNEL... SPEC...``, by py-rattler into a new prefix."""
        assert words[:2] == ["conda", "install"], f"no runner for {words}"
        channels, specs, rest = [], [], iter(words[2:])
        for word in rest:
            if word in ("-c", "--channel"):
                channels.append(next(rest))
            else:
                assert not word.startswith("-"), f"unexpected conda option {word}"
                specs.append(word)
        job = {
            "cache": str(self.root / "rattler-cache"),
            "cases": [{"channels": channels, "specs": specs, "prefix": str(self.conda_prefix)}],
        }
        return processes.run(
            [sys.executable, str(RATTLER), json.dumps(job)],
            capture_output=True,
            text=True,
            timeout=300,
            env=self.env,
        )

    @property
    def conda_prefix(self) -> Path:
        return self.root / "conda-env"

    def rattler_result(self, completed: subprocess.CompletedProcess[str]) -> dict[str, object]:
        line = next(
            (text for text in completed.stdout.splitlines() if text.startswith("RESULT ")), None
        )
        assert line, completed.stdout + completed.stderr
        (result,) = json.loads(line[len("RESULT ") :])
        assert result["ok"], result
        return dict(result)

    def imported_version(self, module: str) -> str:
        completed = processes.run(
            [str(self.python), "-c", f"import {module}; print({module}.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
        )
        assert completed.returncode == 0, completed.stderr
        return completed.stdout.strip()

    def linked(self, name: str, prefix: Path) -> list[str]:
        return sorted(path.name for path in (prefix / "conda-meta").glob(f"{name}-*.json"))


@dataclass
class Published:
    """What one package type's case published, and what each snippet must leave behind."""

    name: str
    checks: dict[str, Callable[[UserMachine], None]]
    #: A private package: the token the page's note says to put in place of <TOKEN>, and
    #: what the user types when a line asks (username, password).
    token: str | None = None
    typed: dict[str, str] = field(default_factory=dict)


def _conda(server: RepoServer, token: str, owner: str, samples: Path) -> Published:
    name = "snip-conda"
    package = builders.conda_package(samples, name, "1.0")
    upload(server, token, owner, name, "1.0", package, basename=f"noarch/{package.name}")

    def conda(machine: UserMachine) -> None:
        assert machine.linked(name, machine.conda_prefix) == [f"{name}-1.0-0.json"]

    def jupyter_repo(machine: UserMachine) -> None:
        assert machine.linked(name, machine.venv) == [f"{name}-1.0-0.json"]

    def anaconda(machine: UserMachine) -> None:
        downloaded = list(machine.work.rglob(package.name))
        assert downloaded and downloaded[0].read_bytes() == package.read_bytes()

    return Published(name, {"conda": conda, "jupyter-repo": jupyter_repo, "anaconda": anaconda})


def _pypi(server: RepoServer, token: str, owner: str, samples: Path) -> Published:
    name = "snip-pip"
    wheel = builders.wheel(samples, name, "1.0")
    upload(server, token, owner, name, "1.0", wheel)

    def importable(machine: UserMachine) -> None:
        assert machine.imported_version("snip_pip") == "1.0"

    def anaconda(machine: UserMachine) -> None:
        downloaded = list(machine.work.rglob(wheel.name))
        assert downloaded and downloaded[0].read_bytes() == wheel.read_bytes()

    return Published(name, {"pip": importable, "jupyter-repo": importable, "anaconda": anaconda})


def _pypi_private(server: RepoServer, token: str, owner: str, samples: Path) -> Published:
    name = "snip-private"
    wheel = builders.wheel(samples, name, "1.0")
    upload(server, token, owner, name, "1.0", wheel, private="1")

    def importable(machine: UserMachine) -> None:
        assert machine.imported_version("snip_private") == "1.0"

    def anaconda(machine: UserMachine) -> None:
        downloaded = list(machine.work.rglob(wheel.name))
        assert downloaded and downloaded[0].read_bytes() == wheel.read_bytes()

    answers = f"{owner}\n{PASSWORD}\n"
    return Published(
        name,
        {"pip": importable, "jupyter-repo": importable, "anaconda": anaconda},
        token=server.token(owner, ["download"]),
        typed={f"jupyter repo login --url {server.url}": answers},
    )


def _env(server: RepoServer, token: str, owner: str, samples: Path) -> Published:
    name = "snip-env"
    dependency = builders.wheel(samples, "snip-dep", "2.0")
    upload(server, token, owner, "snip-dep", "2.0", dependency)
    spec = builders.environment_file(samples, "requirements.txt", "snip-dep==2.0\n")
    upload(server, token, owner, name, "1", spec, type="env")

    def importable(machine: UserMachine) -> None:
        assert machine.imported_version("snip_dep") == "2.0"

    def anaconda(machine: UserMachine) -> None:
        downloaded = list(machine.work.rglob("requirements.txt"))
        assert downloaded and downloaded[0].read_text() == "snip-dep==2.0\n"

    return Published(name, {"jupyter-repo": importable, "anaconda": anaconda})


def _notebook(server: RepoServer, token: str, owner: str, samples: Path) -> Published:
    name = "snip-notebook"
    dependency = builders.wheel(samples, "snip-dep", "2.0")
    upload(server, token, owner, "snip-dep", "2.0", dependency)
    spec = builders.environment_file(samples, "requirements.txt", "snip-dep==2.0\n")
    upload(server, token, owner, f"{name}-env", "1", spec, type="env")
    notebook = builders.notebook_json("Snippets")
    notebook["metadata"]["jupyter_repo"] = {  # type: ignore[index]
        "owner": owner,
        "name": name,
        "version": "1",
        "environment": {"owner": owner, "name": f"{name}-env", "version": "1"},
    }
    path = samples / f"{name}.ipynb"
    path.write_text(json.dumps(notebook))
    upload(server, token, owner, name, "1", path)

    def opened(machine: UserMachine) -> None:
        assert (machine.work / path.name).read_bytes() == path.read_bytes()

    def opened_with_its_environment(machine: UserMachine) -> None:
        opened(machine)
        kernel = machine.home / ".local/share/jupyter/kernels" / f"repo-{owner}-{name}-env-v1"
        python = json.loads((kernel / "kernel.json").read_text())["argv"][0]
        done = processes.run(
            [python, "-c", "import snip_dep, ipykernel; print(snip_dep.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout.strip() == "2.0", done.stderr

    return Published(name, {"jupyter-repo": opened_with_its_environment, "anaconda": opened})


def _project(server: RepoServer, token: str, owner: str, samples: Path) -> Published:
    name = "snip-project"
    archive = builders.project_archive(samples, name)
    upload(server, token, owner, name, "1", archive, type="project")
    with tarfile.open(archive) as tar:
        expected = {
            member.name.split("/", 1)[1]: tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar
            if member.isfile()
        }

    def unpacked(machine: UserMachine) -> None:
        folder = machine.work / name
        found = {
            str(path.relative_to(folder)): path.read_bytes()
            for path in folder.rglob("*")
            if path.is_file()
        }
        assert found == expected

    def anaconda(machine: UserMachine) -> None:
        downloaded = list(machine.work.rglob(archive.name))
        assert downloaded and downloaded[0].read_bytes() == archive.read_bytes()

    return Published(name, {"jupyter-repo": unpacked, "anaconda": anaconda})


def _data_file(server: RepoServer, token: str, owner: str, samples: Path) -> Published:
    name = "snip-data"
    csv = builders.csv_file(samples, "readings.csv")
    upload(server, token, owner, name, "1", csv, type="file")

    def downloaded(machine: UserMachine) -> None:
        assert (machine.work / csv.name).read_bytes() == csv.read_bytes()

    return Published(name, {"jupyter-repo": downloaded, "anaconda": downloaded})


CASES = {
    "conda": _conda,
    "pypi": _pypi,
    "pypi-private": _pypi_private,
    "env": _env,
    "notebook": _notebook,
    "project": _project,
    "data-file": _data_file,
}


#: The install blocks each package type's page shows.
CLIENTS = {
    "conda": ["conda", "anaconda", "jupyter-repo"],
    "pypi": ["pip", "anaconda", "jupyter-repo"],
    "pypi-private": ["pip", "anaconda", "jupyter-repo"],
    "env": ["anaconda", "jupyter-repo"],
    "notebook": ["anaconda", "jupyter-repo"],
    "project": ["anaconda", "jupyter-repo"],
    "data-file": ["anaconda", "jupyter-repo"],
}
#: The one anaconda CLI case of the quick lane (a private package: login, token, download);
#: the CLI takes seconds of CPU to start, so its other cases are ``slow`` (CI runs them all).
QUICK_ANACONDA = "pypi-private"


def _slow_unless_quick(kind: str, client: str) -> tuple[pytest.MarkDecorator, ...]:
    return (pytest.mark.slow,) if client == "anaconda" and kind != QUICK_ANACONDA else ()


@pytest.mark.parametrize(
    ("kind", "client"),
    [
        pytest.param(kind, client, id=f"{kind}-{client}", marks=_slow_unless_quick(kind, client))
        for kind, clients in CLIENTS.items()
        for client in clients
    ],
)
def test_every_install_snippet_runs_as_shown(
    server: RepoServer, user: str, samples: Path, tmp_path: Path, kind: str, client: str
) -> None:
    published = CASES[kind](server, server.token(user), user, samples)
    browser = WebClient(server)
    if published.token is not None:
        browser.login(user)  # its page is for those who may read it
    page = browser.get(f"/{user}/{published.name}")
    assert page.status_code == 200
    snippets = page_snippets(page.text)
    assert sorted(snippets) == sorted(CLIENTS[kind])
    machine = UserMachine(tmp_path / "user")
    if kind == "conda" and client == "jupyter-repo":
        machine.make_conda_environment()  # jupyter repo installs conda packages there
    if published.token is not None:  # the page's note: where the token goes
        assert "replace &lt;TOKEN&gt; with a token" in page.text
    for shown in snippets[client]:
        line = shown.replace("<TOKEN>", published.token or "<TOKEN>")
        completed = machine.run(line, published.typed.get(line))
        if line.startswith("conda "):
            machine.rattler_result(completed)
            continue
        assert completed.returncode == 0, (line, completed.stdout, completed.stderr)
        assert "Traceback" not in completed.stderr, completed.stderr
    published.checks[client](machine)


def test_a_notebook_page_shows_env_create_for_its_environment(
    server: RepoServer, user: str, samples: Path
) -> None:
    """A notebook published with its environment: open it, and make its environment."""
    published = _notebook(server, server.token(user), user, samples)
    page = requests.get(f"{server.url}/{user}/{published.name}", timeout=30).text
    lines = page_snippets(page)["jupyter-repo"]
    assert lines == [
        f"jupyter repo open {user}/{published.name} --url {server.url}",
        f"jupyter repo env create {user}/{published.name}-env --url {server.url}",
    ]
    assert "jupyter repo install" not in page


_GET_IT = re.compile(r'<h3>([^<]+)</h3>\s*<pre class="command"[^>]*><code>(.*?)</code>', re.S)


@pytest.mark.parametrize(
    "title", ["jupyter repo", pytest.param("anaconda CLI", marks=pytest.mark.slow)]
)
def test_a_project_file_page_snippets_run_as_shown(
    server: RepoServer, user: str, samples: Path, tmp_path: Path, title: str
) -> None:
    """The project's own page (``/files/<version>/<archive>``, *Get it*) too: ``jupyter
    repo open`` unpacks it; ``anaconda download`` then ``tar -xzf`` gives the same files."""
    published = _project(server, server.token(user), user, samples)
    page = requests.get(
        f"{server.url}/{user}/{published.name}/files/1/{published.name}.tar.gz", timeout=30
    )
    assert page.status_code == 200
    section = page.text[page.text.index('id="get-heading"') :]
    blocks = {
        html.unescape(name): html.unescape(code).split("\n")
        for name, code in _GET_IT.findall(section[: section.index("</section>")])
    }
    assert sorted(blocks) == ["anaconda CLI", "jupyter repo"]
    machine = UserMachine(tmp_path / "user")
    for line in blocks[title]:
        completed = machine.run(line)
        assert completed.returncode == 0, (line, completed.stdout, completed.stderr)
        assert "Traceback" not in completed.stderr, completed.stderr
    if title == "jupyter repo":
        published.checks["jupyter-repo"](machine)
    else:  # the archive's own top folder, as tar unpacks it
        (machine.work / f"{published.name}.tar.gz").unlink()
        published.checks["jupyter-repo"](machine)
