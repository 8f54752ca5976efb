"""The repository as a JupyterHub service (issue 20), against a real hub.

One hub per module (its start-up takes the time): the repository runs as the hub's managed
service with the configuration docs/deploy.md documents, passwords turned off, a group
mapping, and a second OAuth client of the hub that the generic OAuth 2 configuration
(``c.ServeApp.oauth_providers``) signs in with.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
import requests
from sqlalchemy.orm import Session
from traitlets.config import Config

from jupyter_repo.client.api import RepoClient
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.services import accounts, orgs
from tests.support.hub import SERVICE, Hub, hub_login, oauth_callback_url, web_sign_in

TOKEN_MAX_AGE = 3600
SSO_SECRET = secrets.token_hex(16)
MAPPING = {"ds": ["acme/analysts:write"], "viewers": ["acme/readers:read"]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("hub")
    hub = Hub(root)
    hub.repo_config_file = f"""
c.JupyterHubService.token_max_age = {TOKEN_MAX_AGE}
c.JupyterHubService.membership_check_interval = 1
c.JupyterHubService.group_mapping = {MAPPING!r}
c.ServeApp.local_passwords = False
c.ServeApp.oauth_providers = [{{
    "name": "hubsso",
    "display_name": "Hub SSO",
    "client_id": "service-sso-client",
    "client_secret": {SSO_SECRET!r},
    "authorize_url": "{hub.url}/hub/api/oauth2/authorize",
    "token_url": "{hub.api}/oauth2/token",
    "userinfo_url": "{hub.api}/user",
    "redirect_uri": "{hub.repo_url}/oauth/hubsso/callback",
    "scope": "",
    "login_claim": "name",
    "token_endpoint_auth_method": "client_secret_post",
}}]
"""
    hub.hub_config = f"""
# The hub as a plain OAuth 2 provider for the generic configuration.
c.JupyterHub.services.append({{
    "name": "sso-client",
    "oauth_client_id": "service-sso-client",
    "api_token": {SSO_SECRET!r},
    "oauth_redirect_uri": "{hub.repo_url}/oauth/hubsso/callback",
    "oauth_no_confirm": True,
}})
c.JupyterHub.load_roles[1]["scopes"].append("access:services!service=sso-client")
"""
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def repo(hub: Hub) -> Iterator[Repository]:
    """The service's own database, for setting up what only an administrator makes."""
    config = Config(
        {"Repository": {"data_dir": str(hub.root / "repo-data"), "auto_migrate": False}}
    )
    repository = Repository(config=config)
    try:
        yield repository
    finally:
        repository.close()


SERVER_SCOPES = [
    "users:activity!user",
    f"access:services!service={SERVICE}",
    f"read:services!service={SERVICE}",
]


def exchange(hub: Hub, hub_token: str) -> requests.Response:
    return requests.post(f"{hub.repo_url}/api/hub/token", json={"hub_token": hub_token}, timeout=60)


def repo_token(hub: Hub, name: str, groups: tuple[str, ...] = ()) -> dict:
    hub.add_user(name, groups)
    answer = exchange(hub, hub.server_token(name, SERVER_SCOPES))
    assert answer.status_code == 200, answer.text
    return answer.json()


def whoami(hub: Hub, token: str) -> requests.Response:
    return requests.get(
        f"{hub.repo_url}/api/user", headers={"Authorization": f"token {token}"}, timeout=60
    )


def account_exists(hub: Hub, login: str) -> bool:
    answer = requests.get(f"{hub.repo_url}/api/user/{login}", timeout=60)
    assert answer.status_code in (200, 404), answer.text
    return answer.status_code == 200


def publish(hub: Hub, token: str, owner: str, name: str, tmp_path: Path, *, public: bool) -> int:
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("hi")]), path)
    try:
        with RepoClient(hub.repo_url, token) as client:
            client.upload(owner, name, "1", path, package_type="ipynb", public=public)
    except Exception as error:  # the status is what the test looks at
        return int(getattr(error, "status", 0) or 0)
    return 201


# -- the documented configuration ------------------------------------------------------------


