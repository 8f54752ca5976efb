"""Where packages go: an interpreter and its prefix (this one for the CLI, a kernel's for
the extension and the widgets)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyter_repo.client import errors


@dataclass(frozen=True)
class Target:
    """Where packages go: an interpreter and its prefix."""

    python: str
    prefix: str

    @property
    def is_conda(self) -> bool:
        return (Path(self.prefix) / "conda-meta").is_dir()

    @classmethod
    def current(cls) -> Target:
        return cls(sys.executable, sys.prefix)

    @classmethod
    def of_interpreter(cls, python: str, env: dict[str, str] | None = None) -> Target:
        if python == sys.executable:
            return cls.current()
        try:
            completed = subprocess.run(
                [python, "-c", "import sys; print(sys.prefix)"],
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, **(env or {})},
                check=False,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise errors.InstallError(f"Cannot run {python}: {error}") from None
        if completed.returncode != 0 or not completed.stdout.strip():
            raise errors.InstallError(f"Cannot run {python}: {completed.stderr.strip()[-300:]}")
        return cls(python, completed.stdout.strip())
