"""Making untrusted HTML (rendered notebooks) inert, with nh3 (the ammonia sanitiser).

An allow-list, not a block-list: only the tags, attributes, URL schemes and CSS properties
listed here survive. Scripts, event handlers, ``javascript:`` URLs, frames, forms, SVG and
style sheets are dropped; images must be inline ``data:image/...`` URLs (the pages' CSP
allows no others, so remote images would only produce violations); ids are prefixed so
content cannot collide with the page around it. The page's Content-Security-Policy is the
second, independent line of defence.
"""

from __future__ import annotations

import re
from functools import cache

import nh3

ID_PREFIX = "nb-"

_LANDMARKS = {"article", "aside", "footer", "header", "nav", "map", "area"}
ALLOWED_TAGS = (set(nh3.ALLOWED_TAGS) - _LANDMARKS) | {"tfoot", "figure", "figcaption"}

#: Removed together with everything inside them (their text makes no sense on its own).
DROPPED_WITH_CONTENT = {
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "textarea",
    "select",
    "title",
    "head",
}

GENERIC_ATTRIBUTES = {"class", "id", "title", "lang", "dir", "style"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": GENERIC_ATTRIBUTES,
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers", "align"},
    "th": {"colspan", "rowspan", "headers", "scope", "align"},
    "ol": {"start", "reversed", "type"},
    "col": {"span"},
    "colgroup": {"span"},
    "time": {"datetime"},
    "data": {"value"},
    "abbr": {"title"},
    "details": {"open"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
}

#: CSS properties that cannot load anything or escape the notebook's box.
STYLE_PROPERTIES = {
    "color",
    "background-color",
    "text-align",
    "vertical-align",
    "font-weight",
    "font-style",
    "font-size",
    "font-family",
    "font-variant",
    "text-decoration",
    "text-transform",
    "white-space",
    "word-break",
    "line-height",
    "letter-spacing",
    "width",
    "height",
    "min-width",
    "max-width",
    "min-height",
    "max-height",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "border-radius",
    "opacity",
    "list-style-type",
    "table-layout",
    "caption-side",
    "empty-cells",
}

URL_SCHEMES = {"http", "https", "mailto", "data"}
_DATA_IMAGE = re.compile(
    r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$", re.IGNORECASE
)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "src":
        # Only inline raster or SVG images; in an <img> an SVG cannot run scripts.
        return value if tag == "img" and _DATA_IMAGE.match(value) else None
    if attribute == "href":
        stripped = value.strip()
        if stripped.lower().startswith("data:"):
            return None
        if stripped.startswith("#"):
            return "#" + ID_PREFIX + stripped[1:]  # ids are prefixed, so are fragments
    return value


@cache
def _cleaner_options() -> dict[str, object]:
    return {
        "tags": ALLOWED_TAGS,
        "clean_content_tags": DROPPED_WITH_CONTENT,
        "attributes": ALLOWED_ATTRIBUTES,
        "attribute_filter": _filter_attribute,
        "url_schemes": URL_SCHEMES,
        "filter_style_properties": STYLE_PROPERTIES,
        "link_rel": "noopener noreferrer nofollow",
        "strip_comments": True,
        "id_prefix": ID_PREFIX,
    }


def sanitize(html: str) -> str:
    """Untrusted HTML in, HTML that can neither run code nor load anything out."""
    return nh3.clean(html, **_cleaner_options())  # type: ignore[arg-type]
