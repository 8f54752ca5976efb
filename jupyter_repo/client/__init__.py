"""The Python client of a jupyter-repo repository, shared by the ``jupyter repo`` client
commands, the Jupyter server extension and the notebook widgets.

* :mod:`~jupyter_repo.client.api` — :class:`RepoClient`, the REST API over ``requests``
* :mod:`~jupyter_repo.client.config` — the repository URL and the saved tokens
* :mod:`~jupyter_repo.client.refs` — ``OWNER/NAME[/VERSION]``, as users write a package
* :mod:`~jupyter_repo.client.errors` — typed errors with one-line messages
* :mod:`~jupyter_repo.client.environment` — capturing a kernel's environment as specs
* :mod:`~jupyter_repo.client.project` — packing a project folder with exclusion rules
* :mod:`~jupyter_repo.client.notebooks` — the ``jupyter_repo`` notebook metadata
* :mod:`~jupyter_repo.client.publish` — publishing notebooks, environments and projects
* :mod:`~jupyter_repo.client.install` — installing packages into an environment
"""

from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.config import Credentials, CredentialStore, resolve
from jupyter_repo.client.errors import ClientError

__all__ = ["ClientError", "CredentialStore", "Credentials", "RepoClient", "resolve"]
