"""The access policy of the repository, written down once, independently of the code.

The authorization-matrix tests (``tests/security/test_authz_matrix.py`` for the repository server,
``tests/extension/test_authz_matrix.py`` for the Jupyter extension) compute every expected
answer from the two tables below and nothing else:

- ``LEVELS``: what each actor may do with each kind of object;
- ``ROUTES`` / ``EXTENSION_ROUTES``: what each route needs, as an ordered list of
  ``(object, level)`` pairs, and what it answers when all of them are met.

:func:`expected` applies three rules to each need in order:

1. an object the actor's level is below its *hiding level* does not exist for the actor
   (404; e.g. a private package to anyone who cannot read it, an organization's groups to
   outsiders);
2. a need not met is 401 for anonymous callers and 403 for everyone else;
3. invalid credentials (an expired or revoked token) read like none: what an anonymous
   caller gets, except that anything an anonymous caller could not have (401, or 404 for
   hidden and missing alike) is a 401 naming the refused token (issue 18: a stale token
   must not lock pip, uv, conda or ``anaconda login`` out of public reads); web pages
   answer it exactly as an anonymous caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NONE, READ, WRITE, ADMIN = 0, 1, 2, 3

OK, UNAUTH, HIDDEN, DENIED = "ok", "unauthenticated", "hidden", "denied"

#: Every actor of the matrix. The tokens are the organization admin's, so only the token's
#: scopes and limits make the difference; users authenticate with full ("all") tokens, or
#: with a session cookie on the web pages.
ACTORS = (
    "anonymous",
    "stranger",  # another user: no membership in the organization
    "reader",  # member of a read group that is granted both packages
    "writer",  # member of a write group that is granted both packages
    "outside-writer",  # member of a write group granted neither package
    "org-admin",  # member of the organization's owners group
    "read-token",  # the admin's token with the 'read' scope
    "upload-token",  # the admin's token with the 'upload' scope
    "expired-token",  # the admin's full token, expired
    "revoked-token",  # the admin's full token, revoked
    "other-package-token",  # the admin's 'api:write' token limited to another package
    "pkg-read-token",  # the admin's 'read' token limited to the private package
    "pkg-upload-token",  # the admin's 'upload' token limited to the private package
    "label-read-token",  # the admin's 'read' token limited to a label no file is on
    "label-upload-token",  # the admin's 'upload' token limited to that label
    "org-read-token",  # the admin's 'read' token limited to the organization
    "org-upload-token",  # the admin's 'upload' token limited to the organization
)
INVALID = ("expired-token", "revoked-token")
#: The label the label-limited tokens are limited to (no file of the world is on it).
TOKEN_LABEL = "devonly"

#: Actor → its level on: the public package, the private package, the files of each (all
#: on the labels main and stable), labels other than a token's own (a label-limited token
#: changes only what its label holds), the organization as a namespace (create packages,
#: manage labels, see its groups) and its own account (tokens, organizations: ADMIN needs
#: a password, a session or an 'all' token).
COLUMNS = ("public", "private", "public-files", "private-files", "labels", "namespace", "account")
_TABLE: dict[str, tuple[int, ...]] = {
    #                      public private pubfile privfile labels namespace account
    "anonymous":           (READ,  NONE,  READ,   NONE,    NONE,  NONE,     NONE),
    "stranger":            (READ,  NONE,  READ,   NONE,    ADMIN, NONE,     ADMIN),
    "reader":              (READ,  READ,  READ,   READ,    ADMIN, READ,     ADMIN),
    "writer":              (WRITE, WRITE, WRITE,  WRITE,   ADMIN, WRITE,    ADMIN),
    "outside-writer":      (READ,  NONE,  READ,   NONE,    ADMIN, WRITE,    ADMIN),
    "org-admin":           (ADMIN, ADMIN, ADMIN,  ADMIN,   ADMIN, ADMIN,    ADMIN),
    "read-token":          (READ,  READ,  READ,   READ,    ADMIN, READ,     READ),
    "upload-token":        (WRITE, WRITE, WRITE,  WRITE,   ADMIN, WRITE,    WRITE),
    "other-package-token": (READ,  NONE,  READ,   NONE,    ADMIN, READ,     WRITE),
    "pkg-read-token":      (READ,  READ,  READ,   READ,    ADMIN, READ,     READ),
    "pkg-upload-token":    (READ,  WRITE, READ,   WRITE,   ADMIN, READ,     WRITE),
    "label-read-token":    (READ,  READ,  READ,   NONE,    READ,  READ,     READ),
    "label-upload-token":  (WRITE, WRITE, READ,   NONE,    READ,  WRITE,    WRITE),
    "org-read-token":      (READ,  READ,  READ,   READ,    ADMIN, READ,     READ),
    "org-upload-token":    (WRITE, WRITE, WRITE,  WRITE,   ADMIN, WRITE,    WRITE),
}  # fmt: skip
LEVELS = {actor: dict(zip(COLUMNS, row, strict=True)) for actor, row in _TABLE.items()}
LEVELS.update({actor: LEVELS["anonymous"] for actor in INVALID})  # a refused token reads like none
#: The actors of the Jupyter extension's matrix (each cell there runs a task; the token
#: limits are the server's business and are covered by the server's matrix).
EXTENSION_ACTORS = ACTORS[:4] + ACTORS[5:11]

#: Object → (the LEVELS column it is judged by, the level below which it does not exist).
OBJECTS: dict[str, tuple[str, int | None]] = {
    "package": ("", READ),  # column "public" or "private"; everyone reads public ones
    # A package made for one cell (deleted or changed by it): like "package", but the
    # tokens limited to the world's private package have no rights on it.
    "fresh": ("", READ),
    # Every package holding files on a label (a whole-label copy writes to each).
    "all-packages": ("", None),
    "files": ("-files", READ),  # column "public-files" or "private-files"
    "labels": ("labels", None),  # changing what labels other than a token's own hold
    "namespace": ("namespace", None),  # the organization's name and packages are public
    "org": ("namespace", READ),  # its groups and members: members only
    "org-tokens": ("namespace", ADMIN),  # its tokens: admins only
    "labels-page": ("namespace", WRITE),  # the label management page: writers only
    "account": ("account", None),
}

Need = tuple[str, int]


@dataclass(frozen=True)
class Route:
    """One (method, path) of the matrix and what it needs.

    ``path`` and ``body`` are templates filled per cell (``{org}``, ``{pkg}``, values made by
    ``setup``...). ``lists``: the answer is a listing that must show the package of the
    cell's column exactly when the actor may read it. ``ok`` may depend on the actor.
    """

    method: str
    path: str
    needs: tuple[Need, ...] = ()
    ok: int | dict[str, int] = 200
    lists: str | None = None  # "text", "zst", "shards"
    body: Any = None
    body_kind: str = "json"  # json, form, raw, multipart, pypi-upload, none
    setup: str | None = None
    fresh_credential: bool = False  # the request ends the credential it uses
    reads_credentials: bool = True
    family: str = "api"  # api, conda, pypi, web (and "extension" for the extension matrix)
    unauthenticated: int = 0  # the status of UNAUTH, when not the family's usual one
    note: str = ""
    #: The listing shows files (conda, PyPI, a label), not packages: judged by "files".
    lists_files: bool = False
    #: The route creates the package when it is missing (uploads): to a caller who may not
    #: create packages in the namespace, a package it cannot read answers like a missing
    #: one (403), not 404.
    creates: bool = False
    #: A web form naming files in its fields: files the caller may not read are a mistake
    #: in the form (400), as missing ones are; only the page's own package is a 404.
    files_in_form: bool = False

    @property
    def per_visibility(self) -> bool:
        return self.lists is not None or any(
            name in ("package", "files", "fresh") for name, _ in self.needs
        )

    def ok_for(self, actor: str) -> int:
        if isinstance(self.ok, int):
            return self.ok
        return self.ok.get(actor, self.ok["*"])


def _r(
    method: str,
    path: str,
    needs: tuple[Need, ...] = (),
    ok: int | dict[str, int] = 200,
    **kwargs: Any,
) -> Route:
    return Route(method, path, needs, ok, **kwargs)


P = "package"
F = "files"
PKG_READ: tuple[Need, ...] = ((P, READ),)
PKG_WRITE: tuple[Need, ...] = ((P, WRITE),)
FILE_READ: tuple[Need, ...] = ((P, READ), (F, READ))
#: Reading the files first (a file the caller cannot read does not exist), then writing.
FILE_CHANGE: tuple[Need, ...] = ((P, READ), (F, READ), (P, WRITE), ("labels", WRITE))
#: Writing to the package first, then to files it reads, on labels it may change.
LABEL_CHANGE: tuple[Need, ...] = ((P, WRITE), (F, READ), ("labels", WRITE))
#: Copying a whole label (both packages have files on it) onto another one.
WHOLE_LABEL_COPY: tuple[Need, ...] = (
    ("namespace", WRITE),
    ("labels", WRITE),
    ("all-packages", WRITE),
)
#: Tokens limited to the world's private package (no rights on any other package).
PRIVATE_PACKAGE_TOKENS = ("pkg-read-token", "pkg-upload-token")
ACCOUNT_READ: tuple[Need, ...] = (("account", READ),)
ACCOUNT_ADMIN: tuple[Need, ...] = (("account", ADMIN),)
ORG_READ: tuple[Need, ...] = (("org", READ),)
ORG_ADMIN: tuple[Need, ...] = (("org", ADMIN),)
CSV = b"a,b\n1,2\n"
COPY_BODY = {"to_owner": "{org}", "from_channel": "main", "to_channel": "copied"}

#: The REST API, the conda channels, the PyPI indexes and the web pages. HEAD is GET
#: without a body on every route that answers GET (checked with the same expectations).
ROUTES: tuple[Route, ...] = (
    # -- the API: site, tokens, accounts ---------------------------------------------------
    _r("GET", "/api"),
    _r("GET", "/api/openapi.json"),
    _r("GET", "/api/authentication-type"),
    _r("GET", "/api/scopes"),
    _r(
        "POST",
        "/api/authentications",
        ACCOUNT_ADMIN,
        body={"note": "{new}", "scopes": ["read"], "max-age": 3600},
    ),
    _r("GET", "/api/authentications", ACCOUNT_READ),
    _r(
        "DELETE",
        "/api/authentications",
        ACCOUNT_READ,
        201,
        fresh_credential=True,
        body_kind="none",
        note="revokes the token it is called with",
    ),
    _r("GET", "/api/authentication", ACCOUNT_READ),
    _r(
        "DELETE",
        "/api/authentications/name/{token_name}",
        ACCOUNT_ADMIN,
        201,
        setup="own_token",
        body_kind="none",
    ),
    _r(
        "DELETE",
        "/api/authentications/org/{org}/name/{token_name}",
        (("account", ADMIN), ("org-tokens", ADMIN)),
        201,
        setup="org_token",
        body_kind="none",
    ),
    _r(
        "POST",
        "/api/hub/token",
        (),
        404,
        body={"hub_token": "not-a-hub-token"},
        note="a JupyterHub service only (tests/hub/ checks it against a real hub); "
        "404 here, whatever the credentials",
    ),
    _r("GET", "/api/user", ACCOUNT_READ),
    _r("GET", "/api/user/orgs", ACCOUNT_READ),
    _r("GET", "/api/namespaces", ACCOUNT_READ),
    _r("GET", "/api/user/{org}"),
    _r("GET", "/api/users/{reader}/orgs"),
    _r("POST", "/api/orgs/{new}", ACCOUNT_ADMIN, 201, body={"name": "Matrix org"}),
    # -- packages, releases, files ---------------------------------------------------------
    _r("GET", "/api/packages/{org}", lists="text"),
    _r("GET", "/api/search?name={search}", lists="text"),
    _r("GET", "/api/package/{org}/{pkg}", PKG_READ),
    _r("POST", "/api/package/{org}/{new}", (("namespace", WRITE),), 200, body={"public": False}),
    _r("PATCH", "/api/package/{org}/{pkg}", PKG_WRITE, body={"summary": "patched"}),
    _r(
        "PATCH",
        "/api/package/{org}/{fresh_pkg}",
        (("fresh", ADMIN),),
        setup="fresh_package",
        body={"public": "{flip}"},
        note="a change of visibility needs admin",
    ),
    _r(
        "DELETE",
        "/api/package/{org}/{fresh_pkg}",
        (("fresh", WRITE), ("labels", WRITE)),
        201,
        setup="fresh_package",
        body_kind="none",
    ),
    _r("GET", "/api/release/{org}/{pkg}/{version}", FILE_READ),
    _r("POST", "/api/release/{org}/{pkg}/{new}", PKG_WRITE, body={}),
    _r(
        "PATCH",
        "/api/release/{org}/{pkg}/{version}",
        ((P, WRITE), (F, READ)),
        body={"summary": "patched"},
    ),
    _r(
        "DELETE",
        "/api/release/{org}/{pkg}/{fresh_version}",
        LABEL_CHANGE,
        201,
        setup="fresh_file",
        body_kind="none",
    ),
    _r("GET", "/api/dist/{org}/{pkg}/{version}/{wheel}", FILE_READ),
    _r(
        "DELETE",
        "/api/dist/{org}/{pkg}/{fresh_version}/{fresh_file}",
        LABEL_CHANGE,
        setup="fresh_file",
        body_kind="none",
    ),
    *(
        _r(
            method,
            "/api/yank/{org}/{pkg}/{fresh_version}" + suffix,
            LABEL_CHANGE,
            setup="fresh_file",
            body={"reason": "matrix"} if method == "PUT" else None,
            body_kind="json" if method == "PUT" else "none",
            note="yanking changes what the file's labels show, like relabelling",
        )
        for method in ("PUT", "DELETE")
        for suffix in ("", "/{fresh_file}")
    ),
    _r("GET", "/api/download/{org}/{pkg}/{version}/{conda}", FILE_READ),
    _r("GET", "/api/packages/{org}/{pkg}/collaborators", PKG_READ),
    _r(
        "PUT",
        "/api/packages/{org}/{pkg}/collaborators/{bystander}",
        ((P, ADMIN),),
        201,
        body_kind="none",
    ),
    _r(
        "DELETE",
        "/api/packages/{org}/{pkg}/collaborators/{bystander}",
        ((P, ADMIN),),
        201,
        setup="collaborator",
        body_kind="none",
    ),
    # -- uploads ---------------------------------------------------------------------------
    _r(
        "POST",
        "/api/stage/{org}/{pkg}/{version}/{new}.csv",
        PKG_WRITE,
        body={"distribution_type": "file"},
    ),
    _r(
        "POST",
        "/api/stage-upload/{dist_id}",
        (),
        201,
        setup="stage",
        body_kind="multipart",
        reads_credentials=False,
        note="the unguessable upload id is the credential",
    ),
    _r(
        "POST",
        "/api/commit/{org}/{pkg}/{version}/{staged}",
        (*PKG_WRITE, ("labels", WRITE)),
        setup="received",
        body={"dist_id": "{dist_id}"},
        note="staged onto main: a token limited to another label may not commit it",
    ),
    _r(
        "PUT",
        "/api/upload/{org}/{pkg}/{version}/{new}.csv",
        PKG_WRITE,
        201,
        body=CSV,
        body_kind="raw",
        creates=True,
    ),
    _r(
        "POST",
        "/api/upload/{org}/{pkg}/{version}/{new}.csv",
        PKG_WRITE,
        201,
        body=CSV,
        body_kind="raw",
        creates=True,
    ),
    _r(
        "PUT",
        "/api/upload/{org}/{pkg}/{version}/{new}.csv?label=stable",
        (*PKG_WRITE, ("labels", WRITE)),
        201,
        body=CSV,
        body_kind="raw",
        creates=True,
        note="onto another label than a token's",
    ),
    # -- labels and copies -----------------------------------------------------------------
    _r("GET", "/api/channels/{org}"),
    _r("GET", "/api/channels/{org}/stable", lists="text", lists_files=True),
    _r("POST", "/api/channels/{org}/added", LABEL_CHANGE, 201, body={"package": "{pkg}"}),
    _r(
        "DELETE",
        "/api/channels/{org}/{label}",
        LABEL_CHANGE,
        201,
        setup="labelled",
        body={"package": "{pkg}"},
    ),
    _r("POST", "/api/channels/{org}/stable/copy/{new}", WHOLE_LABEL_COPY, 201, body_kind="none"),
    _r("POST", "/api/channels/{org}/locker/lock", (("namespace", ADMIN),), 201, body_kind="none"),
    _r("DELETE", "/api/channels/{org}/locker/lock", (("namespace", ADMIN),), 201, body_kind="none"),
    _r("POST", "/api/copy/package/{org}/{pkg}/{version}", FILE_CHANGE, body=COPY_BODY),
    _r("PUT", "/api/copy/package/{org}/{pkg}/{version}", FILE_CHANGE, body=COPY_BODY),
    _r("PATCH", "/api/copy/package/{org}/{pkg}/{version}", FILE_CHANGE, body=COPY_BODY),
    _r("POST", "/api/copy/package/{org}/{pkg}/{version}/{wheel}", FILE_CHANGE, body=COPY_BODY),
    _r("PUT", "/api/copy/package/{org}/{pkg}/{version}/{wheel}", FILE_CHANGE, body=COPY_BODY),
    _r("PATCH", "/api/copy/package/{org}/{pkg}/{version}/{wheel}", FILE_CHANGE, body=COPY_BODY),
    # -- organizations' groups -------------------------------------------------------------
    _r("GET", "/api/groups/{org}", ORG_READ),
    _r("GET", "/api/group/{org}/readers", ORG_READ),
    _r("POST", "/api/group/{org}/{new}", ORG_ADMIN, 204, body={"perms": "read"}),
    _r("DELETE", "/api/group/{org}/{group}", ORG_ADMIN, 204, setup="group", body_kind="none"),
    _r("GET", "/api/group/{org}/readers/members", ORG_READ),
    _r("GET", "/api/group/{org}/readers/members/{reader}", ORG_READ, 204),
    _r("PUT", "/api/group/{org}/extras/members/{bystander}", ORG_ADMIN, 204, body_kind="none"),
    _r(
        "DELETE",
        "/api/group/{org}/extras/members/{bystander}",
        ORG_ADMIN,
        204,
        setup="extras_member",
        body_kind="none",
    ),
    _r("GET", "/api/group/{org}/readers/packages", ORG_READ, lists="text"),
    _r(
        "PUT",
        "/api/group/{org}/extras/packages/{pkg}",
        (("org", ADMIN), (P, ADMIN)),
        204,
        body_kind="none",
    ),
    _r(
        "DELETE",
        "/api/group/{org}/extras/packages/{pkg}",
        (("org", ADMIN), (P, ADMIN)),
        204,
        setup="extras_grant",
        body_kind="none",
    ),
    _r("GET", "/api/no-such-endpoint", (), 404, reads_credentials=False),
    _r("POST", "/api/no-such-endpoint", (), 404, reads_credentials=False, body={}),
    # -- conda channels (tokens as /t/<token>/) --------------------------------------------
    _r("GET", "/conda/{org}/channeldata.json", lists="text", lists_files=True, family="conda"),
    _r("GET", "/conda/{org}/noarch/repodata.json", lists="text", lists_files=True, family="conda"),
    _r(
        "GET",
        "/conda/{org}/noarch/repodata.json.zst",
        lists="zst",
        lists_files=True,
        family="conda",
    ),
    _r(
        "GET",
        "/conda/{org}/noarch/repodata_shards.msgpack.zst",
        lists="shards",
        lists_files=True,
        family="conda",
    ),
    _r("GET", "/conda/{org}/noarch/shards/{digest}.msgpack.zst", FILE_READ, family="conda"),
    _r(
        "GET",
        "/conda/{org}/noarch/run_exports.json",
        lists="text",
        lists_files=True,
        family="conda",
    ),
    _r("GET", "/conda/{org}/noarch/{conda_file}", FILE_READ, family="conda"),
    _r(
        "GET",
        "/conda/{org}/label/stable/noarch/repodata.json",
        lists="text",
        lists_files=True,
        family="conda",
    ),
    # -- PyPI indexes (tokens as the password of HTTP Basic) -------------------------------
    _r("GET", "/pypi/{org}/simple", (), 301, family="pypi"),
    _r("GET", "/pypi/{org}/simple/", lists="text", lists_files=True, family="pypi"),
    _r("GET", "/pypi/{org}/simple/{pkg}/", FILE_READ, family="pypi"),
    _r("GET", "/pypi/{org}/simple/{pkg}/{wheel}", FILE_READ, family="pypi"),
    _r("GET", "/pypi/{org}/pypi/{pkg}/json", FILE_READ, family="pypi"),
    _r("GET", "/pypi/{org}/pypi/{pkg}/{version}/json", FILE_READ, family="pypi"),
    _r("GET", "/pypi/{org}/+simple/{pkg}/", FILE_READ, family="pypi", note="for hatch"),
    *(
        _r(
            "POST",
            page,
            (),
            405,
            family="pypi",
            note="a publisher aimed at simple/: the 405 names the index root",
        )
        for page in (
            "/pypi/{org}/simple",
            "/pypi/{org}/simple/",
            "/pypi/{org}/simple/{pkg}/",
            "/pypi/{org}/+simple/{pkg}/",
        )
    ),
    _r(
        "POST",
        "/pypi/{org}/",
        (*PKG_WRITE, ("labels", WRITE)),
        body={"name": "{pkg}"},
        body_kind="pypi-upload",
        creates=True,
        family="pypi",
        note="the upload API: a new version of the package, onto main",
    ),
    # -- web pages (users by session cookie, tokens by header; forms carry XSRF) -----------
    _r("GET", "/static/style.css", reads_credentials=False, family="web"),
    _r("GET", "/static/favicon.svg", reads_credentials=False, family="web"),
    _r("GET", "/favicon.ico", (), 301, reads_credentials=False, family="web"),
    _r("GET", "/", lists="text", family="web"),
    _r("GET", "/search?q={search}", lists="text", family="web"),
    _r(
        "GET",
        "/login",
        ok={"anonymous": 200, "*": 303},
        family="web",
        unauthenticated=401,
        note="signed-in callers are sent on to their account; a bad token is told so",
    ),
    _r(
        "POST",
        "/login",
        (),
        303,
        body={"username": "{reader}", "password": "{password}"},
        body_kind="form",
        fresh_credential=True,
        family="web",
        unauthenticated=401,
    ),
    _r(
        "GET",
        "/oauth/{new}/login",
        (),
        404,
        family="web",
        note="no such sign-in provider here (tests/hub/ signs in through real ones)",
    ),
    _r("GET", "/oauth/{new}/callback?code=x&state=y", (), 404, family="web"),
    _r("GET", "/logout", family="web"),
    _r("POST", "/logout", (), 303, body={}, body_kind="form", fresh_credential=True, family="web"),
    _r("GET", "/account", ACCOUNT_READ, family="web"),
    _r("GET", "/account/tokens", (), 303, family="web"),
    _r(
        "POST",
        "/account/tokens",
        ACCOUNT_ADMIN,
        body_kind="form",
        family="web",
        body={"name": "{new}", "scopes": "read", "expires_days": "1"},
    ),
    _r(
        "POST",
        "/account/tokens/{token_id}/revoke",
        ACCOUNT_ADMIN,
        setup="own_token",
        body={},
        body_kind="form",
        family="web",
        note="first the page saying what revoking does (nothing changes yet)",
    ),
    _r(
        "POST",
        "/account/tokens/{token_id}/revoke",
        ACCOUNT_ADMIN,
        303,
        setup="own_token",
        body={"confirmed": "yes"},
        body_kind="form",
        family="web",
    ),
    _r(
        "POST",
        "/orgs",
        ACCOUNT_ADMIN,
        303,
        body={"login": "{new}", "name": "Web org"},
        body_kind="form",
        family="web",
    ),
    _r("GET", "/orgs/{org}", ORG_READ, family="web"),
    _r(
        "POST",
        "/orgs/{org}",
        ORG_ADMIN,
        303,
        body={"group": "{new}", "permission": "read"},
        body_kind="form",
        family="web",
    ),
    _r("GET", "/orgs/{org}/groups/readers", ORG_READ, lists="text", family="web"),
    _r(
        "POST",
        "/orgs/{org}/groups/extras",
        ORG_ADMIN,
        303,
        body={"action": "add-member", "login": "{bystander}"},
        body_kind="form",
        family="web",
    ),
    _r("GET", "/labels/{org}", (("labels-page", WRITE),), family="web"),
    _r(
        "POST",
        "/labels/{org}",
        (("labels-page", WRITE), *WHOLE_LABEL_COPY),
        303,
        body={"action": "copy", "label": "stable", "to_label": "{new}"},
        body_kind="form",
        family="web",
    ),
    _r("GET", "/{org}", lists="text", family="web"),
    _r("GET", "/{org}/{pkg}", PKG_READ, family="web"),
    _r(
        "POST",
        "/{org}/{pkg}/settings",
        LABEL_CHANGE,
        303,
        files_in_form=True,
        body={"action": "add-label", "label": "web-added"},
        body_kind="form",
        family="web",
    ),
    _r(
        "POST",
        "/{org}/{pkg}/settings",
        LABEL_CHANGE,
        303,
        files_in_form=True,
        setup="fresh_file",
        body={"action": "yank", "version": "{fresh_version}", "reason": "matrix"},
        body_kind="form",
        family="web",
    ),
    _r("GET", "/{org}/{pkg}/files/{version}/{notebook}", FILE_READ, family="web"),
    _r("GET", "/{org}/{pkg}/download/{version}/{wheel}", FILE_READ, family="web"),
    _r("GET", "/{org}/{pkg}/raw/{version}/{notebook}", FILE_READ, family="web"),
    _r("GET", "/{org}/{pkg}/badges/version.svg", PKG_READ, family="web"),
    _r("GET", "/{org}/{pkg}/badges/downloads.svg", PKG_READ, family="web"),
    _r("GET", "/{org}/{pkg}/badges/platforms.svg", PKG_READ, family="web"),
    _r("GET", "/{org}/{pkg}/diff/{version}/{version}", FILE_READ, family="web"),
    _r("GET", "/{org}/{pkg}/no/such/page", (), 404, family="web"),
    _r("POST", "/{org}/{pkg}/no/such/page", (), 404, body={}, body_kind="form", family="web"),
)


@dataclass(frozen=True)
class ExtensionRoute:
    """A route of the Jupyter extension, judged with the repository token it is configured
    with (the actor). ``task``: the route starts a task (202) whose final state carries the
    outcome. Jupyter's own login and XSRF guard every route before this (see
    ``tests/extension/test_security.py``)."""

    method: str
    path: str
    needs: tuple[Need, ...] = ()
    ok: int | dict[str, int] = 200
    lists: bool = False
    body: dict[str, Any] = field(default_factory=dict)
    task: bool = False
    needs_token: bool = False  # refused up front (400 not_configured) without any token
    reads_credentials: bool = True  # False: answers locally whatever the token
    creates: bool = False  # publishes: creates the package when missing (see Route)

    @property
    def per_visibility(self) -> bool:
        return self.lists or any(name == "package" for name, _ in self.needs)

    def ok_for(self, actor: str) -> int:
        if isinstance(self.ok, int):
            return self.ok
        return self.ok.get(actor, self.ok["*"])


LOCAL = {"reads_credentials": False}

EXTENSION_ROUTES: tuple[ExtensionRoute, ...] = (
    ExtensionRoute("GET", "status", **LOCAL),  # reports a bad token inside a 200
    ExtensionRoute("POST", "login", ok={"anonymous": 400, "*": 200}, body={"token": "{token}"}),
    ExtensionRoute("POST", "logout", **LOCAL),
    ExtensionRoute(
        "POST",
        "publish/notebook",
        PKG_WRITE,
        task=True,
        needs_token=True,
        creates=True,
        body={
            "path": "{notebook_path}",
            "namespace": "{org}",
            "name": "{pkg}",
            "attach_environment": False,
        },
    ),
    ExtensionRoute(
        "POST",
        "publish/environment",
        PKG_WRITE,
        task=True,
        needs_token=True,
        creates=True,
        body={"kernel_name": "{kernel}", "namespace": "{org}", "name": "{pkg}"},
    ),
    ExtensionRoute(
        "POST",
        "publish/project",
        PKG_WRITE,
        task=True,
        needs_token=True,
        creates=True,
        body={"path": "{project_path}", "namespace": "{org}", "name": "{pkg}"},
    ),
    # Lists the folder's files on the Jupyter server; no repository is asked.
    ExtensionRoute("POST", "publish/project/preview", body={"path": "{project_path}"}, **LOCAL),
    # The name Share environment suggests, read from the notebook on the Jupyter server.
    ExtensionRoute("GET", "publish/environment/name?path={notebook_path}", **LOCAL),
    ExtensionRoute("GET", "search?q={search}", lists=True),
    ExtensionRoute("GET", "packages?owner={org}", lists=True),
    ExtensionRoute("GET", "package?owner={org}&name={pkg}", PKG_READ),
    ExtensionRoute(
        "POST", "open", PKG_READ, body={"owner": "{org}", "name": "{pkg}", "version": "{version}"}
    ),
    ExtensionRoute("POST", "install", PKG_READ, task=True, body={"spec": "{org}/{env}"}),
    ExtensionRoute(
        "POST", "install-environment", PKG_READ, task=True, body={"owner": "{org}", "name": "{env}"}
    ),
    # A new environment (uv venv + kernel) from a shared one: reads it like an install.
    ExtensionRoute(
        "POST", "create-environment", PKG_READ, task=True, body={"owner": "{org}", "name": "{env}"}
    ),
    ExtensionRoute("GET", "tasks", **LOCAL),
    ExtensionRoute("GET", "tasks/{task_id}", **LOCAL),
    ExtensionRoute("DELETE", "tasks/{task_id}", ok=204, **LOCAL),
    ExtensionRoute("GET", "tasks/{task_id}/log", **LOCAL),
)


def expected(
    needs: tuple[Need, ...],
    actor: str,
    visibility: str | None,
    *,
    reads_credentials: bool = True,
    creates: bool = False,
    family: str = "api",
) -> str:
    """OK, UNAUTH, HIDDEN or DENIED for one cell, from the tables above only.

    Anonymous callers are asked to authenticate wherever more than reading is needed,
    before anything is looked up (so that a private object and a missing one answer alike).
    """
    if actor in INVALID:
        # A refused token reads like no token; whatever an anonymous caller could not have
        # (asked to log in, or "not found") is a 401 that blames the token.
        if not reads_credentials:
            return OK
        if family == "extension":
            # The repository answers as to no token (with a Warning), but the project's
            # own client tells its user that the token was refused (client/api.py).
            return UNAUTH
        outcome = expected(needs, "anonymous", visibility, creates=creates)
        if family == "web":  # pages answer a refused token exactly as no token
            return outcome
        return UNAUTH if outcome in (HIDDEN, UNAUTH, DENIED) else outcome
    if actor == "anonymous" and any(needed > READ for _name, needed in needs):
        return UNAUTH
    for name, needed in needs:
        level = _level(actor, name, visibility)
        hiding = OBJECTS[name][1]
        if hiding is not None and level < hiding:
            if creates and name == "package" and LEVELS[actor]["namespace"] < WRITE:
                return DENIED  # as if missing: may not create it either
            return HIDDEN
        if level < needed:
            return UNAUTH if actor == "anonymous" else DENIED
    return OK


def _level(actor: str, name: str, visibility: str | None) -> int:
    column = OBJECTS[name][0]
    if name == "all-packages":
        return min(LEVELS[actor]["public"], LEVELS[actor]["private"])
    if column.startswith("-"):
        column = (visibility or "public") + column
    level = LEVELS[actor][column or (visibility or "public")]
    if name == "fresh" and actor in PRIVATE_PACKAGE_TOKENS:
        level = READ if visibility == "public" else NONE
    return level


def may_read_listed(actor: str, visibility: str, *, files: bool = False) -> bool:
    """Does a listing show the package (or, ``files``, its files) of this column to this
    actor?"""
    return LEVELS[actor][f"{visibility}-files" if files else visibility] >= READ
