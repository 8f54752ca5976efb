"""The real ``anaconda`` CLI (anaconda-client 1.16), isolated in its own config folder."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support import processes


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class AnacondaCLI:
    """Runs ``anaconda`` with ``BINSTAR_CONFIG_DIR`` and ``HOME`` under ``root``."""

    def __init__(self, root: Path, api_url: str) -> None:
        self.root = root
        self.home = root / "home"
        self.config_dir = root / "binstar"
        (self.config_dir / "data").mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        self.executable = shutil.which("anaconda", path=os.path.dirname(sys.executable)) or (
            "anaconda"
        )
        self.api_url = api_url
        result = self("config", "--set", "url", api_url)
        assert result.returncode == 0, result.output

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("ANACONDA_API_TOKEN", "BINSTAR_API_TOKEN"):
            env.pop(key, None)
        env.update(
            {
                "HOME": str(self.home),
                "BINSTAR_CONFIG_DIR": str(self.config_dir),
                "XDG_CONFIG_HOME": str(self.home / ".config"),
                "OTEL_SDK_DISABLED": "true",
                "ANACONDA_CLIENT_LEGACY_INTERACTIVE_LOGIN": "1",
                "NO_COLOR": "1",
                "TERM": "dumb",
                "COLUMNS": "200",
            }
        )
        return env

    def __call__(
        self, *args: str, input: str | None = None, cwd: Path | None = None, timeout: float = 120
    ) -> Result:
        completed = processes.run(
            [self.executable, *args],
            env=self.env(),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or self.root,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def ok(self, *args: str, **kwargs: object) -> Result:
        result = self(*args, **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, f"anaconda {' '.join(args)} failed:\n{result.output}"
        return result

    def login(self, user: str, password: str) -> Result:
        return self.ok("login", "--username", user, "--password", password)
