"""Where the client finds the repository URL and its token.

The URL is kept in ``<jupyter config dir>/jupyter_repo/client.json`` (readable) and tokens,
keyed by repository URL, in ``tokens.json`` next to it (mode 0600, written atomically). The
environment variables ``JUPYTER_REPO_URL`` and ``JUPYTER_REPO_TOKEN`` override both files.

Every token belongs to one repository (:class:`TokenSource`): a token given with a call to
that call's URL, ``JUPYTER_REPO_TOKEN`` to ``JUPYTER_REPO_URL``, a configured token to the
URL configured next to it, a saved one to the URL it was saved for. It is sent only when the
URL in use is that repository (:func:`same_repository`), so ``--url OTHER`` never carries it.

:func:`resolve` picks the URL and the token by these rules for the CLI, the server extension
and the widgets alike; ``RepoClient.from_credentials`` turns its answer into a client (each
tells the user what to do when something is missing with its own :class:`Advice`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from jupyter_core.paths import jupyter_config_dir

from jupyter_repo.client.errors import BadRequest, NotConfigured

URL_VARIABLE = "JUPYTER_REPO_URL"
TOKEN_VARIABLE = "JUPYTER_REPO_TOKEN"
SETTINGS_FILE = "client.json"
TOKENS_FILE = "tokens.json"
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


def default_directory() -> Path:
    return Path(jupyter_config_dir()) / "jupyter_repo"


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL: host lowercased (IDNA for non-ASCII names),
    the port filled in from the scheme; ``ValueError`` for anything unusual."""
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = str(ipaddress.IPv6Address(host.split("%", 1)[0]))
    else:
        host = host.encode("idna").decode("ascii").lower()
        if not _HOST.match(host):
            raise ValueError(f"not a host name: {host!r}")
    port = parts.port or DEFAULT_PORTS.get(scheme)
    if port is None:
        raise ValueError(f"no port for {scheme!r}")
    return scheme, host, port


def normalise_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing ``/`` or ``/api``; the host
    lowercased and a default port left out, so one repository has one spelling.

    Credentials in the URL (``user:pass@``, ``/t/<token>/``) are refused: the URL is
    recorded in published notebooks, so it must never carry a secret.
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"The repository URL must start with http:// or https://, got {text!r}.")
    if parts.username or parts.password or "@" in parts.netloc:
        raise BadRequest("Do not put credentials in the repository URL; log in instead.")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise BadRequest("The repository URL cannot have a query or a fragment.")
    try:
        scheme, host, port = _origin(parts)
    except (ValueError, UnicodeError):
        raise BadRequest(f"The repository URL has no usable host and port: {text!r}.") from None
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    if "/t/" in path + "/":
        raise BadRequest("Do not put a token in the repository URL; log in instead.")
    if "\\" in path or any(segment in (".", "..") for segment in path.split("/")):
        raise BadRequest(f"The repository URL's path is not plain: {text!r}.")
    netloc = f"[{host}]" if ":" in host else host
    if port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, path, "", ""))


def same_repository(first: str | None, second: str | None) -> bool:
    """Whether two spellings name one repository: scheme, host, port and path prefix."""
    if not first or not second:
        return False
    try:
        return normalise_url(first) == normalise_url(second)
    except BadRequest:
        return False


def within_repository(url: str, repository: str) -> bool:
    """Whether a URL the client is about to request (a redirect's target, an index) lies
    inside the repository: same host and port, same scheme (or http upgraded to https on
    the default ports), under the repository's path. Anything doubtful answers False."""
    try:
        base = urlsplit(normalise_url(repository))
        parts = urlsplit(url)
        base_scheme, base_host, base_port = _origin(base)
        scheme, host, port = _origin(parts)
    except (BadRequest, ValueError, UnicodeError):
        return False
    if parts.username or parts.password or "@" in parts.netloc or host != base_host:
        return False
    upgraded = (base_scheme, scheme, base_port, port) == ("http", "https", 80, 443)
    if not upgraded and (scheme, port) != (base_scheme, base_port):
        return False
    path = parts.path or "/"
    if (
        "\\" in path
        or "%2e" in path.lower()
        or "%2f" in path.lower()
        or any(segment in (".", "..") for segment in path.split("/"))
    ):
        return False
    return not base.path or path == base.path or path.startswith(base.path + "/")


@dataclass(frozen=True)
class Advice:
    """What a user is told to do when no repository, or no token for it, is configured:
    it depends on where they are (a terminal, JupyterLab, a notebook)."""

    configure: str
    log_in: str


TERMINAL = Advice(
    configure=f"run 'jupyter repo login --url URL' or set {URL_VARIABLE}",
    log_in=f"run 'jupyter repo login' or set {TOKEN_VARIABLE}",
)


