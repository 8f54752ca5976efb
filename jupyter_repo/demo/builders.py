"""Build small, valid sample files of every package type, in memory-light ways.

Used by the demo bootstrap (``jupyter repo serve --demo``), the tests and the benchmarks,
so that all three exercise the server with real archives rather than mocks.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

PREFIX_PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"


def _tar_bytes(files: dict[str, bytes], mode: Literal["w", "w:gz", "w:bz2"] = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            info.mode = 0o755 if name.startswith("bin/") else 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def conda_package(
    directory: Path,
    name: str,
    version: str,
    *,
    build: str = "0",
    build_number: int = 0,
    subdir: str = "noarch",
    depends: Iterable[str] = (),
    fmt: str = ".conda",
    summary: str = "",
    license: str = "BSD-3-Clause",
    payload: dict[str, bytes] | None = None,
    index_overrides: dict[str, object] | None = None,
    noarch: str | None = None,
    extra_info: dict[str, bytes] | None = None,
) -> Path:
    """Write ``<directory>/<name>-<version>-<build><fmt>`` and return its path."""
    if payload is None:
        payload = {
            f"share/{name}/VERSION": f"{version}\n".encode(),
            f"bin/{name}": f"#!/bin/sh\necho {name} {version} {PREFIX_PLACEHOLDER}\n".encode(),
        }
    index: dict[str, object] = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": build_number,
        "depends": list(depends),
        "license": license,
        "subdir": subdir,
        "timestamp": 1_700_000_000_000,
    }
    if subdir == "noarch":
        index["noarch"] = noarch or "generic"
    else:
        index["platform"], index["arch"] = subdir.split("-", 1)
    if index_overrides:
        index.update(index_overrides)
    paths = []
    for path, data in sorted(payload.items()):
        entry: dict[str, object] = {
            "_path": path,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        if PREFIX_PLACEHOLDER.encode() in data:
            entry.update(file_mode="text", prefix_placeholder=PREFIX_PLACEHOLDER)
        paths.append(entry)
    info = {
        "info/index.json": json.dumps(index, indent=2).encode(),
        "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}).encode(),
        "info/files": "\n".join(sorted(payload)).encode() + b"\n",
        "info/about.json": json.dumps(
            {
                "summary": summary or f"The {name} sample package",
                "license": license,
                "home": "https://example.org/" + name,
            }
        ).encode(),
    }
    info.update(extra_info or {})
    stem = f"{name}-{version}-{build}"
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{stem}{fmt}"
    if fmt == ".tar.bz2":
        target.write_bytes(_tar_bytes({**info, **payload}, mode="w:bz2"))
    elif fmt == ".conda":
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
            archive.writestr(f"info-{stem}.tar.zst", zstd.compress(_tar_bytes(info), 3))
            archive.writestr(f"pkg-{stem}.tar.zst", zstd.compress(_tar_bytes(payload), 3))
    else:
        raise ValueError(f"unknown conda format {fmt!r}")
    return target


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def metadata_text(
    name: str,
    version: str,
    summary: str,
    requires: Iterable[str] = (),
    requires_python: str | None = ">=3.8",
    description: str | None = None,
    description_content_type: str | None = None,
) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        "License: BSD-3-Clause",
    ]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {item}" for item in requires]
    if description_content_type:
        lines.append(f"Description-Content-Type: {description_content_type}")
    body = description if description is not None else f"# {name}\n\n{summary}\n"
    return "\n".join(lines) + "\n\n" + body


def wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    summary: str = "",
    requires: Iterable[str] = (),
    module_source: str | None = None,
    requires_python: str | None = ">=3.8",
    description: str | None = None,
    description_content_type: str | None = None,
) -> Path:
    """A pure-Python wheel whose module ``<name>`` has ``__version__`` (pip-installable)."""
    module = name.replace("-", "_").lower()
    dist = name.replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": (
            module_source or f'"""{summary or name}"""\n__version__ = "{version}"\n'
        ).encode(),
        f"{dist_info}/METADATA": metadata_text(
            name,
            version,
            summary or f"The {name} sample wheel",
            requires,
            requires_python,
            description,
            description_content_type,
        ).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: jupyter-repo-demo\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/top_level.txt": f"{module}\n".encode(),
    }
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return target


def sdist(directory: Path, name: str, version: str, *, summary: str = "") -> Path:
    dist = name.replace("-", "_")
    top = f"{dist}-{version}"
    module = dist.lower()
    files = {
        f"{top}/PKG-INFO": metadata_text(
            name, version, summary or f"The {name} sample sdist"
        ).encode(),
        f"{top}/pyproject.toml": (
            '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
        ).encode(),
        f"{top}/{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{top}.tar.gz"
    target.write_bytes(_tar_bytes(files, mode="w:gz"))
    return target


def notebook_json(
    title: str = "Sample analysis",
    *,
    kernel: str = "python3",
    extra_cells: list[dict[str, object]] | None = None,
) -> dict[str, object]:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from jupyter_repo.demo.png import tiny_png

    cells = [
        new_markdown_cell(
            f"# {title}\n\nA short analysis of sample data, published with jupyter-repo."
        ),
        new_code_cell(
            "total = sum(range(10))\nprint(total)",
            outputs=[new_output("stream", name="stdout", text="45\n")],
            execution_count=1,
        ),
        new_code_cell(
            "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': [3, 4]})",
            outputs=[
                new_output(
                    "execute_result",
                    data={
                        "text/plain": "   a  b\n0  1  3\n1  2  4",
                        "text/html": '<table class="dataframe"><thead><tr><th></th><th>a</th>'
                        "<th>b</th></tr></thead><tbody><tr><th>0</th><td>1</td><td>3</td></tr>"
                        "<tr><th>1</th><td>2</td><td>4</td></tr></tbody></table>",
                    },
                    execution_count=2,
                )
            ],
            execution_count=2,
        ),
        new_code_cell(
            "plot()",
            outputs=[
                new_output("display_data", data={"image/png": tiny_png(), "text/plain": "<Figure>"})
            ],
            execution_count=3,
        ),
    ]
    cells.extend(extra_cells or [])
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": kernel,
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python", "version": "3.11"}
    nbformat.validate(notebook)
    return json.loads(nbformat.writes(notebook))


def notebook(directory: Path, filename: str = "analysis.ipynb", **kwargs: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    target.write_text(json.dumps(notebook_json(**kwargs), indent=1))  # type: ignore[arg-type]
    return target


ENVIRONMENT_YML = """name: demo-env
channels:
  - conda-forge
