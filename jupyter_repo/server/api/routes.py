"""The route table of the REST API (paths relative to the server root)."""

from __future__ import annotations

from tornado.web import RequestHandler

from jupyter_repo.server.api import (
    auth,
    downloads,
    groups,
    hub,
    labels,
    openapi,
    packages,
    uploads,
    yanking,
)

SEG = r"([^/]+)"  # one path segment
REST = r"(.+)"  # the rest of the path (conda basenames contain a slash)

ROUTES: list[tuple[str, type[RequestHandler]]] = [
    (r"/api/?", auth.ApiRootHandler),
    (r"/api/openapi.json", openapi.OpenAPIHandler),
    (r"/api/authentication-type", auth.AuthenticationTypeHandler),
    (r"/api/authentications", auth.AuthenticationsHandler),
    (r"/api/authentication", auth.AuthenticationHandler),
    (rf"/api/authentications/name/{SEG}", auth.AuthenticationByNameHandler),
    (rf"/api/authentications/org/{SEG}/name/{SEG}", auth.OrgAuthenticationByNameHandler),
    (r"/api/scopes", auth.ScopesHandler),
    (r"/api/hub/token", hub.HubTokenHandler),
    (r"/api/user", auth.CurrentUserHandler),
    (r"/api/user/orgs", auth.CurrentUserOrgsHandler),
    (r"/api/namespaces", auth.NamespacesHandler),
    (rf"/api/user/{SEG}", auth.UserHandler),
    (rf"/api/users/{SEG}/orgs", auth.UserOrgsHandler),
    (rf"/api/orgs/{SEG}", auth.OrgsHandler),
    (rf"/api/packages/{SEG}", packages.PackagesHandler),
    (rf"/api/packages/{SEG}/{SEG}/collaborators", packages.CollaboratorsHandler),
    (rf"/api/packages/{SEG}/{SEG}/collaborators/{SEG}", packages.CollaboratorHandler),
    (r"/api/search", packages.SearchHandler),
    (rf"/api/package/{SEG}/{SEG}", packages.PackageHandler),
    (rf"/api/release/{SEG}/{SEG}/{SEG}", packages.ReleaseHandler),
    (rf"/api/dist/{SEG}/{SEG}/{SEG}/{REST}", packages.DistHandler),
    (rf"/api/yank/{SEG}/{SEG}/{SEG}", yanking.YankHandler),
    (rf"/api/yank/{SEG}/{SEG}/{SEG}/{REST}", yanking.YankHandler),
    (rf"/api/stage/{SEG}/{SEG}/{SEG}/{REST}", uploads.StageHandler),
    (rf"/api/stage-upload/{SEG}", uploads.StageUploadHandler),
    (rf"/api/commit/{SEG}/{SEG}/{SEG}/{REST}", uploads.CommitHandler),
    (rf"/api/upload/{SEG}/{SEG}/{SEG}/{REST}", uploads.DirectUploadHandler),
    (rf"/api/download/{SEG}/{SEG}/{SEG}/{REST}", downloads.DownloadHandler),
    (rf"/api/channels/{SEG}", labels.LabelsHandler),
    (rf"/api/channels/{SEG}/{SEG}", labels.LabelHandler),
    (rf"/api/channels/{SEG}/{SEG}/copy/{SEG}", labels.LabelCopyHandler),
    (rf"/api/channels/{SEG}/{SEG}/lock", labels.LabelLockHandler),
    (rf"/api/copy/package/{SEG}/{SEG}/{SEG}/?", labels.CopyHandler),
    (rf"/api/copy/package/{SEG}/{SEG}/{SEG}/{REST}", labels.CopyHandler),
    (rf"/api/groups/{SEG}", groups.GroupsHandler),
    (rf"/api/group/{SEG}/{SEG}", groups.GroupHandler),
    (rf"/api/group/{SEG}/{SEG}/members", groups.GroupMembersHandler),
    (rf"/api/group/{SEG}/{SEG}/members/{SEG}", groups.GroupMemberHandler),
    (rf"/api/group/{SEG}/{SEG}/packages", groups.GroupPackagesHandler),
    (rf"/api/group/{SEG}/{SEG}/packages/{SEG}", groups.GroupPackageHandler),
]
