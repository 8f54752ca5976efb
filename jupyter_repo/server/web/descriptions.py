"""Long descriptions as HTML, rendered as PyPI renders them (readme_renderer: Markdown,
reStructuredText or plain text by the Description-Content-Type) and then made inert by the
notebooks' own sanitiser (:mod:`sanitize`): readme_renderer cleans too, but with its own
allow-list; ours is the one the pages' policy and tests are written against.

Rendering takes time that grows with the text (docutils especially), so it runs on a
worker thread; results are kept by content in a small LRU, so a popular package page does
not render its description again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from email.message import Message

from markupsafe import Markup

from jupyter_repo.server.web.sanitize import sanitize

#: Longest description rendered; the rest is cut (with a note) before rendering.
MAX_DESCRIPTION_CHARS = 100_000
#: Characters of renderings kept in memory (by content digest; least recently used first).
CACHE_CHARS = 16 << 20

_cache: OrderedDict[str, Markup] = OrderedDict()
_cached_chars = 0
_lock = threading.Lock()


def _content_type(value: str) -> tuple[str, str]:
    """(media type, Markdown variant) from a Description-Content-Type header value."""
    message = Message()
    message["Content-Type"] = value or "text/plain"
    media_type = message.get_content_type()
    variant = message.get_param("variant") or "GFM"
    return media_type, str(variant)


def _render(text: str, content_type: str) -> str:
    from readme_renderer import markdown, rst, txt

    media_type, variant = _content_type(content_type)
    rendered: str | None = None
    if media_type == "text/markdown":
        rendered = markdown.render(text, variant="CommonMark" if variant == "CommonMark" else "GFM")
    elif media_type == "text/x-rst":
        rendered = rst.render(text)  # None when docutils refuses it: shown as plain text
    if rendered is None:
        return f'<div class="description-plain">{txt.render(text) or ""}</div>'
    return rendered


def render_description(text: str, content_type: str) -> Markup:
    """Sanitised HTML of a long description (blocking: call it on a worker thread)."""
    if len(text) > MAX_DESCRIPTION_CHARS:
        text = text[:MAX_DESCRIPTION_CHARS] + "\n\n(The description is cut here.)"
    key = hashlib.sha256(f"{content_type}\0{text}".encode()).hexdigest()
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    global _cached_chars
    html = Markup(sanitize(_render(text, content_type)))
    with _lock:
        if key not in _cache:
            _cache[key] = html
            _cached_chars += len(html)
        while _cached_chars > CACHE_CHARS and _cache:
            _, dropped = _cache.popitem(last=False)
            _cached_chars -= len(dropped)
    return html
