"""jupyter-repo: a self-hostable repository for notebooks, environments, projects and packages."""

__version__ = "0.1.0"
