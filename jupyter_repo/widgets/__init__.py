"""Notebook widgets (ipywidgets 8): search the repository and install into this kernel.

One module per job:

* :mod:`~jupyter_repo.widgets.connection` — a ``RepoClient`` from the user's configuration
  (works in a plain kernel, with or without the server extension); masking the token
* :mod:`~jupyter_repo.widgets.running` — ``TaskPanel``: progress, live log, Cancel, status
  for a blocking job on a worker thread
* :mod:`~jupyter_repo.widgets.searching` — debounced search as you type, stale answers dropped
* :mod:`~jupyter_repo.widgets.installed` — what the kernel's environment has installed
* :mod:`~jupyter_repo.widgets.rendering` — escaped HTML of result rows
* :mod:`~jupyter_repo.widgets.search` — ``PackageSearch`` and the ``search("query")`` shortcut
* :mod:`~jupyter_repo.widgets.magic` — the ``%repo QUERY`` line magic

Note: the function ``search`` shadows the submodule of the same name as an attribute of this
package; import the module's other names with ``from jupyter_repo.widgets.search import ...``.

Importing this package has no side effects: nothing is displayed, nothing is contacted.
"""

from jupyter_repo.widgets.magic import load_ipython_extension
from jupyter_repo.widgets.search import PackageSearch, search

# --- EnvironmentInstaller (branch envwidget): its export goes here -------------------------
# from jupyter_repo.widgets.environment import EnvironmentInstaller
# ------------------------------------------------------------------------------------------

__all__ = ["PackageSearch", "load_ipython_extension", "search"]
