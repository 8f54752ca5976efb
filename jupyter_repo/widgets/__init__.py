"""Notebook widgets (ipywidgets 8): search the repository and install into this kernel.

One module per job:

* :mod:`~jupyter_repo.widgets.connection` — a ``RepoClient`` from the user's configuration
  (works in a plain kernel, with or without the server extension); masking the token
* :mod:`~jupyter_repo.widgets.running` — ``TaskPanel``: progress, live log, Cancel, status
  for a blocking job on a worker thread
* :mod:`~jupyter_repo.widgets.environment` — ``EnvironmentInstaller``: what a shared
  environment would change in this kernel, then apply it

Importing this package has no side effects: nothing is displayed, nothing is contacted.
"""

from jupyter_repo.widgets.environment import EnvironmentInstaller

__all__ = ["EnvironmentInstaller"]
