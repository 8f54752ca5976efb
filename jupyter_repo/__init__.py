"""jupyter-repo: a self-hostable repository for notebooks, environments, projects and packages."""

from __future__ import annotations

from typing import Any

try:  # written by the build from labextension/package.json, the one place it is defined
    from jupyter_repo._version import __version__ as __version__
except ImportError:  # a source tree that was never built or installed
    __version__ = "0+unknown"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab's `develop` tooling finds the built front-end (`labextension/`)."""
    return [{"src": "labextension", "dest": "jupyter-repo"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The Jupyter server extension (imported only when a Jupyter server loads it)."""
    from jupyter_repo.extension.app import RepoExtension

    return [{"module": "jupyter_repo.extension.app", "app": RepoExtension}]
