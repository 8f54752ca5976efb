"""The :class:`Installer` the CLI, the extension's install tasks and the widgets use: one
package by its kind (PyPI files with pip, conda files with py-rattler, an environment's pip
lock), and the plan-then-apply of a shared environment (:mod:`.environments`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_repo.client import errors
from jupyter_repo.client.api import JSON
from jupyter_repo.client.envdiff import EnvironmentLock, Plan
from jupyter_repo.client.environment import CapturedEnvironment, capture_interpreter
from jupyter_repo.client.install import environments
from jupyter_repo.client.install.conda import conda_install
from jupyter_repo.client.install.context import Context
from jupyter_repo.client.refs import EnvironmentRef, Ref

#: ``install(method=...)`` -> the package type it installs.
PACKAGE_TYPES = {"pip": "pypi", "conda": "conda", "env": "env"}


class Installer(Context):
    """Installs packages of one repository into one target (see :class:`Context` for the
    log, progress, cancel and index settings)."""

    def install(self, spec: Ref, *, label: str | None = None, method: str | None = None) -> JSON:
        """Install one package (or environment) of the repository into the target.

        ``method`` ("pip", "conda" or "env") picks how when a package has several kinds of
        files; by default PyPI files win, then conda, then environment specs.
        """
        self.progress(None, f"Looking up {spec}")
        package = self.package(spec)
        types = list(package.get("package_types") or [])
        if method is not None:
            wanted = PACKAGE_TYPES.get(method, method)
            if wanted == "env" and "ipynb" in types:  # its attached environment, if any
                return self.install_environment(spec.owner, spec.name, spec.version)
            if wanted not in types:
                raise errors.InstallError(
                    f"{spec.owner}/{spec.name} has no {method} files "
                    f"(it holds {', '.join(types) or 'no files'})."
                )
            types = [wanted]
        version = spec.version or package.get("latest_version")
        if "pypi" in types:
            self._pip_package(spec, label)
            return self._installed(spec, version, "pip")
        if "conda" in types:
            self._conda_package(spec, label)
            return self._installed(spec, version, "conda")
        if "env" in types:
            return self.install_environment(spec.owner, spec.name, spec.version)
        raise errors.InstallError(
            f"{spec.owner}/{spec.name} holds {', '.join(types) or 'no files'}; only pip and "
            "conda packages and environments can be installed (open notebooks and projects "
            "instead)."
        )

    def _pip_package(self, spec: Ref, label: str | None) -> None:
        shown = self.client.pypi_index(spec.owner, label)
        requirement = f"{spec.name}=={spec.version}" if spec.version else spec.name
        self.log(f"pip install {requirement} from {shown} into {self.target.prefix}")
        self.progress(None, f"Installing {spec} with pip")
        self.pip(
            [requirement],
            index_url=self.index(spec.owner, label),
            extra_index_urls=self.extra_index_urls,
        )

    def _conda_package(self, spec: Ref, label: str | None) -> None:
        channel = self.client.conda_channel(spec.owner, label)
        if not self.target.is_conda:
            raise errors.InstallError(
                f"{spec.owner}/{spec.name} is a conda package and {self.target.prefix} is "
                f"not a conda environment; install it with: conda install -c {channel} "
                f"{spec.name}"
            )
        match = f"{spec.name}=={spec.version}" if spec.version else spec.name
        self.log(f"conda install {match} from {channel} into {self.target.prefix}")
        self.progress(None, f"Installing {spec} with conda")
        conda_install(
            Path(self.target.prefix),
            [self.client.conda_channel(spec.owner, label, with_token=True)],
            [match],
            log=self.log,
        )

    def install_environment(self, owner: str, name: str, version: str | None = None) -> JSON:
        """Install the pip lock of a published environment (or of the environment a
        notebook has attached) into the target."""
        ref = environments.install_pip_lock(self, EnvironmentRef(owner, name, version))
        return self._installed(ref, ref.version, "pip")

    # -- environments: what would change, then exactly that ----------------------------------

    def environment_lock(
        self, owner: str, name: str, version: str | None = None
    ) -> EnvironmentLock:
        """The exact pip and conda pins of a published environment (latest by default)."""
        return environments.read_lock(self, EnvironmentRef(owner, name, version))

    def capture_target(self) -> CapturedEnvironment:
        """The target's pip packages, read by its own interpreter."""
        return capture_interpreter(self.target.python)

    def plan_environment(self, owner: str, name: str, version: str | None = None) -> Plan:
        """What installing the environment would add, upgrade or downgrade in the target:
        its pip packages, and its conda packages when the target is a conda environment."""
        return environments.plan(self, EnvironmentRef(owner, name, version))

    def conda_channels(self, lock: EnvironmentLock, *, with_token: bool = True) -> list[str]:
        """Where an environment's conda pins are solved: the owner's channel first."""
        return environments.channels(self, lock, with_token=with_token)

    def apply_plan(self, plan: Plan) -> JSON:
        """Install exactly the pins ``plan`` changes, then check the target matches."""
        return environments.apply(self, plan)

    def _installed(self, ref: Ref, version: Any, method: str) -> JSON:
        self.progress(1.0, f"Installed {ref.owner}/{ref.name} {version or ''}".rstrip())
        return {
            "owner": ref.owner,
            "name": ref.name,
            "version": version,
            "method": method,
            "prefix": self.target.prefix,
            "message": f"Installed {ref.owner}/{ref.name} {version or ''} into "
            f"{self.target.prefix}; restart the kernel if it was already "
            "imported.",
        }
