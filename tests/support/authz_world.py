"""The objects and actors the authorization matrix runs against, and how one cell is run.

The world is one organization with a public and a private package (conda, wheel and notebook
files on labels ``main`` and ``stable``), an environment package of each visibility, a third
private package (the target of the package-limited token), groups ``readers`` (read),
``writers`` (write) and ``extras`` (no actor in it), and every actor of
``authz_policy.ACTORS`` with its credential. Set-up goes through the services in-process;
every request of a cell goes over HTTP to the real server.
"""

from __future__ import annotations

import http.cookiejar
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgpack
import requests
from sqlalchemy import update

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import Token, utcnow
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import (
    accounts,
    labels,
    orgs,
    packages,
    tokens,
    uploads,
    web_sessions,
)
from jupyter_repo.repository.services.uploads import DirectOptions
from tests.support import authz_policy as policy
from tests.support.http import upload
from tests.support.server import PASSWORD, RepoServer

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # Python < 3.14
    from backports import zstd  # type: ignore[no-redef]

VERSION = "1.0"
USER_ACTORS = {
    "stranger": "stranger",
    "reader": "reader",
    "writer": "writer",
    "outside-writer": "outsider",
    "org-admin": "admin",
}
#: The admin's limited tokens: actor → (scopes, limit: "package", "label" or "org").
LIMITED_TOKENS = {
    "read-token": (["read"], None),
    "upload-token": (["upload"], None),
    "other-package-token": (["api:write"], "other"),
    "pkg-read-token": (["read"], "package"),
    "pkg-upload-token": (["upload"], "package"),
    "label-read-token": (["read"], "label"),
    "label-upload-token": (["upload"], "label"),
    "org-read-token": (["read"], "org"),
    "org-upload-token": (["upload"], "org"),
}


@dataclass(frozen=True)
class Credential:
    """How an actor authenticates: a token, a web session, or nothing."""

    token: str | None = None
    session: str | None = None


@dataclass
class World:
    server: RepoServer
    unique: str
    logins: dict[str, str]  # role (admin, writer, reader, stranger, bystander) → login
    org: str
    packages: dict[str, str]  # visibility → package name
    envs: dict[str, str]  # visibility → environment package name
    other: str
    files: dict[str, dict[str, str]]  # visibility → kind → basename
    digests: dict[str, str]  # visibility → shard digest
    tokens: dict[str, str] = field(default_factory=dict)  # actor → token secret
    sessions: dict[str, str] = field(default_factory=dict)  # user actor → session secret
    xsrf: str = ""
    work: Path = Path()
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- names -----------------------------------------------------------------------------

    def fresh(self, prefix: str = "n") -> str:
        """A new valid name for anything (account, package, label, group, token)."""
        with self._lock:
            number = next(self._counter)
        return f"{prefix}{number}x{self.unique}"

    def actor(self, role: str) -> Actor:
        return self.server.actor(self.logins[role])

    def user_of(self, actor: str) -> str | None:
        """The login behind an actor (tokens are the admin's)."""
        if actor == "anonymous":
            return None
        return self.logins[USER_ACTORS.get(actor, "admin")]

    def values(self, visibility: str | None) -> dict[str, str]:
        """Template values of a cell's path and body."""
        chosen = visibility or "public"
        names = self.files[chosen]
        return {
            "org": self.org,
            "pkg": self.packages[chosen],
            "env": self.envs[chosen],
            "version": VERSION,
            "conda": names["conda"],
            "conda_file": names["conda_file"],
            "wheel": names["wheel"],
            "notebook": names["notebook"],
            "digest": self.digests[chosen],
            "search": self.unique,
            "reader": self.logins["reader"],
            "bystander": self.logins["bystander"],
            "password": PASSWORD,
        }

    # -- credentials -----------------------------------------------------------------------

    def credential(self, actor: str, family: str) -> Credential:
        if actor == "anonymous":
            return Credential()
        if family == "web" and actor in self.sessions:
            return Credential(session=self.sessions[actor])
        return Credential(token=self.tokens[actor])

    def fresh_credential(self, actor: str, family: str) -> Credential:
        """A credential like the actor's, for a request that ends the one it uses."""
        if actor == "anonymous" or actor in policy.INVALID:
            return self.credential(actor, family)
        user = self.server.call(accounts.get_user, self.user_of(actor), write=False)
        if family == "web" and actor in self.sessions:
            return Credential(session=self.server.call(web_sessions.start, user.id, max_age=3600))
        return Credential(token=self._token_like(actor))

    def _token_like(self, actor: str) -> str:
        login = self.user_of(actor)
        assert login is not None
        options: dict[str, Any] = {"name": self.fresh("tok")}
        scopes, limit = LIMITED_TOKENS.get(actor, (None, None))
        if limit == "other":
            options["package"] = f"{self.org}/{self.other}"
        elif limit == "package":
            options["package"] = f"{self.org}/{self.packages['private']}"
        elif limit == "label":
            options["label"] = policy.TOKEN_LABEL
        elif limit == "org":
            options["org"] = self.org
        return self.server.token(login, scopes, **options)


