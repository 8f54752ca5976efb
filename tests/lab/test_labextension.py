"""The JupyterLab extension is built by the Python build and installed where Jupyter finds it
(acceptance: `pip install .` builds and installs it; Jupyter lists it enabled)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

import jupyter_repo.client
import jupyter_repo.extension
from jupyter_repo.client import errors
from tests.support import processes
from tests.support.lab import LABEXTENSION
from tests.support.paths import ROOT

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def jupyter(*args: str) -> str:
    done = processes.run(
        [sys.executable, "-m", "jupyter", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return ANSI.sub("", done.stdout + done.stderr)


def typescript_reasons() -> list[str]:
    """The codes of ``SERVER_REASONS`` in labextension/src/errors.ts, in order."""
    source = (ROOT / "labextension" / "src" / "errors.ts").read_text()
    match = re.search(r"export const SERVER_REASONS = \[(.*?)\] as const;", source, re.S)
    assert match, "errors.ts no longer declares `export const SERVER_REASONS = [...] as const;`"
    body = re.sub(r"//[^\n]*|/\*.*?\*/", "", match.group(1), flags=re.S)
    items = [item.strip() for item in body.split(",") if item.strip()]
    quoted = [re.fullmatch(r"'([a-z_]+)'", item) for item in items]
    assert all(quoted), f"not plain string codes: {items}"
    return [m.group(1) for m in quoted if m]


def test_error_reasons_are_the_same_in_python_and_typescript() -> None:
    """The Lab extension switches on the ``reason`` of the server extension's errors; the
    set is defined once in Python and errors.ts must list exactly the same codes."""
    reasons = typescript_reasons()
    assert len(reasons) == len(set(reasons))
    assert set(reasons) == set(errors.REASONS), (
        f"only in TypeScript: {sorted(set(reasons) - set(errors.REASONS))}; "
        f"only in Python: {sorted(set(errors.REASONS) - set(reasons))}"
    )
    # Every error class of the client and the extension answers with a code of the set.
    for package in (jupyter_repo.client, jupyter_repo.extension):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    kinds = [errors.ClientError]
    for kind in kinds:
        kinds.extend(kind.__subclasses__())
    assert {kind.reason for kind in kinds} <= set(errors.REASONS)


def test_environment_name_rule_is_the_same_in_python_and_typescript() -> None:
    """Defect 5 (issue 17): *Share environment* asks the server for its suggestion
    (``publish/environment/name``, the rule a notebook publish follows); the fallback it
    shows until then must be the same rule: ``<notebook>-env``, never ``-environment``."""
    from jupyter_repo.client import notebooks

    source = (ROOT / "labextension" / "src" / "targets.ts").read_text()
    match = re.search(r"export const ENVIRONMENT_SUFFIX = '([^']*)';", source)
    assert match, "targets.ts no longer declares `export const ENVIRONMENT_SUFFIX = '...';`"
    assert match.group(1) == notebooks.ENVIRONMENT_SUFFIX
    assert "-environment`" not in source
    index = (ROOT / "labextension" / "src" / "index.ts").read_text()
    assert "client.environmentName(target.notebookPath)" in index
    api = (ROOT / "labextension" / "src" / "api.ts").read_text()
    assert "'publish/environment/name'" in api


def test_jupyter_lists_the_labextension_enabled() -> None:
    listing = jupyter("labextension", "list")
    assert re.search(rf"^\s*{LABEXTENSION} v[\d.]+ enabled\s+OK", listing, re.M), listing


def test_jupyter_lists_the_server_extension_enabled() -> None:
    listing = jupyter("server", "extension", "list")
    assert re.search(r"^\s*jupyter_repo enabled", listing, re.M), listing


def checkout_copy(target: Path) -> Path:
    """The files a clean checkout has (tracked or new, never ignored build output)."""
    names = (
        processes.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, names):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_wheel_from_a_clean_checkout_carries_the_built_extension(tmp_path: Path) -> None:
    """What `pip install .` installs: the build runs jlpm (from the build requirements)
    with the committed yarn.lock, and the wheel ships the result as shared data."""
    source = checkout_copy(tmp_path / "checkout")
    assert not (source / "jupyter_repo" / "labextension").exists()
    out = tmp_path / "wheels"
    processes.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        timeout=600,
    )
    (wheel,) = out.glob("jupyter_repo-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        data = next(n.split("/data/")[0] + "/data/" for n in names if "/data/" in n)
        prefix = f"{data}share/jupyter/labextensions/{LABEXTENSION}/"
        package = json.loads(archive.read(prefix + "package.json"))
        install = json.loads(archive.read(prefix + "install.json"))
        schema = json.loads(archive.read(prefix + f"schemas/{LABEXTENSION}/plugin.json"))
    assert package["name"] == LABEXTENSION
    assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert prefix + package["jupyterlab"]["_build"]["load"] in names
    assert prefix + "static/style.js" in names
    assert install == {
        "packageManager": "python",
        "packageName": "jupyter-repo",
        "uninstallInstructions": install["uninstallInstructions"],
    }
    assert schema["jupyter.lab.menus"]["context"][0]["command"] == "jupyter-repo:publish-selected"
    # Build output is never part of the Python package itself, only of the shared data.
    assert not [n for n in names if n.startswith("jupyter_repo/labextension/")]