@dataclass(frozen=True)
class Credentials:
    """A repository URL and the token to use with it (either may be missing)."""

    url: str | None
    token: str | None = None
    #: One line per configured token that was not sent, and why (shown as warnings).
    withheld: tuple[str, ...] = ()

    def require_url(self, advice: Advice = TERMINAL) -> str:
        if not self.url:
            raise NotConfigured(f"No repository is configured: {advice.configure}.")
        return self.url

    def require_token(self, advice: Advice = TERMINAL) -> str:
        url = self.require_url(advice)
        if not self.token:
            raise NotConfigured(f"You are not logged in to {url}: {advice.log_in}.")
        return self.token


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
        """The saved token entry of the repository at ``url`` (keys written by older
        versions, with another spelling of the same repository, are found too)."""
        tokens = self._read(self.tokens_path)
        entry = tokens.get(normalise_url(url))
        if entry is None:
            entry = next(
                (value for key, value in tokens.items() if same_repository(key, url)), None
            )
        return entry if isinstance(entry, dict) and isinstance(entry.get("token"), str) else None

    def token_for(self, url: str) -> str | None:
        entry = self.entry(url)
        return entry["token"] if entry else None

    def save_token(
        self, url: str, token: str, *, login: str | None = None, issued_here: bool = False
    ) -> None:
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


@dataclass(frozen=True)
class TokenSource:
    """A token and the repository it belongs to (``home``; None: it names none)."""

    token: str | None
    home: str | None
    what: str  # where it came from, for the warning: "JUPYTER_REPO_TOKEN", ...


def bound_token(url: str, sources: list[TokenSource]) -> tuple[str | None, tuple[str, ...]]:
    """The first token that belongs to the repository at ``url``.

    A token is only ever sent to the repository it was given for: a token whose ``home``
    is another repository (or none) is skipped, with one warning line saying so.
    """
    withheld: list[str] = []
    for source in sources:
        if not source.token:
            continue
        if source.home and same_repository(source.home, url):
            return source.token, tuple(withheld)
        if source.home:
            withheld.append(
                f"{source.what} belongs to {_shown(source.home)}; it is not sent to {url}."
            )
        else:
            withheld.append(
                f"{source.what} is not used: it names no repository (set "
                f"{URL_VARIABLE} to the repository it belongs to)."
            )
    return None, tuple(withheld)


def _shown(url: str) -> str:
    try:
        return normalise_url(url)
    except BadRequest:
        return "another repository"


def configured_sources(
    configured_url: str | None, configured_token: str | None, environ: Mapping[str, str], what: str
) -> list[TokenSource]:
    """A token from a configuration file and ``JUPYTER_REPO_TOKEN``: each belongs to the
    URL configured next to it (the file's URL, ``JUPYTER_REPO_URL``), never to the saved
    default URL, which changes whenever the user logs in elsewhere."""
    environment_url = environ.get(URL_VARIABLE) or None
    return [
        TokenSource(configured_token, configured_url or environment_url, what),
        TokenSource(environ.get(TOKEN_VARIABLE), environment_url or configured_url, TOKEN_VARIABLE),
    ]


def resolve(
    url: str | None = None,
    token: str | None = None,
    *,
    configured_url: str | None = None,
    configured_token: str | None = None,
    configured_what: str = "The configured token",
    saved_first: bool = False,
    signed_out: bool = False,
    store: CredentialStore | None = None,
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """Credentials for a command, the server extension or a widget.

    The URL: ``url`` (given with the call: ``--url``, an argument, a login from Lab), else
    ``configured_url`` (a configuration file), else ``JUPYTER_REPO_URL``, else the saved one.
    The token: ``token`` (given with the call, so it goes with the call's URL), else the
    configured token, else ``JUPYTER_REPO_TOKEN``, else the one saved for that URL; each only
    if it belongs to the URL in use (see :func:`bound_token`). ``saved_first``: the saved
    token comes before the configured ones (in Lab, the user's own login outranks the
    administrator's token); ``signed_out``: no token at all (the user logged out). With no
    URL anywhere, inside a JupyterHub single-user server: the hub's repository service and
    a token it gives for the hub user (:mod:`jupyter_repo.client.hub`).
    """
    store = store or CredentialStore()
    environ = os.environ if environ is None else environ
    chosen_url = url or configured_url or environ.get(URL_VARIABLE) or store.default_url()
    if not chosen_url:
        if signed_out:
            return Credentials(None, None)
        # Nothing configured: in a JupyterHub single-user server, the hub's repository.
        from jupyter_repo.client.hub import hub_token

        found = hub_token(environ)
        if found is None:
            return Credentials(None, None)
        return Credentials(normalise_url(found.url), found.token)
    chosen_url = normalise_url(chosen_url)
    if signed_out:
        return Credentials(chosen_url, None)
    saved = [TokenSource(store.token_for(chosen_url), chosen_url, "The saved token")]
    configured = configured_sources(configured_url, configured_token, environ, configured_what)
    sources = [
        TokenSource(token, chosen_url, "The token given"),
        *(saved + configured if saved_first else configured + saved),
    ]
    chosen_token, withheld = bound_token(chosen_url, sources)
    return Credentials(chosen_url, chosen_token, withheld)