# -- building the world ------------------------------------------------------------------------


def build(server: RepoServer, unique: str, work: Path) -> World:
    work.mkdir(parents=True, exist_ok=True)
    logins = {
        role: server.create_user(f"mx{role[:3]}{unique}")
        for role in ("admin", "writer", "outsider", "reader", "stranger", "bystander")
    }
    org = server.create_org(f"mxorg{unique}", logins["admin"])
    server.add_to_group(org, "readers", logins["reader"], "read")
    server.add_to_group(org, "writers", logins["writer"], "write")
    server.add_to_group(org, "outsiders", logins["outsider"], "write")
    admin = server.actor(logins["admin"])
    server.call(orgs.create_group, admin, org, "extras", "read")
    admin_token = server.token(logins["admin"])
    world = World(server, unique, logins, org, {}, {}, f"other{unique}", {}, {}, work=work)
    for visibility, prefix in (("public", "pub"), ("private", "priv")):
        name = f"{prefix}{unique}"
        world.packages[visibility] = name
        world.envs[visibility] = f"{prefix}env{unique}"
        world.files[visibility] = _publish(
            server, admin_token, org, name, work / visibility, private=visibility == "private"
        )
        env_file = builders.environment_file(
            work / visibility, "requirements.txt", "# nothing to install\n"
        )
        response = upload(
            server.api,
            admin_token,
            org,
            world.envs[visibility],
            "1",
            env_file.name,
            env_file,
            type="env",
            **({"private": "1"} if visibility == "private" else {}),
        )
        assert response.status_code == 201, response.text
        for group in ("readers", "writers"):
            server.grant(org, group, name)
            server.grant(org, group, world.envs[visibility])
    csv = builders.csv_file(work, "other.csv")
    response = upload(server.api, admin_token, org, world.other, "1", csv.name, csv, private="1")
    assert response.status_code == 201, response.text
    server.call(
        labels.add_files, admin, org, "locker", labels.FileSelection(world.packages["public"])
    )
    world.digests = _shard_digests(server, admin_token, org, world.packages)
    _credentials(world)
    world.xsrf = _xsrf_token(server)
    return world


def _publish(
    server: RepoServer, token: str, org: str, name: str, folder: Path, *, private: bool
) -> dict[str, str]:
    conda = builders.conda_package(folder, name, VERSION)
    wheel = builders.wheel(folder, name, VERSION)
    notebook = builders.notebook(folder, "analysis.ipynb")
    extra = {"private": "1"} if private else {}
    for basename, path, kind in (
        (f"noarch/{conda.name}", conda, None),
        (wheel.name, wheel, None),
        (notebook.name, notebook, "ipynb"),
    ):
        params = {"label": ["main", "stable"], **extra, **({"type": kind} if kind else {})}
        response = upload(server.api, token, org, name, VERSION, basename, path, **params)
        assert response.status_code == 201, response.text
    return {
        "conda": f"noarch/{conda.name}",
        "conda_file": conda.name,
        "wheel": wheel.name,
        "notebook": notebook.name,
    }


