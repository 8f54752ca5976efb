"""The web pages' forms, as a browser posts them (real server, real HTTP, XSRF tokens):
mistakes shown on the form with what was typed kept, destructive actions confirmed first
on a page that says what follows, a one-time message saying what happened, the token
form's few explained choices, and "Last used" on tokens."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import Token
from jupyter_repo.repository.services import tokens
from tests.support.server import RepoServer
from tests.support.web import WebClient, upload


def _tokens(server: RepoServer, login: str) -> dict[str, Token]:
    rows = server.call(tokens.list_tokens, server.actor(login), write=False)
    return {row.name: row for row in rows}


def _form(page: str, form_id: str) -> str:
    """The HTML of one form of a page (and the error shown just before it)."""
    match = re.search(rf'(?s)<form[^>]*id="{form_id}".*?</form>', page)
    assert match, f"no form {form_id}"
    return match.group(0)


def test_a_token_without_scope_is_refused_on_the_form_with_the_input_kept(
    server: RepoServer, user: str
) -> None:
    client = WebClient(server).login(user)
    before = _tokens(server, user)
    answer = client.post(
        "/account/tokens",
        {"name": "my laptop <b>", "expires_days": "7"},
        form_page="/account",
    )
    assert answer.status_code == 400
    form = _form(answer.text, "token-form")
    assert 'id="token-error"' in form and "Choose what the token may do" in form
    assert 'value="my laptop &lt;b&gt;"' in form  # kept, and escaped
    assert '<option value="7" selected>' in form
    assert "<h1>Bad Request</h1>" not in answer.text
    assert _tokens(server, user).keys() == before.keys()


@pytest.mark.parametrize(
    ("access", "scopes", "can_upload"),
    [("read", ["read"], False), ("write", ["api:write"], True), ("all", ["all"], True)],
)
def test_the_token_form_offers_a_few_explained_choices(
    server: RepoServer, user: str, samples: Path, access: str, scopes: list[str], can_upload: bool
) -> None:
    client = WebClient(server).login(user)
    account = client.get("/account").text
    assert account.count('name="access"') == 3 and "Exact scopes" in account
    created = client.post(
        "/account/tokens", {"name": f"t-{access}", "access": access}, form_page="/account"
    )
    assert created.status_code == 200
    secret = html.unescape(re.search(r'id="new-token-value">([^<]+)<', created.text).group(1))
    assert list(_tokens(server, user)[f"t-{access}"].scopes) == scopes
    wheel = builders.wheel(samples, f"choice-{access}", "1.0")
    response = requests.put(
        f"{server.api}/upload/{user}/choice-{access}/1.0/{wheel.name}",
        data=wheel.read_bytes(),
        headers={"Authorization": f"token {secret}"},
        timeout=60,
    )
    assert (response.status_code in (200, 201)) is can_upload, response.text


def test_adding_an_unknown_member_is_shown_on_the_group_form(
    server: RepoServer, unique: str
) -> None:
    admin = server.create_user(f"gadm{unique}")
    org = server.create_org(f"gorg{unique}", admin)
    server.add_to_group(org, "team", admin, as_user=admin)
    client = WebClient(server).login(admin)
    path = f"/orgs/{org}/groups/team"
    answer = client.post(path, {"action": "add-member", "login": f"nobody{unique}"}, form_page=path)
    assert answer.status_code == 400
    assert 'id="member-error"' in answer.text and f'value="nobody{unique}"' in answer.text
    assert "<h1>Bad Request</h1>" not in answer.text
    assert f"/nobody{unique}" not in client.get(path).text  # no member was added


def test_revoking_a_token_is_confirmed_then_reported_once(server: RepoServer, user: str) -> None:
    client = WebClient(server).login(user)
    secret = server.token(user, ["read"], name="to-revoke")
    token_id = _tokens(server, user)["to-revoke"].id
    path = f"/account/tokens/{token_id}/revoke"

    def works() -> bool:
        answer = requests.get(
            f"{server.api}/user", headers={"Authorization": f"token {secret}"}, timeout=30
        )
        return answer.status_code == 200

    asked = client.post(path, {}, form_page="/account")
    assert asked.status_code == 200
    assert "Revoke the token “to-revoke”?" in asked.text
    assert "Everything still using it is refused" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert works()  # asking changed nothing

    done = client.post(path, {"confirmed": "yes"}, form_page="/account")
    assert done.status_code == 303 and done.headers["Location"] == "/account"
    assert not works()
    shown = client.get("/account").text
    assert 'class="flash"' in shown and "“to-revoke” is revoked" in shown
    assert 'class="flash"' not in client.get("/account").text  # said once


def test_outsiders_get_no_confirmation_page(server: RepoServer, user: str, unique: str) -> None:
    server.token(user, ["read"], name="not-yours")
    token_id = _tokens(server, user)["not-yours"].id
    other = WebClient(server).login(server.create_user(f"out{unique}"))
    answer = other.post(f"/account/tokens/{token_id}/revoke", {}, form_page="/account")
    assert answer.status_code == 404 and "not-yours" not in answer.text
    assert "not-yours" in _tokens(server, user)


def test_making_a_package_private_is_confirmed_then_reported(
    server: RepoServer, user: str, samples: Path
) -> None:
    upload(server, server.token(user), user, "goes-private", "1", builders.csv_file(samples))
    client = WebClient(server).login(user)
    path = f"/{user}/goes-private/settings"
    form = {"action": "visibility", "public": "0"}
    asked = client.post(path, form, form_page="/account")
    assert asked.status_code == 200 and f"Make {user}/goes-private private?" in asked.text
    assert "Installs by anyone without access" in asked.text
    assert requests.get(f"{server.url}/{user}/goes-private", timeout=30).status_code == 200

    done = client.post(path, {**form, "confirmed": "yes"}, form_page="/account")
    assert done.status_code == 303
    assert requests.get(f"{server.url}/{user}/goes-private", timeout=30).status_code == 404
    assert f"{user}/goes-private is now private." in client.get(f"/{user}/goes-private").text


def test_removing_a_label_is_confirmed_and_a_bad_label_is_shown_on_the_form(
    server: RepoServer, user: str, samples: Path
) -> None:
    upload(
        server, server.token(user), user, "labelled", "1", builders.csv_file(samples), label="dev"
    )
    client = WebClient(server).login(user)
    path = f"/{user}/labelled/settings"
    bad = client.post(
        path, {"action": "add-label", "label": "not a label!", "version": "1"}, form_page="/account"
    )
    assert bad.status_code == 400 and 'id="labels-error"' in bad.text
    assert 'value="not a label!"' in bad.text and 'id="label-version"' in bad.text

    form = {"action": "remove-label", "label": "dev"}
    asked = client.post(path, form, form_page="/account")
    assert asked.status_code == 200 and "Remove the label dev from every file" in asked.text
    assert "dev" in client.get(f"/labels/{user}").text
    done = client.post(path, {**form, "confirmed": "yes"}, form_page="/account")
    assert done.status_code == 303
    page = client.get(f"/{user}/labelled").text
    assert "Label dev removed from every file of labelled." in page


def test_last_used_is_filled_in_and_written_at_most_once_a_minute(
    server: RepoServer, user: str, samples: Path
) -> None:
    upload(server, server.token(user), user, "used", "1", builders.csv_file(samples))
    secret = server.token(user, ["read"], name="used-token")
    client = WebClient(server).login(user)
    row = re.search(r"(?s)<th scope=\"row\">used-token</th>.*?</tr>", client.get("/account").text)
    assert row and 'data-label="Last used">never<' in row.group(0)

    started = time.time()
    requests.get(f"{server.api}/user", headers={"Authorization": f"token {secret}"}, timeout=30)
    deadline = time.monotonic() + 20
    while _tokens(server, user)["used-token"].last_used_at is None:
        assert time.monotonic() < deadline, "last use never recorded"
        time.sleep(0.2)
    first = _tokens(server, user)["used-token"].last_used_at
    assert first is not None and abs(first.timestamp() - started) < 30
    # Many more requests (API, conda channel, PyPI index) within the minute: no new write.
    for path in (
        "/api/user",
        f"/t/{secret}/conda/{user}/noarch/repodata.json",
        f"/t/{secret}/pypi/{user}/simple/",
    ) * 5:
        requests.get(server.url + path, headers={"Authorization": f"token {secret}"}, timeout=30)
    time.sleep(1)
    assert _tokens(server, user)["used-token"].last_used_at == first
    row = re.search(r"(?s)<th scope=\"row\">used-token</th>.*?</tr>", client.get("/account").text)
    assert row and 'data-label="Last used">never<' not in row.group(0)
    assert first.strftime("%Y-%m-%d") in row.group(0)
