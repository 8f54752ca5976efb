"""An upstream server seen from a sync or a proxy: GETs with validators, streamed files.

Every failure becomes an :class:`UpstreamError` naming the upstream, the URL (credentials
masked) and what went wrong, so that a sync's log and a proxy's 502 say exactly which
request failed. Counters (requests, bytes) let syncs report what an incremental run cost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from jupyter_repo import __version__
from jupyter_repo.repository.services.mirrors import mask_url

#: Bytes read per chunk of a streamed download.
CHUNK_SIZE = 1 << 20
#: Hosts besides a PyPI upstream's own that its pages may link files on (PyPI keeps its
#: files there): the default of both the PyPI mirror and ``Proxies.file_hosts``.
PYPI_FILE_HOSTS = frozenset({"files.pythonhosted.org"})


class UpstreamError(Exception):
    """A request to an upstream failed: which upstream, which URL, what status or error."""

    def __init__(self, url: str, problem: str, status: int | None = None) -> None:
        self.url = mask_url(url)
        self.status = status
        self.problem = problem
        super().__init__(f"upstream {self.url}: {problem}")


@dataclass(frozen=True)
class Validators:
    """What an upstream said about a document, to revalidate it next time."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Fetched:
    """A document fetched with validators: ``not_modified`` (304) carries no body."""

    url: str
    not_modified: bool
    validators: Validators
    content_type: str = ""
    body: bytes = b""


class _SameSchemeRedirects(requests.Session):
    """A session following an upstream's redirects only to http(s), never from https down
    to http (where a credential or the bytes could be read or changed on the way)."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        scheme = urlsplit(urljoin(resp.url, target)).scheme.lower()
        if scheme not in ("http", "https") or (
            urlsplit(resp.url).scheme == "https" and scheme != "https"
        ):
            raise UpstreamError(resp.url, f"redirected to a {scheme or 'relative'}: URL, refused")
        return target


class Upstream:
    """One upstream base URL; thread-safe counters of requests and bytes received."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.session: requests.Session = _SameSchemeRedirects()
        self.session.max_redirects = 5
        self.session.headers["User-Agent"] = f"jupyter-repo-mirror/{__version__}"
        self.requests = 0
        self.bytes_received = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        """``path`` relative to the base URL (absolute URLs are kept as they are)."""
        return urljoin(self.base_url, path)

    def _count(self, requests_: int = 0, received: int = 0) -> None:
        with self._lock:
            self.requests += requests_
            self.bytes_received += received

    @contextmanager
    def _get(self, url: str, headers: dict[str, str]) -> Iterator[requests.Response]:
        self._count(requests_=1)
        try:
            response = self.session.get(url, headers=headers, timeout=self.timeout, stream=True)
        except requests.RequestException as error:
            raise UpstreamError(url, f"cannot be reached ({type(error).__name__})") from None
        try:
            yield response
        finally:
            response.close()

    def get_document(
        self,
        path: str,
        validators: Validators | None = None,
        *,
        max_size: int = 1 << 30,
        accept: str | None = None,
    ) -> Fetched:
        """GET a (small enough) index document, conditionally when validators are given."""
        url = self.url(path)
        headers: dict[str, str] = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        if accept:
            headers["Accept"] = accept
        with self._get(url, headers) as response:
            if response.status_code == 304 and validators is not None:
                return Fetched(url, True, validators)
            _check_status(url, response)
            chunks = []
            size = 0
            for chunk in response.iter_content(CHUNK_SIZE):
                size += len(chunk)
                if size > max_size:
                    raise UpstreamError(url, f"answered more than {max_size} bytes")
                chunks.append(chunk)
            self._count(received=size)
            return Fetched(
                url,
                False,
                Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")),
                response.headers.get("Content-Type", ""),
                b"".join(chunks),
            )

    def download(
        self,
        url: str,
        write: Callable[[bytes], object],
        *,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        """Stream a file's bytes to ``write`` (never held whole in memory)."""
        with self._get(self.url(url), {}) as response:
            _check_status(url, response)
            try:
                for chunk in response.iter_content(CHUNK_SIZE):
                    write(chunk)
                    self._count(received=len(chunk))
                    if on_bytes is not None:
                        on_bytes(len(chunk))
            except requests.RequestException as error:
                raise UpstreamError(url, f"broke off ({type(error).__name__})") from None

    def download_to(self, url: str, path: Path) -> None:
        """Stream a file to ``path`` (a temporary file of the caller's)."""
        with open(path, "wb") as handle:
            self.download(url, handle.write)


def _check_status(url: str, response: requests.Response) -> None:
    if response.status_code != 200:
        reason = response.reason or ""
        raise UpstreamError(
            url, f"answered {response.status_code} {reason}".rstrip(), response.status_code
        )