def _shard_digests(
    server: RepoServer, token: str, org: str, names: dict[str, str]
) -> dict[str, str]:
    response = requests.get(
        f"{server.url}/t/{token}/conda/{org}/noarch/repodata_shards.msgpack.zst", timeout=30
    )
    assert response.status_code == 200, response.text
    index = msgpack.unpackb(zstd.decompress(response.content))
    return {visibility: index["shards"][name].hex() for visibility, name in names.items()}


def _credentials(world: World) -> None:
    server, admin_login = world.server, world.logins["admin"]
    for actor, role in USER_ACTORS.items():
        world.tokens[actor] = server.token(world.logins[role])
        user = server.call(accounts.get_user, world.logins[role], write=False)
        world.sessions[actor] = server.call(web_sessions.start, user.id, max_age=3600)
    for actor in LIMITED_TOKENS:
        world.tokens[actor] = world._token_like(actor)
    expired_name, revoked_name = world.fresh("expired"), world.fresh("revoked")
    expired = server.token(admin_login, name=expired_name)
    server.call(
        lambda s: s.execute(
            update(Token)
            .where(Token.name == expired_name)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    )
    revoked = server.token(admin_login, name=revoked_name)
    server.call(tokens.revoke_by_name, world.actor("admin"), revoked_name)
    world.tokens.update({"expired-token": expired, "revoked-token": revoked})


def _xsrf_token(server: RepoServer) -> str:
    response = requests.get(f"{server.url}/login", timeout=30)
    assert response.status_code == 200
    return response.cookies["_xsrf"]


# -- per-cell set-up of objects a request consumes --------------------------------------------


def setup(world: World, name: str | None, actor: str, visibility: str | None) -> dict[str, Any]:
    """Make what a destructive or consuming request needs; returns template values."""
    if name is None:
        return {}
    server, admin = world.server, world.actor("admin")
    org, package = world.org, world.packages[visibility or "public"]
    if name == "own_token":
        login = world.user_of(actor)
        if login is None:
            return {"token_name": "no-such-token", "token_id": "0" * 16}
        token_name = world.fresh("tok")
        row, _secret = server.call(
            tokens.create_token, server.actor(login), name=token_name, scopes=["read"]
        )
        return {"token_name": token_name, "token_id": row.id}
    if name == "org_token":
        token_name = world.fresh("orgtok")
        server.call(tokens.create_token, admin, name=token_name, org=org)
        return {"token_name": token_name}
    if name == "fresh_package":
        fresh = world.fresh("del")
        _ingest(world, admin, fresh, "1", public=visibility == "public")
        for group in ("readers", "writers"):
            server.grant(org, group, fresh)
        return {"fresh_pkg": fresh, "flip": visibility != "public"}
    if name == "fresh_file":
        version = world.fresh("v")
        basename = _ingest(world, admin, package, version)
        return {"fresh_version": version, "fresh_file": basename}
    if name == "collaborator":
        server.call(packages.add_collaborator, admin, org, package, world.logins["bystander"])
        return {}
    if name == "stage":
        row = server.call(
            uploads.stage,
            server.repo,
            admin,
            org,
            package,
            VERSION,
            f"{world.fresh('st')}.csv",
            uploads.StageRequest("file"),
        )
        return {"dist_id": row.dist_id}
    if name == "received":
        login = world.user_of(actor)
        stager = server.actor(login) if actor in ("writer", "org-admin") and login else admin
        basename = f"{world.fresh('st')}.csv"
        row = server.call(
            uploads.stage,
            server.repo,
            stager,
            org,
            package,
            VERSION,
            basename,
            uploads.StageRequest("file"),
        )
        spool = server.repo.store.new_spool(1 << 20)
        spool.write(policy.CSV)
        spool.finish()
        uploads.receive(server.repo, row.dist_id, spool, content_md5=None, content_length=None)
        return {"dist_id": row.dist_id, "staged": basename}
    if name == "labelled":
        label = world.fresh("rm")
        server.call(labels.add_files, admin, org, label, labels.FileSelection(package))
        return {"label": label}
    if name == "group":
        group = world.fresh("g")
        server.call(orgs.create_group, admin, org, group, "read")
        return {"group": group}
    if name == "extras_member":
        server.call(orgs.add_member, admin, org, "extras", world.logins["bystander"])
        return {}
    if name == "extras_grant":
        server.call(orgs.add_package, admin, org, "extras", package)
        return {}
    raise AssertionError(f"unknown set-up {name!r}")


def _ingest(world: World, admin: Actor, package: str, version: str, *, public: bool = True) -> str:
    basename = f"{world.fresh('f')}.csv"
    path = world.work / basename
    path.write_bytes(policy.CSV)
    uploads.ingest_local_file(
        world.server.repo,
        admin,
        world.org,
        package,
        version,
        basename,
        path,
        DirectOptions(public=public),
    )
    return basename


# -- one request -------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str
    body: bytes


def client_session() -> requests.Session:
    """A session that never keeps cookies (each cell sends exactly its own)."""
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


def send(
    world: World,
    http: requests.Session,
    route: policy.Route,
    method: str,
    path: str,
    body: Any,
    credential: Credential,
) -> Answer:
    url, headers, cookies = world.server.url + path, {}, {}
    if credential.token:
        if route.family == "conda":
            url = f"{world.server.url}/t/{credential.token}{path}"
        elif route.family == "pypi":
            http_auth: Any = ("__token__", credential.token)
        else:
            headers["Authorization"] = f"token {credential.token}"
    if credential.session:
        cookies["jupyter_repo_session"] = credential.session
    kwargs: dict[str, Any] = {}
    if route.family == "pypi" and credential.token:
        kwargs["auth"] = http_auth
    if route.body_kind == "json" and method not in ("GET", "HEAD"):
        kwargs["data"] = json.dumps(body if body is not None else {})
        headers["Content-Type"] = "application/json"
    elif route.body_kind == "raw":
        kwargs["data"] = body
    elif route.body_kind == "form":
        cookies["_xsrf"] = world.xsrf
        headers["X-XSRFToken"] = world.xsrf
        kwargs["data"] = body or {}
    elif route.body_kind == "multipart":
        kwargs["files"] = {"file": ("upload.csv", policy.CSV)}
        kwargs["data"] = {"key": "upload.csv"}
    elif route.body_kind == "pypi-upload":
        kwargs["files"] = pypi_upload_form(world, body["name"])
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    response = http.request(
        method, url, headers=headers, allow_redirects=False, timeout=60, **kwargs
    )
    location = response.headers.get("Location", "")
    return Answer(
        response.status_code,
        urlsplit(location).path
        + ("?" + urlsplit(location).query if urlsplit(location).query else ""),
        response.content,
    )


def pypi_upload_form(world: World, project: str) -> list[tuple[str, Any]]:
    """PyPI's upload form (as twine sends it) with a wheel of a new version of ``project``."""
    version = f"1.{world.fresh('').split('x')[0]}"
    folder = world.server.root / "pypi-uploads" / world.fresh("w")
    wheel = builders.wheel(folder, project, version)
    fields = {":action": "file_upload", "protocol_version": "1", "name": project}
    fields.update(version=version, filetype="bdist_wheel", pyversion="py3")
    parts: list[tuple[str, Any]] = [(key, (None, value)) for key, value in fields.items()]
    return [*parts, ("content", (wheel.name, wheel.read_bytes(), "application/octet-stream"))]


def listing_text(kind: str | None, body: bytes) -> str:
    if kind == "zst":
        return zstd.decompress(body).decode("utf-8", "replace")
    if kind == "shards":
        return " ".join(msgpack.unpackb(zstd.decompress(body))["shards"])
    return body.decode("utf-8", "replace")


def fill(template: Any, values: dict[str, Any]) -> Any:
    """Fill ``{name}`` placeholders in a path or (nested) body; a string that is only a
    placeholder takes the value as it is (a JSON true stays true)."""
    if isinstance(template, str):
        whole = template[1:-1] if template.startswith("{") and template.endswith("}") else ""
        if whole in values and not isinstance(values[whole], str):
            return values[whole]
        return template.format(**values)
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    return template
