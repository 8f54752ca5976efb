"""Where the client finds the repository URL and its token.

The URL is kept in ``<jupyter config dir>/jupyter_repo/client.json`` (readable) and tokens,
keyed by repository URL, in ``tokens.json`` next to it (mode 0600, written atomically), so a
token is never sent to another repository than the one that issued it. The environment
variables ``JUPYTER_REPO_URL`` and ``JUPYTER_REPO_TOKEN`` override both files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jupyter_core.paths import jupyter_config_dir

from jupyter_repo.client.errors import BadRequest, NotConfigured

URL_VARIABLE = "JUPYTER_REPO_URL"
TOKEN_VARIABLE = "JUPYTER_REPO_TOKEN"
SETTINGS_FILE = "client.json"
TOKENS_FILE = "tokens.json"


def default_directory() -> Path:
    return Path(jupyter_config_dir()) / "jupyter_repo"


def normalise_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing ``/`` or ``/api``.

    Credentials in the URL (``user:pass@``, ``/t/<token>/``) are refused: the URL is
    recorded in published notebooks, so it must never carry a secret.
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"The repository URL must start with http:// or https://, got {text!r}.")
    if parts.username or parts.password:
        raise BadRequest("Do not put credentials in the repository URL; log in instead.")
    if parts.query or parts.fragment:
        raise BadRequest("The repository URL cannot have a query or a fragment.")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    if "/t/" in path + "/":
        raise BadRequest("Do not put a token in the repository URL; log in instead.")
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, "", ""))


@dataclass(frozen=True)
class Credentials:
    """A repository URL and the token to use with it (either may be missing)."""

    url: str | None
    token: str | None = None

    def require_url(self) -> str:
        if not self.url:
            raise NotConfigured(
                "No repository is configured: run 'jupyter repo login --url URL' "
                f"or set {URL_VARIABLE}."
            )
        return self.url


class CredentialStore:
    """The user's saved repository URL and tokens."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory else default_directory()

    @property
    def settings_path(self) -> Path:
        return self.directory / SETTINGS_FILE

    @property
    def tokens_path(self) -> Path:
        return self.directory / TOKENS_FILE

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise NotConfigured(f"Cannot read {path}: {error}") from None
        return value if isinstance(value, dict) else {}

    def _write(self, path: Path, value: dict[str, Any], mode: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.fchmod(descriptor, mode)  # an older temp file may have had wider rights
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(value, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        os.replace(temporary, path)

    def default_url(self) -> str | None:
        url = self._read(self.settings_path).get("url")
        return url if isinstance(url, str) and url else None

    def set_default_url(self, url: str) -> None:
        settings = self._read(self.settings_path)
        settings["url"] = normalise_url(url)
        self._write(self.settings_path, settings, 0o644)

    def entry(self, url: str) -> dict[str, Any] | None:
        entry = self._read(self.tokens_path).get(normalise_url(url))
        return entry if isinstance(entry, dict) and isinstance(entry.get("token"), str) else None

    def token_for(self, url: str) -> str | None:
        entry = self.entry(url)
        return entry["token"] if entry else None

    def save_token(self, url: str, token: str, *, login: str | None = None,
                   issued_here: bool = False) -> None:
        """Remember ``token`` for ``url``; ``issued_here`` tokens are revoked on logout."""
        tokens = self._read(self.tokens_path)
        tokens[normalise_url(url)] = {"token": token, "login": login, "issued_here": issued_here}
        self._write(self.tokens_path, tokens, 0o600)

    def forget_token(self, url: str) -> dict[str, Any] | None:
        tokens = self._read(self.tokens_path)
        entry = tokens.pop(normalise_url(url), None)
        if entry is not None:
            self._write(self.tokens_path, tokens, 0o600)
        return entry if isinstance(entry, dict) else None


def resolve(url: str | None = None, token: str | None = None, *,
            store: CredentialStore | None = None,
            environ: Mapping[str, str] | None = None) -> Credentials:
    """Credentials for a command: explicit values, then the environment, then saved files."""
    store = store or CredentialStore()
    environ = os.environ if environ is None else environ
    chosen_url = url or environ.get(URL_VARIABLE) or store.default_url()
    if not chosen_url:
        return Credentials(None, token or environ.get(TOKEN_VARIABLE) or None)
    chosen_url = normalise_url(chosen_url)
    chosen_token = token or environ.get(TOKEN_VARIABLE) or store.token_for(chosen_url)
    return Credentials(chosen_url, chosen_token or None)
