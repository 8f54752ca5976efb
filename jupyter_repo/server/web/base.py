"""The base of every web page: session cookies, CSRF-checked forms, templates, error pages.

Web pages accept what API routes accept (tokens) plus a session cookie; the REST API never
reads the cookie, so it needs no CSRF protection. Every form POST is checked against
Tornado's XSRF token before its handler runs. Unknown and private objects get one and the
same 404 page, whatever the reason.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.client import responses
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import quote, unquote, urlencode

from markupsafe import Markup
from sqlalchemy.orm import Session
from tornado import httputil, web

from jupyter_repo.repository import errors
from jupyter_repo.repository.permissions import ANONYMOUS
from jupyter_repo.repository.services import web_sessions
from jupyter_repo.repository.services.listings import MAX_PER_PAGE
from jupyter_repo.server.base import BaseHandler, local_location, status_of
from jupyter_repo.server.web.templating import environment, static_url

T = TypeVar("T")
P = ParamSpec("P")
SESSION_COOKIE = "jupyter_repo_session"
#: Carries "what happened" from a form's action to the page it redirects to, once.
FLASH_COOKIE = "jupyter_repo_flash"
FLASH_LIMIT = 300
#: Where :meth:`WebHandler.render_page_around` puts its body (escaped text cannot hold it).
_EMBEDDED = f"<!--embedded-{secrets.token_hex(8)}-->"
DEFAULT_SESSION_AGE = 14 * 86400

#: No scripts at all, no frames, no plugins; styles and images from this server (inline
#: styles only as filtered attributes of rendered content); images also as data: URLs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'none'",
        "media-src 'none'",
        "object-src 'none'",
        "frame-src 'none'",
        "child-src 'none'",
        "worker-src 'none'",
        "manifest-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ]
)


@dataclass(frozen=True)
class Confirmation:
    """A page asking to confirm a destructive action: what it does, and the same form again
    (with ``confirmed=yes``) to go ahead."""

    title: str
    consequences: list[str]
    action: str
    button: str
    cancel: str
    fields: list[tuple[str, str]] = field(default_factory=list)


def path_name(check: Callable[[str], str], value: str) -> str:
    """A name taken from the URL; an invalid one names nothing, so it is not found."""
    try:
        return check(value)
    except errors.InvalidInput:
        raise errors.NotFound("No such page.") from None


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is an absolute path on this site (never another host), else
    ``default`` (for ``next=``: where to go after logging in)."""
    if not target or not target.startswith("/"):
        return default
    try:
        return local_location(target)
    except ValueError:
        return default


