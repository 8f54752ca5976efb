"""The base request handler: credentials, errors, JSON, and running services off the loop."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session
from tornado import web
from tornado.http1connection import HTTP1Connection
from tornado.ioloop import IOLoop

from jupyter_repo import bounded_json
from jupyter_repo.repository import errors
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import Account
from jupyter_repo.repository.permissions import ANONYMOUS, Actor
from jupyter_repo.repository.security import looks_like_token
from jupyter_repo.repository.services import accounts, external_accounts, token_usage, tokens
from jupyter_repo.repository.services.external_accounts import JUPYTERHUB
from jupyter_repo.server.jupyterhub import JupyterHubService
from jupyter_repo.server.ratelimit import LoginLimiter, PasswordChecks

T = TypeVar("T")
P = ParamSpec("P")
log = logging.getLogger("jupyter_repo.server")

STATUS_OF_ERROR: dict[type[errors.RepositoryError], int] = {
    errors.DigestMismatch: 400,
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.RateLimited: 429,
    errors.Busy: 503,
    errors.UpstreamUnavailable: 502,
}
MAX_JSON_BODY = 1 << 20
#: A refused token (unknown, expired, revoked) does not stop a public read: the caller gets
#: what anyone without a token gets, with this warning; anything more is a 401 saying why.
#: pip, uv, conda/rattler and anaconda-client keep working on public packages, and
#: `anaconda login` (which sends the stale token along) can replace it.
STALE_TOKEN_WARNING = (
    '299 jupyter-repo "The token sent is invalid, expired or revoked; '
    'this is the answer for anonymous callers."'
)
STALE_TOKEN_ADVICE = "Log in again or remove the token from the client's configuration."


#: Characters a redirect target keeps as they are; anything else is percent-encoded.
_LOCATION_SAFE = "/?#[]@!$&'()*+,;=:%~"


def local_location(target: str) -> str:
    """``target`` as a ``Location`` that can only lead to this server, or ``ValueError``.

    Relative references (``simple/``, ``../name/``) and absolute paths (``/account``) pass;
    anything a browser could read as another host does not: a scheme (``http:``,
    ``javascript:``), an authority (``//host``), backslashes (browsers read ``\\host`` and
    ``/\\host`` as ``//host``), and control characters or spaces (browsers drop tabs and
    newlines, which would join ``/\t/host`` into ``//host``). Other characters outside
    ASCII are percent-encoded.
    """
    if not target or "\\" in target or any(ord(char) <= 32 or ord(char) == 127 for char in target):
        raise ValueError(f"not a local redirect target: {target!r}")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        raise ValueError(f"not a local redirect target: {target!r}")
    return quote(target, safe=_LOCATION_SAFE)


def status_of(error: BaseException) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[kind]
    return 500


@dataclass(frozen=True)
class Token:
    """A token: in the path (``/t/<token>/``), as ``Authorization: token|Bearer``, as HTTP
    Basic's password (``jr-...``), or as ``X-API-Key``."""

    secret: str


@dataclass(frozen=True)
class Password:
    """A login and password (HTTP Basic), accepted only where a route allows it."""

    login: str
    password: str


#: A request's credential; ``None`` when it presents none (anonymous).
Credential = Token | Password | None


@web.stream_request_body
class BaseHandler(web.RequestHandler):
    """Every handler of the repository server derives from this class.

    Bodies are streamed: small ones (JSON) are buffered here up to a limit; upload
    handlers override :meth:`data_received` to spool instead.
    """

    #: May this route authenticate with a username and password (HTTP Basic)?
    allow_password_auth = False
    max_body_size = MAX_JSON_BODY

    actor: Actor = ANONYMOUS
    #: Why the request's token was refused (unknown, expired, revoked); the request then
    #: goes on as an anonymous one (see :meth:`prepare`).
    refused_token: errors.Unauthenticated | None = None

    def initialize(self) -> None:
        self._body_chunks: list[bytes] = []
        self._body_size = 0
        self._body_error: errors.RepositoryError | None = None

    # -- resources -------------------------------------------------------------------------

    @property
    def repo(self) -> Repository:
        repository: Repository = self.settings["repository"]
        return repository

    async def run(
        self, function: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``function(session, *args, **kwargs)`` in a reading transaction on a worker
        thread."""
        return await self.run_blocking(self.repo.read, function, *args, **kwargs)

    async def run_write(
        self, function: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``function(session, *args, **kwargs)`` in a writing transaction on a worker
        thread."""
        return await self.run_blocking(self.repo.write, function, *args, **kwargs)

    async def run_blocking(
        self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``function(*args, **kwargs)`` on a worker thread (any blocking work)."""
        return await IOLoop.current().run_in_executor(
            self.settings["executor"], partial(function, *args, **kwargs)
        )

    async def head(self, *args: Any, **kwargs: Any) -> None:
        """HEAD is GET without a body (Tornado drops the body, keeps the headers)."""
        get = getattr(self, "get", None)
        if get is None or type(self).get is web.RequestHandler.get:
            raise web.HTTPError(405)
        await get(*args, **kwargs)

    # -- credentials -----------------------------------------------------------------------

    def credentials(self) -> Credential:
        """What the request presents: a token, a login and password, or nothing."""
        path_token = getattr(self.request, "path_token", None)
        if path_token:
            return Token(path_token)
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme in ("token", "bearer") and value:
            return Token(value)
        if scheme == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise errors.Unauthenticated("Malformed HTTP Basic credentials.") from None
            login, _, password = decoded.partition(":")
            if looks_like_token(password) and password.startswith("jr-"):
                return Token(password)
            return Password(login, password)
        api_key = self.request.headers.get("X-API-Key")
        if api_key:
            return Token(api_key.strip())
        return None

    async def prepare(self) -> None:
        self._check_declared_length()
        credential = self.credentials()
        if isinstance(credential, Token):
            try:
                self.actor = await self.run(tokens.resolve, credential.secret)
                self.note_token_use()
            except errors.Unauthenticated as refused:
                self.refused_token = refused
                self.set_header("Warning", STALE_TOKEN_WARNING)
        elif isinstance(credential, Password):
            if not self.allow_password_auth:
                raise errors.Unauthenticated(
                    "Use a token (Authorization: token <token>) for this request, not a password."
                )
            account = await self.authenticate_password(credential.login, credential.password)
            self.actor = accounts.password_actor(account)
        if not await self.vouched_for(self.actor):
            if isinstance(credential, Token):
                self.refused_token = errors.Unauthenticated(
                    "The token's JupyterHub user no longer exists."
                )
                self.set_header("Warning", STALE_TOKEN_WARNING)
                self.actor = ANONYMOUS
            else:
                raise errors.Unauthenticated("Your JupyterHub user no longer exists.")

    async def vouched_for(self, actor: Actor) -> bool:
        """False when the actor's account came from a JupyterHub that no longer has its
        user: then every token and session of the account ends, here and now."""
        if actor.auth_source != JUPYTERHUB or actor.login is None:
            return True
        hub: JupyterHubService | None = self.settings.get("jupyterhub")
        if hub is None or not hub.enabled:
            return False  # no hub to vouch for a hub's account
        if await hub.still_has(actor.login):
            return True
        await self.run_write(external_accounts.cut_off, actor.login, JUPYTERHUB)
        return False

    def note_token_use(self) -> None:
        """Record the token's use for "Last used", at most once a minute per token and
        never in the request's way (the write runs after, on a worker thread)."""
        throttle: token_usage.UsageThrottle | None = self.settings.get("token_usage")
        token_id = self.actor.token_id
        if token_id and throttle is not None and throttle.due(token_id):
            IOLoop.current().spawn_callback(self._record_token_use, token_id)

    async def _record_token_use(self, token_id: str) -> None:
        try:
            await self.run_blocking(self.repo.write, token_usage.record_use, token_id)
        except Exception:  # a busy database: the next use records it
            log.warning("Could not record the use of token %s", token_id, exc_info=True)

    async def authenticate_password(self, login: str, password: str) -> Account:
        """The account whose password this is, within the limits on password attempts.

        The failed-login limiter may refuse before any work (429); then the verification
        waits for one of a bounded number of slots on the event loop (Argon2 is slow by
        design, so a flood of guesses must not occupy every worker thread).
        """
        if not self.settings.get("local_passwords", True):
            raise errors.Forbidden(
                "Passwords are turned off on this server: sign in on its web pages (single "
                "sign-on) and use a token (Authorization: token <token>)."
            )
        limiter: LoginLimiter | None = self.settings.get("login_limiter")
        checks: PasswordChecks | None = self.settings.get("password_checks")
        address = self.request.remote_ip
        if limiter is not None:
            limiter.check(address, login)
        async with checks.slot(address) if checks is not None else nullcontext():
            if limiter is not None:
                limiter.check(address, login)  # failures may have been counted meanwhile
            try:
                account: Account = await self.run(accounts.authenticate, login, password)
            except errors.Unauthenticated:
                if limiter is not None:
                    limiter.failed(address, login)
                raise
        if limiter is not None:
            limiter.succeeded(address, login)
        return account

    def _check_declared_length(self) -> None:
        declared = self.request.headers.get("Content-Length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                raise errors.InvalidInput("Content-Length is not a number.") from None
            if length > self.max_body_size:
                raise errors.TooLarge(
                    f"The request body is larger than this endpoint's limit of "
                    f"{self.max_body_size} bytes."
                )
        if isinstance(self.request.connection, HTTP1Connection):
            self.request.connection.set_max_body_size(self.max_body_size)

    # -- bodies ----------------------------------------------------------------------------

    def data_received(self, chunk: bytes) -> None:
        self._body_size += len(chunk)
        if self._body_size > self.max_body_size:
            self._body_error = errors.TooLarge("The request body is too large.")
            return
        self._body_chunks.append(chunk)

    def body_bytes(self) -> bytes:
        if self._body_error is not None:
            raise self._body_error
        return b"".join(self._body_chunks)

    def json_body(self, *, required: bool = False) -> dict[str, Any]:
        raw = self.body_bytes()
        if not raw.strip():
            if required:
                raise errors.InvalidInput("A JSON object is required in the request body.")
            return {}
        try:
            value = bounded_json.loads(raw)
        except bounded_json.JSONRefused as error:
            raise errors.InvalidInput(f"The request body is not valid JSON: {error}") from None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise errors.InvalidInput("The request body must be a JSON object.")
        return value

    # -- responses -------------------------------------------------------------------------

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.clear_header("Server")
        if self.refused_token is not None:  # also on error answers (which clear headers)
            self.set_header("Warning", STALE_TOKEN_WARNING)

    def write_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(value, default=str))

    def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None:
        """Redirect within this server only (see :func:`local_location`)."""
        try:
            location = local_location(url)
        except ValueError:
            log.warning("refused a redirect off this server: %r", url)
            raise errors.InvalidInput("This request cannot be redirected.") from None
        super().redirect(location, permanent=permanent, status=status)

    def base_url(self) -> str:
        configured: str | None = self.settings.get("public_url")
        if configured:
            return configured.rstrip("/")
        return f"{self.request.protocol}://{self.request.host}"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, errors.RepositoryError) or (
            isinstance(value, web.HTTPError) and value.status_code < 500
        ):
            return  # an expected, user-caused error: the response says it all
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, errors.RepositoryError):
            status_code = status_of(error)
            self.set_status(status_code)
            message = error.message
            if isinstance(error, errors.RateLimited):
                self.set_header("Retry-After", str(error.retry_after))
        elif isinstance(error, web.HTTPError):
            message = error.log_message or self._reason
        else:
            message = "Internal server error; the administrator can find details in the log."
        if self.refused_token is not None and status_code in (401, 404):
            # Anything an anonymous caller may not have (private and missing alike) is the
            # token's fault: say so, rather than "not found" or "log in". (Web pages, whose
            # callers are browsers with sessions, answer exactly as to anonymous callers.)
            status_code = 401
            self.set_status(401)
            message = f"{self.refused_token.message} {STALE_TOKEN_ADVICE}"
        if status_code == 401:
            self.set_header("WWW-Authenticate", 'Basic realm="jupyter-repo"')
        self.render_error(status_code, message)

    def render_error(self, status_code: int, message: str) -> None:
        """Write an error body; JSON here, XML or HTML in some subclasses."""
        self.clear_header("Content-Disposition")
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"error": message, "status": status_code}))


class NotFoundHandler(BaseHandler):
    """Catch-all: a real 404 with a JSON body for every unknown path and method."""

    async def prepare(self) -> None:
        raise errors.NotFound(f"No such resource: {self.request.path}")
