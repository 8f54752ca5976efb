"""jupyter-repo: a self-hostable repository for notebooks, environments, projects and packages."""

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab's `develop` tooling finds the built front-end (`labextension/`)."""
    return [{"src": "labextension", "dest": "jupyter-repo"}]
