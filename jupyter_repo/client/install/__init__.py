"""Installing packages from the repository into an environment (blocking; reused by the
CLI, the Jupyter extension's install tasks and the notebook widgets).

* PyPI packages: ``<python> -m pip install`` from the namespace's index
  ``<url>/pypi/<owner>/simple``, the token in ``PIP_INDEX_URL`` (:mod:`.pip`).
* conda packages: solved and linked with py-rattler into the target prefix, when that
  prefix is a conda environment (it has ``conda-meta/``) (:mod:`.conda`).
* environments: their pip lock (``requirements.txt``) is installed with pip; or first
  planned against the target and then exactly the changed pins are installed
  (:mod:`.environments`).

The target is an interpreter (:mod:`.targets`): the current one for the CLI, a kernel's for
the extension. :class:`Installer` (:mod:`.installer`) puts these together.
"""

from jupyter_repo.client.install.conda import conda_install
from jupyter_repo.client.install.context import Progress
from jupyter_repo.client.install.environments import MAX_SPEC_BYTES
from jupyter_repo.client.install.installer import Installer
from jupyter_repo.client.install.pip import (
    Log,
    index_with_credentials,
    pip_install,
    run_streaming,
)
from jupyter_repo.client.install.targets import Target
from jupyter_repo.client.refs import InstallSpec

__all__ = [
    "MAX_SPEC_BYTES",
    "InstallSpec",
    "Installer",
    "Log",
    "Progress",
    "Target",
    "conda_install",
    "index_with_credentials",
    "pip_install",
    "run_streaming",
]
