"""Notebooks as HTML: nbconvert renders the cells, :mod:`sanitize` makes the result inert.

Rendering is slow (tens of milliseconds to seconds) and blocking, so callers run it on a
worker thread and cache the result by the file's sha256 and :func:`renderer_id`.
"""

from __future__ import annotations

import threading
import warnings
from functools import cache
from importlib.metadata import version
from typing import Any

from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import InvalidInput, TooLarge
from jupyter_repo.repository.inspect.notebook import read_notebook
from jupyter_repo.repository.services import renders
from jupyter_repo.server.web.sanitize import sanitize

#: Bump when the rendering or the sanitising rules change: cached pages are then redone.
RENDERING_REVISION = 1

_lock = threading.Lock()


@cache
def renderer_id() -> str:
    return (f"notebook-html-{RENDERING_REVISION}/nbconvert-{version('nbconvert')}"
            f"/nh3-{version('nh3')}")


@cache
def _exporter() -> Any:
    from nbconvert import HTMLExporter

    # "basic" is the cells alone, without nbconvert's page, scripts and style sheets.
    return HTMLExporter(template_name="basic", exclude_anchor_links=False,
                        anchor_link_text="¶", embed_images=False)


def render_notebook(data: bytes, filename: str = "notebook.ipynb") -> str:
    """Notebook bytes in, sanitised HTML of its cells out. Blocking."""
    notebook = read_notebook(data, filename)
    with _lock, warnings.catch_warnings():  # one exporter, not thread-safe; renders are rare
        # Without IPython installed nbconvert falls back to the Python lexer, warning each time.
        warnings.filterwarnings("ignore", message="IPython3 lexer unavailable")
        try:
            body, _resources = _exporter().from_notebook_node(notebook)
        except Exception as error:  # e.g. a markdown cell naming a missing attachment
            raise InvalidInput(f"{filename} could not be rendered: {error}") from None
    return sanitize(body)


def read_blob(repo: Repository, key: str, limit: int) -> bytes:
    """The whole blob (a notebook or a spec, bounded by ``limit``). Blocking."""
    chunks = []
    size = 0
    for chunk in repo.store.open_range(key, 0, limit + 1):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The file is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


_inflight_guard = threading.Lock()
_inflight: dict[str, threading.Lock] = {}


#: Marks a cached failure (sanitised HTML never contains a NUL character).
_FAILED = "\x00"


def _from_cache(text: str | None) -> str | None:
    if text is not None and text.startswith(_FAILED):
        raise InvalidInput(text[len(_FAILED):])
    return text


def cached_notebook_html(repo: Repository, sha256: str, blob_key: str, filename: str) -> str:
    """The sanitised HTML of a stored notebook, rendered once per content. Blocking.

    Concurrent requests for the same notebook in this process wait for one rendering;
    other processes find it in the shared cache table. A notebook that cannot be rendered
    is remembered too, so it is not rendered again on every visit.
    """
    renderer = renderer_id()
    html = _from_cache(repo.call(renders.cached, sha256, renderer))
    if html is not None:
        return html
    with _inflight_guard:
        lock = _inflight.setdefault(sha256, threading.Lock())
    try:
        with lock:
            html = _from_cache(repo.call(renders.cached, sha256, renderer))
            if html is None:
                data = read_blob(repo, blob_key, repo.max_parse_size)
                try:
                    html = render_notebook(data, filename)
                except InvalidInput as error:
                    repo.call(renders.store, sha256, renderer, _FAILED + error.message,
                              write=True)
                    raise
                repo.call(renders.store, sha256, renderer, html, write=True)
            return html
    finally:
        with _inflight_guard:
            if _inflight.get(sha256) is lock and not lock.locked():
                del _inflight[sha256]
