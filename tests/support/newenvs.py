"""Shared environments to build new environments (and kernels) from: a conda part in the
owner's private channel, a wheel in its private index, and a notebook with that
environment attached; and what a built python runs.

Used by ``jupyter repo env create`` (tests/client), the extension's create-environment
task (tests/extension) and Lab's *Open with its environment* (tests/lab).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.publish import Destination, Publisher
from tests.support import processes, publish
from tests.support.server import RepoServer

PYTHON = "{}.{}".format(*sys.version_info[:2])


def what_it_runs(python: str, conda_name: str, pip_name: str) -> dict[str, str]:
    """The versions the new environment's python sees: the conda package's installed file
    (``share/<name>/VERSION``), the pip package's ``__version__``, and ipykernel."""
    done = processes.run(
        [python, "-c", VERSIONS_SCRIPT, conda_name, pip_name],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    return json.loads(done.stdout)


#: Prints the versions :func:`what_it_runs` answers (argv: conda name, pip name).
VERSIONS_SCRIPT = (
    "import importlib, json, pathlib, sys\n"
    "conda = pathlib.Path(sys.prefix, 'share', sys.argv[1], 'VERSION').read_text().strip()\n"
    "pip = importlib.import_module(sys.argv[2].replace('-', '_')).__version__\n"
    "import ipykernel\n"
    "print(json.dumps({'conda': conda, 'pip': pip, 'python': sys.version.split()[0],"
    " 'prefix': sys.prefix}))\n"
)


@dataclass(frozen=True)
class AttachedNotebook:
    """``owner/notebook`` 1 carrying the environment ``owner/environment`` 1, which pins the
    conda package ``conda_name`` ``conda_version`` and the wheel ``pip_name`` ``pip_version``
    (private to ``owner`` unless published public)."""

    owner: str
    token: str
    notebook: str
    environment: str
    conda_name: str
    conda_version: str
    pip_name: str
    pip_version: str


def attached_notebook(
    server: RepoServer,
    owner: str,
    token: str,
    root: Path,
    *,
    private: bool = True,
) -> AttachedNotebook:
    """Publish the conda package, the wheel, the environment (an ``@EXPLICIT`` lock, a pip
    lock and environment.yml, as a captured conda kernel's) and a notebook attached to it,
    whose one cell prints ``versions: <conda version> <pip version>``."""
    unique = uuid.uuid4().hex[:8]
    conda_name, pip_name = f"jrx-{unique}", f"jre-p-{unique}"
    conda_version, pip_version = "1.3", "2.4"
    publish.conda(server, token, owner, root / "conda", conda_name, conda_version, private=private)
    publish.wheel(server, token, owner, root / "wheels", pip_name, pip_version, private=private)
    client = RepoClient(server.url, token)
    channel = client.conda_channel(owner)
    environment = f"team-{unique}"
    yml = (
        "name: team\ndependencies:\n"
        f"  - python={PYTHON}\n  - {conda_name}={conda_version}=0\n"
        f"  - pip\n  - pip:\n    - {pip_name}=={pip_version}\n"
    )
    Publisher(client).publish_spec_files(
        {
            "environment.yml": yml,
            "requirements.txt": f"{pip_name}=={pip_version}\n",
            "conda-explicit.txt": (
                f"@EXPLICIT\n{channel}/noarch/{conda_name}-{conda_version}-0.conda\n"
            ),
        },
        Destination(owner, environment, "1", public=not private),
        default_name=environment,
    )
    cell = (  # what a user runs to see the versions (one cell, printing "conda pip")
        "import importlib, pathlib, sys\n"
        f"conda = pathlib.Path(sys.prefix, 'share', {conda_name!r}, 'VERSION').read_text()\n"
        f"pip = importlib.import_module({pip_name.replace('-', '_')!r}).__version__\n"
        "print('versions:', conda.strip(), pip)"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.metadata["jupyter_repo"] = {
        "owner": owner,
        "name": f"nb-{unique}",
        "version": "1",
        "environment": {"owner": owner, "name": environment, "version": "1"},
    }
    path = root / f"analysis-{unique}.ipynb"
    path.write_text(nbformat.writes(notebook))
    publish.upload(server, token, owner, path, package=f"nb-{unique}", version="1", private=private)
    return AttachedNotebook(
        owner,
        token,
        f"nb-{unique}",
        environment,
        conda_name,
        conda_version,
        pip_name,
        pip_version,
    )