dependencies:
  - python=3.11
  - numpy>=1.26
  - pandas
  - pip
  - pip:
      - requests==2.31.0
"""

REQUIREMENTS_TXT = "requests==2.31.0\nnumpy>=1.26  # arrays\n"


def environment_file(
    directory: Path, filename: str = "environment.yml", content: str = ENVIRONMENT_YML
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    target.write_text(content)
    return target


def project_archive(directory: Path, name: str = "demo-project", readme: str | None = None) -> Path:
    """A project folder (notebook, data, environment.yml) as ``<name>.tar.gz``."""
    files = {
        f"{name}/environment.yml": ENVIRONMENT_YML.encode(),
        f"{name}/analysis.ipynb": json.dumps(notebook_json("Project analysis")).encode(),
        f"{name}/data/measurements.csv": b"time,value\n0,1.5\n1,2.5\n",
        f"{name}/README.md": (readme or f"# {name}\n\nA sample project.\n").encode(),
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.tar.gz"
    target.write_bytes(_tar_bytes(files, mode="w:gz"))
    return target


def csv_file(directory: Path, filename: str = "measurements.csv", rows: int = 20) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    lines = ["station,time,temperature"] + [
        f"s{index % 3},{int(time.time()) - index * 60},{15 + index % 7}.{index % 10}"
        for index in range(rows)
    ]
    target.write_text("\n".join(lines) + "\n")
    return target
