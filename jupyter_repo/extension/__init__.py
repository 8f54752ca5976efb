"""The Jupyter server extension: REST endpoints under ``/jupyter-repo/`` that publish the
notebook, the kernel's environment and project folders, search the repository, and install
packages into kernels (the JupyterLab extension and the widgets call them).

* :mod:`~jupyter_repo.extension.app` — ``RepoExtension``, the ``ExtensionApp`` and its config
* :mod:`~jupyter_repo.extension.handlers` — the endpoints (authenticated, authorized, XSRF)
* :mod:`~jupyter_repo.extension.operations` — what they do, off the event loop
* :mod:`~jupyter_repo.extension.tasks` — long operations as pollable, cancellable tasks
* :mod:`~jupyter_repo.extension.connection` — the repository URL, token and user
* :mod:`~jupyter_repo.extension.bodies` — request bodies, checked
"""
