"""A small client for the repository's REST API (``/api``), over ``requests``.

Uploads and downloads are streamed in chunks (never held whole in memory) and report
progress through a callback, which may raise :class:`~jupyter_repo.client.errors.Cancelled`
to stop a transfer. Every HTTP error becomes a typed :mod:`~jupyter_repo.client.errors`
exception with a one-line message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import requests

from jupyter_repo import __version__
from jupyter_repo.client import errors
from jupyter_repo.client.config import (
    TERMINAL,
    Advice,
    Credentials,
    normalise_url,
    within_repository,
)

JSON = dict[str, Any]
#: ``progress(bytes_done, bytes_total)``; may raise ``Cancelled``.
Progress = Callable[[int, int], None]

CHUNK_SIZE = 1 << 20
#: The ``Warning`` the server adds when it ignored a refused token (``server/base.py``).
STALE_TOKEN_WARNING = "299 jupyter-repo "
TOKEN_REFUSED = "Log in to the repository again: your token was refused."


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def _no_progress(_done: int, _total: int) -> None:
    return None


class _FileBody:
    """An upload body: iterates over a file in chunks, reporting progress; has a length."""

    def __init__(self, handle: IO[bytes], total: int, progress: Progress) -> None:
        self.handle = handle
        self.total = total
        self.progress = progress

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[bytes]:
        done = 0
        self.progress(0, self.total)
        while chunk := self.handle.read(CHUNK_SIZE):
            done += len(chunk)
            yield chunk
            self.progress(done, self.total)


def _why(error: BaseException) -> str:
    """The root cause of a connection failure, in a few words."""
    if isinstance(error, requests.Timeout):
        return "the connection timed out"
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                current = arg
                break
        else:
            current = current.__cause__ or current.__context__
    text = str(error)
    match = re.search(r"\] ([^'\"()]+)", text)
    return match.group(1).strip() if match else (text or type(error).__name__)


class RepositorySession(requests.Session):
    """A session whose credentials stay inside one repository.

    requests already drops ``Authorization`` when a redirect leaves the host; this also
    drops it when the redirect leaves the repository's port, scheme (other than an upgrade
    to https) or path prefix, so a token reaches nothing but the repository it belongs to.
    """

    def __init__(self, repository: str) -> None:
        super().__init__()
        self.repository = repository

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        super().rebuild_auth(prepared_request, response)
        if not within_repository(prepared_request.url or "", self.repository):
            prepared_request.headers.pop("Authorization", None)


class RepoClient:
    """One repository, one (optional) token."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.url = normalise_url(url)
        self.api = self.url + "/api"
        self.token = token or None
        self.timeout = timeout
        self.session = RepositorySession(self.url)
        self.session.headers["User-Agent"] = f"jupyter-repo-client/{__version__}"

    @classmethod
    def from_credentials(
        cls,
        credentials: Credentials,
        *,
        need_token: bool = False,
        advice: Advice = TERMINAL,
        timeout: float = 30.0,
    ) -> RepoClient:
        """The one way a configured client is made (CLI, server extension, widgets):
        ``NotConfigured`` with ``advice`` when the URL, or a token it needs, is missing."""
        if need_token:
            credentials.require_token(advice)
        return cls(credentials.require_url(advice), credentials.token, timeout=timeout)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RepoClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"token {self.token}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        auth: tuple[str, str] | None = None,
        timeout: float | tuple[float, float | None] | None = None,
    ) -> requests.Response:
        """Send a request to ``/api<path>``; raise a typed error unless the answer is 2xx."""
        url = self.api + path
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=self._headers(headers),
                stream=stream,
                auth=auth,
                timeout=timeout or self.timeout,
                allow_redirects=True,
            )
        except errors.ClientError:
            raise
        except requests.RequestException as error:
            raise errors.Unreachable(
                f"Cannot reach the repository at {self.url}: {_why(error)}"
            ) from None
        if response.status_code >= 400:
            raise self._error(response, password=auth is not None)
        if self.token and response.headers.get("Warning", "").startswith(STALE_TOKEN_WARNING):
            # The server answered as to an anonymous caller (a courtesy to pip and conda);
            # this client's user must know that their token no longer works.
            response.close()
            raise errors.Unauthorized(TOKEN_REFUSED)
        return response

    def _error(self, response: requests.Response, *, password: bool = False) -> errors.ClientError:
        status = response.status_code
        message = ""
        try:
            body = response.json()
            if isinstance(body, dict):
                message = str(body.get("error") or body.get("message") or "")
        except ValueError:
            message = ""
        finally:
            response.close()
        if status == 401 and not password:
            detail = f" ({message})" if message and self.token else ""
            return errors.Unauthorized(
                TOKEN_REFUSED + detail
                if self.token
                else "Log in to the repository first: this needs an account."
            )
        if not message:
            message = f"The repository answered {status} {response.reason}."
        if status == 413:
            message = f"Too large for the repository: {message}"
        elif status == 409:
            message = f"{message.rstrip('.')} (published versions cannot be changed)."
        return errors.from_status(status, message)

    def get_json(self, path: str, **params: Any) -> Any:
        clean = {key: value for key, value in params.items() if value not in (None, "")}
        return self.request("GET", path, params=clean).json()

    # -- accounts and tokens ---------------------------------------------------------------

    def login(
        self,
        username: str,
        password: str,
        *,
        token_name: str,
        scopes: list[str] | None = None,
        max_age: int | None = None,
    ) -> JSON:
        """Create a token with a username and password (the token is in ``["token"]``)."""
        body: JSON = {"note": token_name, "scopes": scopes or ["api:write"]}
        if max_age:
            body["max-age"] = max_age
        return self.request(
            "POST",
            "/authentications",
            json_body=body,
            auth=(username, password),
            headers={"Authorization": ""},
        ).json()

    def whoami(self) -> JSON:
        """The user behind the token (``login``, ``name``, ``orgs``...)."""
        if not self.token:
            raise errors.NotConfigured(
                f"You are not logged in to {self.url}: run 'jupyter repo login'."
            )
        return self.get_json("/user")

    def namespaces(self) -> list[JSON]:
        """The namespaces (``login``, ``kind``) the token may publish to."""
        return self.get_json("/namespaces")

    def tokens(self) -> list[JSON]:
        return self.get_json("/authentications")

    def revoke_current_token(self) -> None:
        self.request("DELETE", "/authentications")

    # -- packages --------------------------------------------------------------------------

    def search(
        self,
        query: str = "",
        *,
        package_type: str | None = None,
        platform: str | None = None,
        label: str | None = None,
        owner: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> tuple[list[JSON], int]:
        """Visible packages matching ``query``; returns ``(items, total)``."""
        params = {
            "name": query,
            "type": package_type,
            "platform": platform,
            "label": label,
            "owner": owner,
            "page": page,
            "per_page": per_page,
        }
        clean = {key: value for key, value in params.items() if value not in (None, "")}
        response = self.request("GET", "/search", params=clean)
        items = response.json()
        total = int(response.headers.get("X-Total-Count", len(items)))
        return items, total

    def package(self, owner: str, name: str) -> JSON:
        return self.get_json(f"/package/{_segment(owner)}/{_segment(name)}")

    def find_package(self, owner: str, name: str) -> JSON | None:
        try:
            return self.package(owner, name)
        except errors.NotFound:
            return None

    def set_visibility(self, owner: str, name: str, public: bool) -> JSON:
        """Make a package public or private (the repository requires admin on it)."""
        return self.request(
            "PATCH",
            f"/package/{_segment(owner)}/{_segment(name)}",
            json_body={"public_attrs": {}, "public": public},
        ).json()

    def packages(self, owner: str, *, package_type: str | None = None) -> list[JSON]:
        return self.get_json(f"/packages/{_segment(owner)}", type=package_type)

    def release(self, owner: str, name: str, version: str) -> JSON:
        return self.get_json(f"/release/{_segment(owner)}/{_segment(name)}/{_segment(version)}")

    def yank(
        self,
        owner: str,
        name: str,
        version: str,
        *,
        basename: str | None = None,
        reason: str | None = None,
        undo: bool = False,
    ) -> JSON:
        """Yank (PEP 592) every file of a release, or one file; ``undo`` un-yanks. Returns
        what the repository did: ``yanked``, ``reason`` and the ``files`` it names."""
        path = "/yank/" + "/".join(_segment(part) for part in (owner, name, version))
        if basename:
            path += "/" + "/".join(_segment(part) for part in basename.split("/"))
        if undo:
            return self.request("DELETE", path).json()
        body = {"reason": reason} if reason else {}
        return self.request("PUT", path, json_body=body).json()

    def labels(self, owner: str) -> JSON:
        return self.get_json(f"/channels/{_segment(owner)}")

    def next_version(self, owner: str, name: str) -> str:
        """One more than the highest whole-number version of the package ("1" if none)."""
        package = self.find_package(owner, name)
        versions = package.get("versions", []) if package else []
        numbers = [int(version) for version in versions if str(version).isdigit()]
        return str(max(numbers, default=0) + 1)

    # -- files -----------------------------------------------------------------------------

    def upload(
        self,
        owner: str,
        name: str,
        version: str,
        path: Path | str,
        *,
        basename: str | None = None,
        package_type: str | None = None,
        labels: list[str] | tuple[str, ...] = (),
        summary: str | None = None,
        description: str | None = None,
        public: bool = True,
        progress: Progress | None = None,
    ) -> JSON:
        """Stream a file to ``PUT /api/upload/...`` (creates the package and release)."""
        path = Path(path)
        basename = basename or path.name
        params: list[tuple[str, str]] = []
        if package_type:
            params.append(("type", package_type))
        params.extend(("label", label) for label in labels)
        if summary:
            params.append(("summary", summary))
        if description:
            params.append(("description", description))
        if not public:
            params.append(("private", "1"))
        target = "/".join(_segment(part) for part in (owner, name, version))
        quoted = "/".join(_segment(part) for part in basename.split("/"))
        size = os.stat(path).st_size
        with open(path, "rb") as handle:
            body = _FileBody(handle, size, progress or _no_progress)
            response = self.request(
                "PUT",
                f"/upload/{target}/{quoted}",
                params=params,
                data=body,
                headers={"Content-Type": "application/octet-stream"},
                timeout=(self.timeout, None),
            )
        return response.json()

    def download(
        self,
        owner: str,
        name: str,
        version: str,
        basename: str,
        destination: Path | str | IO[bytes],
        *,
        progress: Progress | None = None,
        max_bytes: int | None = None,
    ) -> int:
        """Stream a file to ``destination`` (a path or a binary file); returns its size."""
        target = "/".join(_segment(part) for part in (owner, name, version))
        quoted = "/".join(_segment(part) for part in basename.split("/"))
        response = self.request(
            "GET",
            f"/download/{target}/{quoted}",
            stream=True,
            timeout=(self.timeout, self.timeout * 4),
        )
        report = progress or _no_progress
        total = int(response.headers.get("Content-Length") or 0)
        if max_bytes is not None and total > max_bytes:
            response.close()
            raise errors.TooLarge(f"{basename} is {total} bytes, over the limit of {max_bytes}.")
        done = 0
        with response:
            handle: IO[bytes]
            if isinstance(destination, (str, Path)):
                handle = open(destination, "wb")  # noqa: SIM115 - closed below
                owned = True
            else:
                handle, owned = destination, False
            try:
                report(0, total)
                for chunk in response.iter_content(CHUNK_SIZE):
                    done += len(chunk)
                    if max_bytes is not None and done > max_bytes:
                        raise errors.TooLarge(f"{basename} is over the limit of {max_bytes} bytes.")
                    handle.write(chunk)
                    report(done, total or done)
            except requests.RequestException as error:
                raise errors.Unreachable(
                    f"The download from {self.url} broke off: {_why(error)}"
                ) from None
            finally:
                if owned:
                    handle.close()
        return done

    # -- where packages are served --------------------------------------------------------

    def pypi_index(self, owner: str, label: str | None = None, *, with_token: bool = False) -> str:
        """The PyPI simple index of a namespace (``/pypi/[t/<token>/]<owner>[/label/L]/simple``)."""
        token = f"t/{self.token}/" if with_token and self.token else ""
        suffix = f"/label/{label}" if label and label != "main" else ""
        return f"{self.url}/pypi/{token}{_segment(owner)}{suffix}/simple"

    def conda_channel(
        self, owner: str, label: str | None = None, *, with_token: bool = False
    ) -> str:
        token = f"t/{self.token}/" if with_token and self.token else ""
        suffix = f"/label/{label}" if label and label != "main" else ""
        return f"{self.url}/conda/{token}{_segment(owner)}{suffix}"
