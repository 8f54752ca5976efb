"""``/<owner>/<package>/badges/{version,downloads,platforms}.svg``: badges as anaconda.org
serves them, for READMEs.

The SVG is built here from escaped text (a version or platform name comes from uploads),
has no script, style sheet, link or external reference, and is served under a policy that
allows none. A private package's badge is 'not found' to anyone who cannot read it, like
its page; public badges may be cached for a few minutes.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from jupyter_repo.repository import names
from jupyter_repo.repository.services import listings
from jupyter_repo.server.web.base import WebHandler, path_name

#: Longest value shown on a badge (longer ones end in an ellipsis).
MAX_VALUE_CHARS = 48
#: Seconds a public badge may be cached (shared caches too).
PUBLIC_MAX_AGE = 300
BADGE_POLICY = "default-src 'none'; sandbox"
KINDS = ("version", "downloads", "platforms")
_LABEL_COLOR = "#555"
_VALUE_COLOR = "#2a6f97"


def _width(text: str) -> int:
    """Rough width at 11 px Verdana (shields.io's font): wide enough for most glyphs."""
    return 10 + sum(8 if char.isupper() or char in "mwMW@%" else 7 for char in text)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def badge_svg(label: str, value: str) -> bytes:
    """A flat two-part badge; both texts are escaped for XML (text and attribute)."""
    value = _shorten(value)
    left, right = _width(label), _width(value)
    total = left + right
    label_xml, value_xml = escape(label), escape(value)
    title = escape(f"{label}: {value}", {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" '
        f'role="img" aria-label="{title}">'
        f"<title>{label_xml}: {value_xml}</title>"
        f'<rect width="{left}" height="20" fill="{_LABEL_COLOR}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{_VALUE_COLOR}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        f'font-size="11">'
        f'<text x="{left / 2:g}" y="14">{label_xml}</text>'
        f'<text x="{left + right / 2:g}" y="14">{value_xml}</text>'
        f"</g></svg>"
    ).encode()


def badge_text(kind: str, facts: listings.BadgeFacts) -> tuple[str, str]:
    if kind == "version":
        return "version", facts.latest_version or "none"
    if kind == "downloads":
        return "downloads", f"{facts.ndownloads:,}"
    shown = facts.platforms or facts.package_types
    return "platforms", " | ".join(shown) if shown else "none"


class BadgeHandler(WebHandler):
    """One badge of a package (``kind`` is one of :data:`KINDS`; the route says which)."""

    async def get(self, owner: str, name: str, kind: str) -> None:
        login = path_name(names.login, owner)
        name = path_name(names.package, name)
        facts = await self.run(listings.badge_facts, self.actor, login, name)
        label, value = badge_text(kind, facts)
        self.set_header("Content-Type", "image/svg+xml; charset=utf-8")
        self.set_header("Content-Security-Policy", BADGE_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")
        if facts.public:
            self.set_header("Cache-Control", f"public, max-age={PUBLIC_MAX_AGE}")
        else:
            self.set_header("Cache-Control", "private, no-cache")
        self.finish(badge_svg(label, value))
