"""The ``jupyter_repo`` key of a notebook's metadata: where and at which version it was
published, so that publishing again creates the next version of the same package.

The record holds names, a version and public URLs only, never a token.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

from jupyter_repo.client.errors import BadRequest

METADATA_KEY = "jupyter_repo"
RECORD_FIELDS = ("owner", "name", "version", "url", "repository")
LINK_FIELDS = ("owner", "name", "version", "url")


def slug(text: str, fallback: str = "notebook") -> str:
    """A package name made from a file or folder name (``My Analysis.ipynb`` → ``my-analysis``)."""
    value = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-._+").lower()[:100].rstrip("-._+")
    return value or fallback


#: A notebook's environment is shared as ``<notebook's package name>-env``.
ENVIRONMENT_SUFFIX = "-env"


def environment_name(notebook_name: str) -> str:
    """The one naming rule for a notebook's environment: publishing the notebook with its
    environment, sharing its kernel's environment and Lab's suggestion all use it, so one
    environment is not stored under two names."""
    return f"{notebook_name}{ENVIRONMENT_SUFFIX}"


def notebook_environment_name(notebook: dict[str, Any], filename: str) -> str:
    """The environment name sharing this notebook's environment suggests: the one its last
    publish attached, else :func:`environment_name` of the name its publish takes (the
    recorded one, else the file's slug)."""
    record = previous_record(notebook)
    attached = record.get("environment") if record else None
    if isinstance(attached, dict) and isinstance(attached.get("name"), str) and attached["name"]:
        return str(attached["name"])
    return environment_name(str(record["name"]) if record else slug(Path(filename).stem))


def previous_record(notebook: dict[str, Any]) -> dict[str, Any] | None:
    """The publication record a notebook carries, if it is well formed."""
    record = (notebook.get("metadata") or {}).get(METADATA_KEY)
    if not isinstance(record, dict):
        return None
    if not all(
        isinstance(record.get(key), str) and record.get(key) for key in ("owner", "name", "version")
    ):
        return None
    return record


def make_record(
    owner: str,
    name: str,
    version: str,
    url: str,
    repository: str,
    environment: dict[str, str] | None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "owner": owner,
        "name": name,
        "version": version,
        "url": url,
        "repository": repository,
    }
    if environment:
        record["environment"] = {key: environment[key] for key in LINK_FIELDS if key in environment}
    return record


def with_record(notebook: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``notebook`` whose metadata carries ``record`` (replacing any older one)."""
    stamped = copy.deepcopy(notebook)
    stamped.setdefault("metadata", {})[METADATA_KEY] = record
    return stamped


def read_file(path: Path) -> dict[str, Any]:
    """A notebook file as plain JSON (version 4; older ones are converted by nbformat).

    The repository validates what it receives, so plain JSON is enough here and keeps the
    command fast (nbformat pulls in jsonschema, which is slow to import).
    """
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadRequest(f"{path} does not exist.") from None
    except (OSError, ValueError) as error:
        raise BadRequest(f"{path} is not a readable notebook: {error}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("nbformat"), int):
        raise BadRequest(f"{path} is not a notebook (no 'nbformat' version).")
    if notebook["nbformat"] < 4:
        import nbformat

        notebook = json.loads(nbformat.writes(nbformat.reads(json.dumps(notebook), as_version=4)))
    return notebook


def dumps(notebook: dict[str, Any]) -> str:
    """Notebook JSON as Jupyter writes it (one-space indent, sorted keys, UTF-8)."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_file(path: Path, notebook: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.jupyter-repo.tmp")
    temporary.write_text(dumps(notebook), encoding="utf-8")
    if path.exists():
        shutil.copymode(path, temporary)
    temporary.replace(path)
