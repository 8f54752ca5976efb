"""Understanding uploaded files: each package type has one inspector module.

An inspector reads a spooled upload from disk (in a worker thread), checks that it is what
it claims to be, and returns an :class:`Inspection` with the metadata the repository
indexes. Every read of compressed content is bounded by :class:`Limits`, so that an archive
bomb is refused instead of filling memory or disk.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from jupyter_repo.repository.errors import InvalidInput
from jupyter_repo.repository.inspect.base import Inspection, Limits

__all__ = ["Inspection", "Limits", "detect_type", "inspect_file"]

Inspector = Callable[[Path, str, Limits], Inspection]


def detect_type(filename: str) -> str:
    """Guess a package type from a file name, for uploads that do not declare one."""
    lower = filename.lower()
    if lower.endswith(".conda"):
        return "conda"
    if lower.endswith(".whl"):
        return "pypi"
    if lower.endswith(".ipynb"):
        return "ipynb"
    if lower.endswith((".yml", ".yaml")) or (
        lower.endswith(".txt") and ("requirements" in lower or lower.endswith(".lock.txt"))
    ):
        return "env"
    if lower.endswith(".tar.bz2"):
        return "conda"
    if lower.endswith((".tar.gz", ".zip")) and "-" in lower:
        return "pypi"
    return "file"


#: The inspector module of each package type, imported when a file of its type comes: a
#: process that only stores conda packages (a mirror sync) never imports nbformat and
#: jsonschema, which take seconds to import.
INSPECTORS = {
    "conda": "conda",
    "pypi": "pypi",
    "ipynb": "notebook",
    "env": "envspec",
    "project": "project",
    "file": "datafile",
}


def inspect_file(path: Path, distribution_type: str, filename: str, limits: Limits) -> Inspection:
    """Inspect the spooled file at ``path`` as ``distribution_type``."""
    module = INSPECTORS.get(distribution_type)
    if module is None:
        raise InvalidInput(f"Unknown package type {distribution_type!r}.")
    inspector: Inspector = importlib.import_module(f"{__name__}.{module}").inspect
    try:
        return inspector(path, filename, limits)
    except RecursionError:
        # Whatever parser met it (JSON, YAML, XML...): a document nested this deeply is
        # made to break parsers, not to describe a package.
        raise InvalidInput(f"{filename} is nested too deeply to be read.") from None
