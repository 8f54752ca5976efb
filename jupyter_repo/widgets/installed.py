"""What is installed in the kernel's environment, to show "installed here: 1.2" next to a
search result and to tell whether an install needs a kernel restart.

pip: the ``*.dist-info`` folders on the kernel's ``sys.path`` (or in the prefix's
``site-packages`` for another target), as ``importlib.metadata`` finds them; conda: the
``conda-meta/*.json`` file names of the prefix (``<name>-<version>-<build>.json``). Both
are read once and cached for a few seconds, so a search answer costs no file system walk
per result.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import threading
import time
from pathlib import Path

from packaging.utils import canonicalize_name

from jupyter_repo.client.install import Target

CACHE_SECONDS = 10.0


class InstalledIndex:
    """Installed pip distributions and conda packages of one target."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._pip: dict[str, str] = {}
        self._conda: dict[str, str] = {}

    def refresh(self) -> None:
        """Forget the cache (after an install)."""
        with self._lock:
            self._read_at = 0.0
        importlib.invalidate_caches()

    def _load(self) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < CACHE_SECONDS:
                return
            self._pip = self._read_pip()
            self._conda = self._read_conda()
            self._read_at = time.monotonic()

    def _read_pip(self) -> dict[str, str]:
        """``<name>-<version>.dist-info`` folder names (no METADATA parsing: a big
        environment takes milliseconds, not a tenth of a second)."""
        if self.target.python == sys.executable:
            folders = [Path(entry or ".") for entry in sys.path]
        else:
            folders = list(Path(self.target.prefix).glob("lib/python3*/site-packages"))
        found: dict[str, str] = {}
        for folder in folders:
            if not folder.is_dir():
                continue
            for suffix in ("*.dist-info", "*.egg-info"):
                for path in folder.glob(suffix):
                    name, _, rest = path.name.rsplit(".", 1)[0].partition("-")
                    version = rest.split("-")[0]
                    if name and version:
                        found.setdefault(canonicalize_name(name), version)
        return found

    def _read_conda(self) -> dict[str, str]:
        meta = Path(self.target.prefix) / "conda-meta"
        found: dict[str, str] = {}
        if meta.is_dir():
            for path in meta.glob("*.json"):
                parts = path.stem.rsplit("-", 2)
                if len(parts) == 3:
                    found[canonicalize_name(parts[0])] = parts[1]
        return found

    def version(self, name: str, package_types: list[str] | tuple[str, ...] = ()) -> str | None:
        """The installed version of ``name`` (conda first for conda packages), or None."""
        self._load()
        key = canonicalize_name(name)
        order = ("conda", "pip") if "conda" in package_types else ("pip", "conda")
        for kind in order:
            version = (self._conda if kind == "conda" else self._pip).get(key)
            if version:
                return version
        return None

    def imported(self, name: str) -> bool:
        """Whether a module of distribution ``name`` is imported in this process."""
        if self.target.python != sys.executable:
            return False
        modules = {name.replace("-", "_").lower()}
        try:
            top_level = importlib.metadata.distribution(name).read_text("top_level.txt")
        except (importlib.metadata.PackageNotFoundError, OSError):
            top_level = None
        modules.update(line.strip() for line in (top_level or "").splitlines() if line.strip())
        return any(module in sys.modules for module in modules)