def test_documented_jupyterhub_config_starts(hub: Hub) -> None:
    """The hub runs docs/deploy.md's block: the repository is its managed service, and a
    single-user server's token (with the documented scopes) finds it."""
    hub.add_user("docs-check")
    token = hub.server_token("docs-check", SERVER_SCOPES)
    answer = requests.get(
        f"{hub.api}/services/{SERVICE}", headers={"Authorization": f"token {token}"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["url"] == hub.repo_url
    assert requests.get(f"{hub.repo_url}/api", timeout=60).json()["status"] == "ok"


# -- tokens for single-user servers --------------------------------------------------------


def test_hub_token_has_the_documented_scopes_and_expiry(hub: Hub) -> None:
    before = time.time()
    issued = repo_token(hub, "alice")
    assert issued["scopes"] == ["api:write"]
    assert issued["origin"] == "jupyterhub"
    lifetime = datetime.fromisoformat(issued["expires"]).timestamp() - before
    assert TOKEN_MAX_AGE - 60 < lifetime <= TOKEN_MAX_AGE + 1
    me = whoami(hub, issued["token"])
    assert me.status_code == 200 and me.json()["login"] == "alice"
    # 'api:write' manages no tokens: it cannot mint a longer-lived one for itself.
    minted = requests.post(
        f"{hub.repo_url}/api/authentications",
        json={"note": "escape", "scopes": ["api:write"], "max-age": 86400 * 365},
        headers={"Authorization": f"token {issued['token']}"},
        timeout=60,
    )
    assert minted.status_code == 403, minted.text


def test_hub_token_is_listed_on_the_tokens_page_and_revoked_there(hub: Hub) -> None:
    issued = repo_token(hub, "tokenpage")
    http = requests.Session()
    page = web_sign_in(http, hub, "tokenpage")
    assert page.status_code == 200 and page.url == f"{hub.repo_url}/account", page.text[:300]
    assert "JupyterHub server" in page.text and "JupyterHub</td>" in page.text
    # The user revokes it with the page's own form: the server's token stops working.
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert xsrf
    revoke = f"{hub.repo_url}/account/tokens/{issued['id']}/revoke"
    asked = http.post(revoke, data={"_xsrf": xsrf.group(1)}, timeout=60)
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text
    assert whoami(hub, issued["token"]).status_code == 200  # only asked, not yet revoked
    revoked = http.post(revoke, data={"_xsrf": xsrf.group(1), "confirmed": "yes"}, timeout=60)
    assert revoked.status_code == 200 and "JupyterHub</td>" not in revoked.text
    assert "“JupyterHub server” is revoked" in revoked.text
    assert whoami(hub, issued["token"]).status_code == 401


def test_hub_token_stops_working_when_revoked(hub: Hub) -> None:
    issued = repo_token(hub, "revoker")
    answer = requests.delete(
        f"{hub.repo_url}/api/authentications",
        headers={"Authorization": f"token {issued['token']}"},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    assert whoami(hub, issued["token"]).status_code == 401


def test_hub_token_stops_working_when_the_user_is_removed_from_the_hub(hub: Hub) -> None:
    issued = repo_token(hub, "leaver")
    assert whoami(hub, issued["token"]).status_code == 200
    browser = requests.Session()
    assert web_sign_in(browser, hub, "leaver").url == f"{hub.repo_url}/account"
    hub.remove_user("leaver")
    time.sleep(1.5)  # membership_check_interval
    refused = whoami(hub, issued["token"])
    assert refused.status_code == 401
    assert "no longer exists" in refused.json()["error"]
    # The web session ended too: the account page sends the browser to log in.
    page = browser.get(f"{hub.repo_url}/account", allow_redirects=False, timeout=60)
    assert page.status_code == 303 and page.headers["Location"].startswith("/login")
    # Revoked for good: the same name back on the hub does not revive the old token.
    hub.add_user("leaver")
    assert whoami(hub, issued["token"]).status_code == 401


@pytest.mark.parametrize(
    "kind",
    ["random", "user-token-without-service-access", "service-token", "oversized"],
)
def test_attack_forged_hub_token_is_refused(hub: Hub, kind: str) -> None:
    """Only a hub user's token that the hub vouches for, and that may access this service,
    gets a repository token; nothing is created otherwise."""
    name = f"forge-{kind[:6]}"
    hub.add_user(name)
    hub_token = {
        "random": secrets.token_hex(16),
        "user-token-without-service-access": hub.server_token(name, ["users:activity!user"]),
        "service-token": hub.admin_token,
        "oversized": "x" * 5000,
    }[kind]
    answer = exchange(hub, hub_token)
    assert answer.status_code in (401, 403), answer.text
    assert answer.json()["error"]
    assert not account_exists(hub, name)


def test_attack_hub_token_in_the_authorization_header_is_no_repository_token(hub: Hub) -> None:
    """A hub token is not a repository credential: sent as one, it is refused."""
    hub.add_user("headerman")
    token = hub.server_token("headerman", SERVER_SCOPES)
    assert whoami(hub, token).status_code == 401


# -- hub groups → organization groups ---------------------------------------------------------


def test_hub_groups_grant_exactly_the_mapped_rights(
    hub: Hub, repo: Repository, tmp_path: Path
) -> None:
    def create_org(session: Session) -> None:
        owner = accounts.create_user(session, "acme-owner", "owner-password-1")
        accounts.create_org(session, "acme", owner)

    repo.call(create_org, write=True)
    writer = repo_token(hub, "writer1", ("ds",))["token"]
    reader = repo_token(hub, "reader1", ("viewers",))["token"]
    outsider = repo_token(hub, "outsider1")["token"]
    assert publish(hub, writer, "acme", "shared-nb", tmp_path, public=False) == 201
    assert publish(hub, reader, "acme", "reader-nb", tmp_path, public=False) == 403
    assert publish(hub, outsider, "acme", "outsider-nb", tmp_path, public=False) in (403, 404)

    def package(token: str) -> int:
        return requests.get(
            f"{hub.repo_url}/api/package/acme/shared-nb",
            headers={"Authorization": f"token {token}"},
            timeout=60,
        ).status_code

    assert (package(writer), package(reader), package(outsider)) == (200, 404, 404)

    def grant_to_readers(session: Session) -> None:
        """The organization's owner shares the package with the mapped read group."""
        owner = accounts.password_actor(accounts.get_user(session, "acme-owner"))
        orgs.add_package(session, owner, "acme", "readers", "shared-nb")

    repo.call(grant_to_readers, write=True)
    assert (package(writer), package(reader), package(outsider)) == (200, 200, 404)
    # Out of the hub group: the next exchange takes the mapped rights away.
    hub.call("DELETE", "/groups/ds/users", json={"users": ["writer1"]})
    again = exchange(hub, hub.server_token("writer1", SERVER_SCOPES)).json()["token"]
    assert package(again) == 404
    assert publish(hub, again, "acme", "shared-nb-2", tmp_path, public=False) in (403, 404)


# -- web sign-in through the hub ----------------------------------------------------------------


def test_web_sign_in_through_the_hub_creates_the_account(hub: Hub) -> None:
    assert not account_exists(hub, "webuser")
    http = requests.Session()
    page = web_sign_in(http, hub, "webuser")
    assert page.url == f"{hub.repo_url}/account"
    assert "webuser" in page.text
    assert account_exists(hub, "webuser")


def test_attack_replayed_oauth_state_is_refused(hub: Hub) -> None:
    http = requests.Session()
    hub_login(http, hub, "replayer")
    callback = oauth_callback_url(http, hub)
    first = http.get(callback, allow_redirects=False, timeout=60)
    assert first.status_code == 303 and first.headers["Location"] == "/account"
    # The same answer again, even with the state cookie put back: refused.
    saved = {"p": "jupyterhub", "s": _query(callback, "state"), "v": "x", "n": "/"}
    cookie = base64.urlsafe_b64encode(json.dumps(saved).encode()).decode()
    replay = requests.get(
        callback, cookies={"jupyter_repo_oauth": cookie}, allow_redirects=False, timeout=60
    )
    assert replay.status_code == 400, replay.text[:300]
    assert "already used" in replay.text
    assert "jupyter_repo_session" not in replay.cookies


def test_attack_oauth_answer_from_another_browser_is_refused(hub: Hub) -> None:
    """Login CSRF: the attacker's own callback URL, opened in the victim's browser (which
    has no matching state cookie), signs nobody in."""
    attacker = requests.Session()
    hub_login(attacker, hub, "mallory")
    callback = oauth_callback_url(attacker, hub)
    victim = requests.Session()
    answer = victim.get(callback, allow_redirects=False, timeout=60)
    assert answer.status_code == 400, answer.text[:300]
    assert "did not start in this browser" in answer.text
    assert "jupyter_repo_session" not in answer.cookies


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_attack_sign_in_next_leads_only_to_this_server(hub: Hub, target: str) -> None:
    http = requests.Session()
    hub_login(http, hub, "nexter")
    callback = oauth_callback_url(http, hub, next_path=target)
    answer = http.get(callback, allow_redirects=False, timeout=60)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/account"


def test_attack_hub_user_cannot_take_over_a_local_account(hub: Hub, repo: Repository) -> None:
    repo.call(
        lambda session: accounts.create_user(session, "localboss", "local-password-1"),
        write=True,
    )
    http = requests.Session()
    page = web_sign_in(http, hub, "localboss")
    assert page.status_code == 403
    assert "not one that this sign-in created" in page.text
    hub.add_user("localboss")
    answer = exchange(hub, hub.server_token("localboss", SERVER_SCOPES))
    assert answer.status_code == 403
    assert "jupyter_repo_session" not in {cookie.name for cookie in http.cookies}


# -- generic OAuth 2, against the hub as the provider --------------------------------------------


def test_generic_oauth_sign_in_against_the_hub_as_provider(hub: Hub) -> None:
    http = requests.Session()
    login_page = http.get(f"{hub.repo_url}/login", timeout=60)
    assert "Sign in with Hub SSO" in login_page.text
    page = web_sign_in(http, hub, "ssouser", provider="hubsso")
    assert page.status_code == 200 and page.url == f"{hub.repo_url}/account", page.text[:300]
    assert "ssouser" in page.text
    # An account the generic provider made is not the hub service's to sign in.
    other = requests.Session()
    refused = web_sign_in(other, hub, "ssouser", provider="jupyterhub")
    assert refused.status_code == 403


# -- local passwords turned off -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pwuser(repo: Repository) -> str:
    """A local account with a password (made before passwords were turned off)."""
    repo.call(
        lambda session: accounts.create_user(session, "pwuser", "pw-password-123"), write=True
    )
    return "pwuser"


def test_password_login_is_refused_when_passwords_are_off(hub: Hub, pwuser: str) -> None:
    http = requests.Session()
    form = http.get(f"{hub.repo_url}/login", timeout=60)
    assert 'name="password"' not in form.text  # no password form to fill in
    # Someone posts the old form anyway, with a matching XSRF cookie and field.
    xsrf = secrets.token_hex(16)
    answer = http.post(
        f"{hub.repo_url}/login",
        data={"username": "pwuser", "password": "pw-password-123", "_xsrf": xsrf},
        cookies={"_xsrf": xsrf},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 403, answer.text[:300]
    assert "Passwords are turned off" in answer.text
    assert "jupyter_repo_session" not in answer.cookies


@pytest.mark.parametrize("path", ["/api/user", "/api/authentications"])
def test_basic_auth_is_refused_when_passwords_are_off(hub: Hub, pwuser: str, path: str) -> None:
    method = "POST" if path.endswith("authentications") else "GET"
    answer = requests.request(
        method, f"{hub.repo_url}{path}", auth=(pwuser, "pw-password-123"), json={}, timeout=60
    )
    assert answer.status_code == 403, answer.text
    assert "Passwords are turned off" in answer.json()["error"]


def _query(url: str, name: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)[name][0]


# -- zero configuration in a single-user server ----------------------------------------------


def test_single_user_server_finds_the_repository_and_a_token_by_itself(
    hub: Hub, tmp_path: Path
) -> None:
    """What the extension, the widgets and the CLI resolve in a hub's single-user server
    with nothing configured: the hub's repository service and a token for the hub user."""
    from jupyter_repo.client import hub as client_hub
    from jupyter_repo.client.config import CredentialStore, resolve

    hub.add_user("zeroconf")
    environ = {
        "JUPYTERHUB_API_URL": hub.api,
        "JUPYTERHUB_API_TOKEN": hub.server_token("zeroconf", SERVER_SCOPES),
    }
    client_hub.forget()
    try:
        credentials = resolve(environ=environ, store=CredentialStore(tmp_path / "jupyter"))
        assert credentials.url == hub.repo_url
        assert credentials.token and credentials.token.startswith("jr-")
        assert whoami(hub, credentials.token).json()["login"] == "zeroconf"
        # Nothing written anywhere: the token lives in this process only.
        assert not list((tmp_path / "jupyter").rglob("*"))
        # The same token until it nears its end, not one per request.
        assert resolve(environ=environ, store=CredentialStore(tmp_path / "jupyter")).token == (
            credentials.token
        )
    finally:
        client_hub.forget()


# -- acceptance 1: in Chromium, from the hub's login to the repository's pages -----------------


@pytest.mark.browser
def test_publish_from_a_hub_without_settings_then_see_it_signed_in(
    hub: Hub, artifacts_dir: Path, unique: str
) -> None:
    from playwright.sync_api import expect

    from jupyter_repo.demo import builders
    from tests.support.lab import chromium, lab_page

    alice, bob = f"ann{unique[:5]}", f"ben{unique[:5]}"
    builders.notebook(hub.root / "homes" / alice, "analysis.ipynb", title="Hub analysis")
    name = f"hubnb-{unique}"
    with chromium() as browser:
        with lab_page(browser, artifacts_dir / "hub-publish-last.png") as page:
            page.set_default_timeout(180_000)
            page.goto(f"{hub.url}/hub/login")
            page.get_by_label("Username").fill(alice)
            page.get_by_label("Password").fill("any password")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"**/user/{alice}/lab**")
            page.goto(f"{hub.url}/user/{alice}/lab/tree/analysis.ipynb?reset")
            page.wait_for_selector("#jupyterlab-splash", state="detached")
            page.get_by_title("Publish this notebook to the repository").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_label("Name", exact=True).fill(name)
            dialog.get_by_label("Visibility").select_option("private")
            page.screenshot(path=str(artifacts_dir / "hub-publish-dialog.png"))
            dialog.get_by_role("button", name="Publish").click()
            dialog.get_by_role("link", name="Open the published page").wait_for()
            # What the browser learns of the connection: who, where; never the token.
            status = page.request.get(f"{hub.url}/user/{alice}/jupyter-repo/status")
            assert status.ok and status.json()["user"]["login"] == alice
            assert status.json()["url"] == hub.repo_url and "jr-" not in status.text()
            # The repository's pages: signed in through the hub, the notebook is A's.
            page.goto(f"{hub.repo_url}/oauth/jupyterhub/login?next=/{alice}")
            page.wait_for_url(f"{hub.repo_url}/{alice}")
            expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
            expect(page.get_by_text(alice).first).to_be_visible()
            page.screenshot(path=str(artifacts_dir / "hub-repository-signed-in.png"))
        with lab_page(browser, artifacts_dir / "hub-other-user-last.png") as page:
            page.goto(f"{hub.url}/hub/login?next=/hub/home")
            page.get_by_label("Username").fill(bob)
            page.get_by_label("Password").fill("any password")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/hub/home")
            page.goto(f"{hub.repo_url}/oauth/jupyterhub/login?next=/{alice}")
            page.wait_for_url(f"{hub.repo_url}/{alice}")
            expect(page.get_by_text(bob).first).to_be_visible()
            assert page.get_by_role("link", name=name, exact=True).count() == 0
            answer = page.goto(f"{hub.repo_url}/{alice}/{name}")
            assert answer is not None and answer.status == 404
