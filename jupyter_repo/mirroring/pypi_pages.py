"""Reading an upstream's project page: PEP 691 JSON or PEP 503 HTML, into one list of files.

An upstream is asked for JSON first (``ACCEPT``); one that only speaks HTML answers HTML and
is parsed with the standard library's ``html.parser``. Either way a file comes out as an
:class:`IndexFile` with its absolute URL (fragment removed), the sha256 and size the index
promises, ``requires-python``, its yank (PEP 592) and its PEP 658/714 metadata hash.
Both parsers take what a hostile page could send (bad JSON, odd attributes, no hashes)
without failing: what cannot be read is left out, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
#: JSON preferred, HTML accepted (PEP 691's recommended client header).
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
SHA256_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class IndexFile:
    """One file an upstream project page lists."""

    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    #: The upstream offers PEP 658 metadata at ``url + ".metadata"``.
    has_metadata: bool = False
    metadata_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexFile:
        return cls(**data)


@dataclass(frozen=True)
class ProjectPage:
    """A project page as read: the project's name as the upstream spells it, its files."""

    name: str | None
    files: list[IndexFile]


def _sha256(value: object) -> str | None:
    if isinstance(value, str) and len(value) == 64 and set(value.lower()) <= SHA256_HEX:
        return value.lower()
    return None


def _http_url(page_url: str, href: str) -> tuple[str, str] | None:
    """The absolute URL of a link (without fragment) and its fragment; only http(s)."""
    absolute, fragment = urldefrag(urljoin(page_url, href.strip()))
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    return absolute, fragment


def _filename_of(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _metadata(value: object) -> tuple[bool, str | None]:
    """PEP 691 ``core-metadata``: ``true``, or a dict of hashes; anything else is none."""
    if value is True:
        return True, None
    if isinstance(value, dict):
        return True, _sha256(value.get("sha256"))
    return False, None


def parse_json(body: bytes, page_url: str) -> ProjectPage:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ProjectPage(None, [])
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        return ProjectPage(None, [])
    name = document.get("name") if isinstance(document.get("name"), str) else None
    files = []
    for entry in document["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        located = _http_url(page_url, entry["url"])
        if located is None:
            continue
        url, _fragment = located
        filename = entry.get("filename")
        if not isinstance(filename, str) or not filename:
            filename = _filename_of(url)
        hashes = entry.get("hashes")
        if not isinstance(hashes, dict):
            hashes = {}
        size = entry.get("size")
        yanked = entry.get("yanked", False)
        requires_python = entry.get("requires-python")
        metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
        has_metadata, metadata_sha256 = _metadata(metadata)
        files.append(
            IndexFile(
                filename=filename,
                url=url,
                sha256=_sha256(hashes.get("sha256")),
                size=size if isinstance(size, int) and size >= 0 else None,
                requires_python=requires_python if isinstance(requires_python, str) else None,
                yanked=bool(yanked),
                yanked_reason=yanked if isinstance(yanked, str) else "",
                has_metadata=has_metadata,
                metadata_sha256=metadata_sha256,
            )
        )
    return ProjectPage(name, files)


class _Anchors(HTMLParser):
    """Collects ``<a>`` elements: their attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: tuple[dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._close()
            self._open = (dict(attrs), [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def _close(self) -> None:
        if self._open is not None:
            self.anchors.append((self._open[0], "".join(self._open[1]).strip()))
            self._open = None

    def close(self) -> None:
        super().close()
        self._close()


def _html_metadata(attrs: dict[str, str | None]) -> tuple[bool, str | None]:
    for key in ("data-core-metadata", "data-dist-info-metadata"):
        if key in attrs:
            value = attrs[key] or ""
            if value.lower() == "false":
                return False, None
            algorithm, _, digest = value.partition("=")
            return True, _sha256(digest) if algorithm == "sha256" else None
    return False, None


def parse_html(body: bytes, page_url: str) -> ProjectPage:
    parser = _Anchors()
    parser.feed(body.decode("utf-8", errors="replace"))
    parser.close()
    files = []
    for attrs, text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        located = _http_url(page_url, href)
        if located is None:
            continue
        url, fragment = located
        algorithm, _, digest = fragment.partition("=")
        has_metadata, metadata_sha256 = _html_metadata(attrs)
        yanked = "data-yanked" in attrs
        files.append(
            IndexFile(
                filename=text or _filename_of(url),
                url=url,
                sha256=_sha256(digest) if algorithm == "sha256" else None,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=yanked,
                yanked_reason=(attrs.get("data-yanked") or "") if yanked else "",
                has_metadata=has_metadata,
                metadata_sha256=metadata_sha256,
            )
        )
    return ProjectPage(None, files)


def parse_page(body: bytes, content_type: str, page_url: str) -> ProjectPage:
    """A project page in whichever format the upstream answered."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == JSON_TYPE or media.endswith("+json") or media == "application/json":
        return parse_json(body, page_url)
    return parse_html(body, page_url)