class WebHandler(BaseHandler):
    """Base class of the HTML pages."""

    #: Also accept the session cookie as a credential.
    uses_session = True

    async def prepare(self) -> None:
        await super().prepare()
        if self.uses_session and self.actor is ANONYMOUS:
            secret = self.get_cookie(SESSION_COOKIE)
            if secret:
                try:
                    actor = await self.run(web_sessions.resolve, secret)
                except errors.Unauthenticated:
                    self.clear_session_cookie()
                else:
                    if await self.vouched_for(actor):
                        self.actor = actor
                    else:
                        self.clear_session_cookie()

    # -- forms -----------------------------------------------------------------------------

    async def post(self, *args: str) -> None:
        """Parse the form, check its XSRF token, then hand it to :meth:`submit`."""
        form = self.form()
        self.check_xsrf_cookie()
        await self.submit(form, *args)

    async def submit(self, form: dict[str, list[str]], *args: Any, **kwargs: Any) -> None:
        """Act on a posted form; each page takes its own route's path arguments."""
        raise web.HTTPError(405)

    def form(self) -> dict[str, list[str]]:
        arguments: dict[str, list[bytes]] = {}
        files: dict[str, list[httputil.HTTPFile]] = {}
        httputil.parse_body_arguments(
            self.request.headers.get("Content-Type", ""),
            self.body_bytes(),
            arguments,
            files,
            self.request.headers,
        )
        for name, values in arguments.items():
            self.request.body_arguments.setdefault(name, []).extend(values)
            self.request.arguments.setdefault(name, []).extend(values)
        try:
            form = {
                name: [value.decode("utf-8") for value in values]
                for name, values in arguments.items()
            }
        except UnicodeDecodeError:
            raise errors.InvalidInput("The form is not UTF-8 text.") from None
        if any("\x00" in value for values in form.values() for value in values):
            # No field needs one, and PostgreSQL cannot store one (a 500 otherwise).
            raise errors.InvalidInput("The form holds a NUL character.")
        return form

    async def act(
        self, function: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a form's action in a writing transaction.

        The page's own object was checked before (a missing one is the 404 page); an object
        named in a *field* that does not exist is a mistake in the form: 400 with a message.
        """
        try:
            return await self.run_write(function, *args, **kwargs)
        except errors.NotFound as error:
            raise errors.InvalidInput(error.message) from None

    @staticmethod
    def confirmed(form: dict[str, list[str]]) -> bool:
        return WebHandler.field(form, "confirmed") == "yes"

    def ask_to_confirm(self, form: dict[str, list[str]], confirmation: Confirmation) -> None:
        """Show what the form would do; its button posts the same fields, confirmed."""
        fields = [
            (name, value)
            for name, values in form.items()
            if name not in ("_xsrf", "confirmed")
            for value in values
        ]
        self.render_page(
            "confirm.html",
            confirm=replace(confirmation, fields=fields),
        )

    def flash(self, message: str) -> None:
        """Say ``message`` on the next page this browser shows (after a redirect)."""
        self.set_cookie(
            FLASH_COOKIE,
            quote(message[:FLASH_LIMIT]),
            httponly=True,
            samesite="Lax",
            secure=self.request.protocol == "https",
        )

    def take_flash(self) -> str | None:
        value = self.get_cookie(FLASH_COOKIE)
        if value is None:
            return None
        self.clear_cookie(FLASH_COOKIE, samesite="Lax")
        return unquote(value)[:FLASH_LIMIT] or None

    @staticmethod
    def field(form: dict[str, list[str]], name: str, default: str = "") -> str:
        values = form.get(name)
        return values[-1].strip() if values else default

    # -- query arguments -------------------------------------------------------------------

    def int_argument(self, name: str, default: int) -> int:
        value = self.get_query_argument(name, "") or ""
        if not value:
            return default
        try:
            return int(value)
        except ValueError:
            raise errors.InvalidInput(f"{name} must be a whole number.") from None

    def per_page(self, default: int) -> int:
        """``per_page`` from the query, within what one page may show."""
        return min(max(self.int_argument("per_page", default), 1), MAX_PER_PAGE)

    def text_argument(self, name: str) -> str | None:
        value = (self.get_query_argument(name, "") or "").strip()
        return value or None

    # -- sessions --------------------------------------------------------------------------

    @property
    def session_age(self) -> int:
        return int(self.settings.get("session_max_age", DEFAULT_SESSION_AGE))

    def set_session_cookie(self, secret: str) -> None:
        self.set_cookie(
            SESSION_COOKIE,
            secret,
            httponly=True,
            samesite="Lax",
            secure=self.request.protocol == "https",
            expires_days=self.session_age / 86400,
        )

    def clear_session_cookie(self) -> None:
        self.clear_cookie(SESSION_COOKIE, samesite="Lax")

    def require_login(self) -> None:
        if self.actor.anonymous:
            raise errors.Unauthenticated("Log in to see this page.")

    # -- responses -------------------------------------------------------------------------

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Cross-Origin-Opener-Policy", "same-origin")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Vary", "Cookie, Authorization")

    def page_context(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "base_url": self.base_url(),
            "request_path": self.request.path,
            "request_uri": self.request.uri,
            "csrf_field": lambda: Markup(self.xsrf_form_html()),
            "query": self.get_query_argument("q", "") or "",
            "login_next": self.request.uri,
            "local_passwords": bool(self.settings.get("local_passwords", True)),
            "sign_in_providers": [
                {"name": provider.name, "display_name": provider.display_name or provider.name}
                for provider in (self.settings.get("oauth_providers") or {}).values()
            ],
        }

    def render_page(self, template: str, status: int = 200, **context: Any) -> None:
        if status < 300 and "flash" not in context:
            context["flash"] = self.take_flash()
        html = environment().get_template(template).render({**self.page_context(), **context})
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(html)

    async def render_page_around(self, template: str, body: bytes, **context: Any) -> None:
        """A page whose template shows ``{{ embedded }}`` where ``body`` (UTF-8 HTML, e.g.
        a rendered notebook of megabytes) goes, sent without copying ``body``.

        The page around it is rendered as usual; with a Content-Length (no chunked
        encoding) each part goes to the socket as it is.
        """
        page = (
            environment()
            .get_template(template)
            .render({**self.page_context(), **context, "embedded": Markup(_EMBEDDED)})
        )
        head, found, tail = page.partition(_EMBEDDED)
        assert found, f"{template} shows no {{{{ embedded }}}}"
        head_bytes, tail_bytes = head.encode(), tail.encode()
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Length", str(len(head_bytes) + len(body) + len(tail_bytes)))
        self.write(head_bytes)
        await self.flush()
        self.write(body)
        await self.flush()
        self.finish(tail_bytes)

    def see_other(self, url: str) -> None:
        """Answer a successful form with a redirect (POST, redirect, GET)."""
        self.redirect(url, status=303)

    def flush(self, include_footers: bool = False) -> Any:
        if not self._headers_written:  # the first flush sends the headers (finish flushes)
            self.set_header("Server-Timing", f"app;dur={self.request.request_time() * 1000:.1f}")
        return super().flush(include_footers)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, errors.RepositoryError):
            status_code = status_of(error)
            message = error.message
            if isinstance(error, errors.RateLimited):
                self.set_header("Retry-After", str(error.retry_after))
        elif isinstance(error, web.HTTPError):
            message = error.log_message or self._reason
        else:
            message = "Internal server error; the administrator can find details in the log."
        if (
            status_code == 401
            and self.request.method in ("GET", "HEAD", "POST")
            and self.request.path != "/login"
        ):
            # Browsers get the login form, never a Basic-auth dialog (and the login page
            # itself, refusing a bad token, says so instead of redirecting to itself).
            self.clear_session_cookie()
            target = self.request.uri if self.request.method != "POST" else self.request.path
            self.redirect("/login?" + urlencode({"next": target}), status=303)
            return
        self.set_status(status_code)
        self.render_error(status_code, message)

    def render_error(self, status_code: int, message: str) -> None:
        self.clear_header("Content-Disposition")
        self.set_header("Cache-Control", "no-store")
        if status_code == 404:
            # One body for "no such thing" and "not yours to see": it reveals nothing, and
            # has no per-request form token, so it is byte for byte the same every time.
            self.render_page("not_found.html", status=404, login_next=None, plain_nav=True)
            return
        self.render_page(
            "error.html",
            status=status_code,
            status_code=status_code,
            reason=responses.get(status_code, "Error"),
            message=message,
        )


class WebNotFoundHandler(WebHandler):
    """Every path no page or API route claims: the 404 page."""

    async def get(self, *args: str) -> None:
        raise errors.NotFound("No such page.")

    async def submit(self, form: dict[str, list[str]], *args: str) -> None:
        raise errors.NotFound("No such page.")


class StaticHandler(web.StaticFileHandler):
    """The style sheets; versioned URLs (``?v=<hash>``) are cached for a year."""

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.clear_header("Server")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish(f"{status_code} {self._reason}\n")


class FaviconHandler(web.RequestHandler):
    """``/favicon.ico``, which browsers ask for on their own: the site's SVG icon."""

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.clear_header("Server")

    def get(self) -> None:
        self.redirect(static_url("favicon.svg"), permanent=True)

    head = get
