"""Issue 15, findings 4, 6 and 13: who the client is, where a redirect leads, bounded JSON.

4. ``X-Forwarded-For`` was believed from anyone: rotating it lifted the login limiter, a
   limit per login let anyone keep an account locked, and a flood of wrong passwords
   (Argon2, unbounded) made a token request wait 20 s.
6. A project name like ``\\\\2130706433:56733\\X`` was echoed into a PyPI redirect that
   browsers follow off-site.
13. Deeply nested JSON answered 500 (a RecursionError).

Every test performs the attack over real HTTP against a real server process, with variants
of the reported example, and checks that it is refused and that nothing stored changed.
Clients that need an address of their own bind to another loopback address (127.0.0.x),
so the server sees them as different machines.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import itertools
import json
import statistics
import tarfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import Token, WebSession
from tests.support import publish
from tests.support.server import PASSWORD, RepoServer, running_server
from tests.support.state import snapshot, unchanged
from tests.support.web import WebClient

ATTEMPTS = 4  # ServeApp.login_attempts of this module's own servers
WIDE = ATTEMPTS * 5  # failures of one address over all logins / of one login from everywhere
UNDER_ATTACK = 3  # failures each address may have for a login under attack
FLOOD = 100  # concurrent wrong passwords


# -- clients with an address of their own ------------------------------------------------------


class _SourceAddress(HTTPAdapter):
    """Connections from a chosen local address (any 127.0.0.x reaches a 127.0.0.1 server)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(pool_maxsize=FLOOD)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _SourceAddress(address))
    return session


def _token_address(server: RepoServer, name: str) -> str:
    return server.call(
        lambda s: s.scalar(select(Token.remote_addr).where(Token.name == name)), write=False
    )


def _session_addresses(server: RepoServer) -> set[str]:
    return set(server.call(lambda s: list(s.scalars(select(WebSession.remote_addr))), write=False))


def _tracebacks(server: RepoServer) -> int:
    return server.log_text().count("Traceback")


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoServer]:
    """A server with the default trust: no proxy, so no forwarded header is believed."""
    with running_server(
        tmp_path_factory.mktemp("direct"), config={"ServeApp.login_attempts": ATTEMPTS}
    ) as instance:
        yield instance


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoServer]:
    """A server behind proxies on 127.0.0.1 and in 10.0.0.0/8 (as if; the test is the proxy)."""
    with running_server(
        tmp_path_factory.mktemp("proxied"),
        config={
            "ServeApp.login_attempts": ATTEMPTS,
            "ServeApp.trusted_proxies": '["127.0.0.1", "10.0.0.0/8"]',
        },
    ) as instance:
        yield instance


# -- finding 4: forwarded headers, lockout, password floods ------------------------------------

#: Headers a client may send to claim another address, new values for each guess.
SPOOFING_HEADERS: dict[str, Callable[[int], dict[str, str]]] = {
    "x-forwarded-for": lambda i: {"X-Forwarded-For": f"10.0.{i // 250}.{i % 250}"},
    "x-forwarded-for-chain": lambda i: {"X-Forwarded-For": f"198.51.100.{i}, 10.9.9.{i}"},
    "x-real-ip": lambda i: {"X-Real-IP": f"203.0.113.{i}"},
    "ipv6": lambda i: {"X-Forwarded-For": f"2001:db8::{i:x}", "X-Real-IP": f"2001:db8:{i:x}::1"},
    "forwarded": lambda i: {"Forwarded": f"for=192.0.2.{i};proto=https"},
    "other-client-ip-headers": lambda i: {
        "X-Client-IP": f"192.0.2.{i}",
        "True-Client-IP": f"192.0.2.{i}",
        "CF-Connecting-IP": f"192.0.2.{i}",
    },
}


@pytest.mark.parametrize("header", list(SPOOFING_HEADERS))
def test_finding_4_rotating_forwarded_headers_do_not_lift_the_limit(
    direct: RepoServer, header: str
) -> None:
    """The attack of the report (a new X-Forwarded-For per guess) and its cousins: on a
    server that trusts no proxy, none of them changes the address that is counted."""
    index = list(SPOOFING_HEADERS).index(header)
    spoof = SPOOFING_HEADERS[header]
    login = direct.create_user(f"spoofed{index}")
    client = client_at(f"127.0.1.{index + 1}")
    statuses = [
        client.post(
            f"{direct.api}/authentications", auth=(login, "wrong-password"), headers=spoof(attempt)
        ).status_code
        for attempt in range(ATTEMPTS + 3)
    ]
    assert statuses == [401] * ATTEMPTS + [429] * 3, (spoof(0), statuses)
    # Even the right password waits now, from this address, whatever the headers say.
    note = f"blocked-{header}"
    blocked = client.post(
        f"{direct.api}/authentications",
        auth=(login, PASSWORD),
        headers=spoof(99),
        json={"note": note},
    )
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 61
    assert _token_address(direct, note) is None  # nothing was created


def test_finding_4_the_web_form_counts_the_real_address_too(direct: RepoServer) -> None:
    login = direct.create_user("spoofedweb")
    web = WebClient(direct)
    web.http.mount("http://", _SourceAddress("127.0.1.50"))
    answers = []
    for attempt in range(ATTEMPTS + 1):
        web.http.headers.update(SPOOFING_HEADERS["x-forwarded-for"](attempt))
        answers.append(web.post("/login", {"username": login, "password": "wrong"}).status_code)
    assert answers == [401] * ATTEMPTS + [429]


def test_finding_4_forwarded_headers_are_not_recorded_from_strangers(direct: RepoServer) -> None:
    """Tokens and web sessions record the real peer, and links keep the real scheme."""
    login = direct.create_user("recorded")
    client = client_at("127.0.1.60")
    spoof = {
        "X-Forwarded-For": "203.0.113.77",
        "X-Real-IP": "203.0.113.78",
        "X-Forwarded-Proto": "https",
    }
    created = client.post(
        f"{direct.api}/authentications",
        auth=(login, PASSWORD),
        headers=spoof,
        json={"note": "recorded-token"},
    )
    assert created.status_code == 200, created.text
    assert _token_address(direct, "recorded-token") == "127.0.1.60"

    web = WebClient(direct)
    web.http.mount("http://", _SourceAddress("127.0.1.61"))
    web.http.headers.update(spoof)
    web.login(login)
    assert "127.0.1.61" in _session_addresses(direct)
    assert not {"203.0.113.77", "203.0.113.78"} & _session_addresses(direct)

    root = client.get(f"{direct.api}", headers=spoof).json()
    assert root["api_url"].startswith("http://127.0.0.1:"), root


def test_finding_4_trusted_proxies_are_believed(proxied: RepoServer) -> None:
    """From a configured proxy, X-Forwarded-For (read from the right, past trusted hops),
    X-Real-IP and X-Forwarded-Proto name the client; from anyone else they do not."""
    url = f"{proxied.api}/authentications"
    login = proxied.create_user("behindproxy")
    hop = {"X-Forwarded-For": "203.0.113.10"}
    assert [
        requests.post(url, auth=(login, "wrong"), headers=hop).status_code
        for _ in range(ATTEMPTS + 1)
    ] == [401] * ATTEMPTS + [429]
    # Another client behind the same proxy is another address: not blocked.
    other = requests.post(
        url,
        auth=(login, PASSWORD),
        json={"note": "via-proxy"},
        headers={"X-Forwarded-For": "203.0.113.11"},
    )
    assert other.status_code == 200, other.text
    assert _token_address(proxied, "via-proxy") == "203.0.113.11"

    # What a client writes to the left of the proxy's own entry is its own claim: ignored,
    # so rotating it lifts nothing. Trusted hops (10.0.0.0/8) are skipped from the right.
    rotated = [
        requests.post(
            url,
            auth=(login, "wrong"),
            headers={"X-Forwarded-For": f"192.0.2.{attempt}, 203.0.113.12, 10.1.2.{attempt}"},
        ).status_code
        for attempt in range(ATTEMPTS + 1)
    ]
    assert rotated == [401] * ATTEMPTS + [429]
    chained = requests.post(
        url,
        auth=(login, PASSWORD),
        json={"note": "chained"},
        headers={"X-Forwarded-For": "192.0.2.1, 198.51.100.5, 10.0.0.7"},
    )
    assert chained.status_code == 200 and _token_address(proxied, "chained") == "198.51.100.5"
    real_ip = requests.post(
        url, auth=(login, PASSWORD), json={"note": "real-ip"}, headers={"X-Real-IP": "198.51.100.6"}
    )
    assert real_ip.status_code == 200 and _token_address(proxied, "real-ip") == "198.51.100.6"

    root = requests.get(proxied.api, headers={"X-Forwarded-Proto": "https"}).json()
    assert root["api_url"].startswith("https://127.0.0.1:"), root

    # A peer that is not a listed proxy (127.0.1.70 is not 127.0.0.1) is not believed.
    stranger = client_at("127.0.1.70")
    spoofed = stranger.post(
        url,
        auth=(login, PASSWORD),
        json={"note": "stranger"},
        headers={"X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.7"},
    )
    assert spoofed.status_code == 200 and _token_address(proxied, "stranger") == "127.0.1.70"
    assert (
        stranger.get(proxied.api, headers={"X-Forwarded-Proto": "https"})
        .json()["api_url"]
        .startswith("http://")
    )


def test_finding_4_the_owner_logs_in_while_others_fail_for_their_login(direct: RepoServer) -> None:
    """Attackers on five addresses fail for alice's login until it is under attack; alice,
    from her own address, logs in anyway (API and web form), even after a typo. An attacker
    on a fresh address gets only a few guesses against a login under attack."""
    owner = direct.create_user("alice-owner")
    url = f"{direct.api}/authentications"
    attackers = [client_at(f"127.0.2.{index}") for index in range(1, WIDE // ATTEMPTS + 1)]
    for attacker in attackers:
        statuses = [
            attacker.post(url, auth=(owner, "guess"), json={}).status_code
            for _ in range(ATTEMPTS + 1)
        ]
        assert statuses == [401] * ATTEMPTS + [429], statuses
        assert (
            attacker.post(url, auth=(owner, PASSWORD), json={"note": "stolen"}).status_code == 429
        )  # a later right guess is no use either
    fresh = client_at("127.0.2.100")
    assert [
        fresh.post(url, auth=(owner, "guess")).status_code for _ in range(UNDER_ATTACK + 1)
    ] == [401] * UNDER_ATTACK + [429]

    home = client_at("127.0.0.2")
    assert home.post(url, auth=(owner, "typo")).status_code == 401
    token = home.post(url, auth=(owner, PASSWORD), json={"note": "owner-token"})
    assert token.status_code == 200, token.text
    assert (
        home.get(
            f"{direct.api}/user", headers={"Authorization": f"token {token.json()['token']}"}
        ).json()["login"]
        == owner
    )
    web = WebClient(direct)
    web.http.mount("http://", _SourceAddress("127.0.0.3"))
    assert web.post("/login", {"username": owner, "password": "typo"}).status_code == 401
    web.login(owner)
    assert web.get("/account").status_code == 200
    assert _token_address(direct, "stolen") is None


def _flood(
    send: Callable[[int], requests.Response],
    probe: Callable[[], requests.Response],
) -> tuple[Counter[int], list[float], float, list[requests.Response]]:
    """``FLOOD`` requests at once (``send``); meanwhile ``probe`` again and again.

    Returns the flood's statuses, the probe's latencies, the flood's duration and its answers.
    """
    start = threading.Barrier(FLOOD + 1)

    def attack(index: int) -> requests.Response:
        start.wait()
        return send(index)

    latencies: list[float] = []
    with ThreadPoolExecutor(FLOOD) as pool:
        futures = [pool.submit(attack, index) for index in range(FLOOD)]
        start.wait()
        began = time.monotonic()
        time.sleep(0.05)  # the flood first
        while not all(future.done() for future in futures) or len(latencies) < 20:
            sent = time.monotonic()
            answer = probe()
            latencies.append(time.monotonic() - sent)
            assert answer.status_code == 200, answer.text
        answers = [future.result() for future in futures]
        duration = max(time.monotonic() - began, 0.0)
    return Counter(answer.status_code for answer in answers), latencies, duration, answers


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _report(name: str, statuses: Counter[int], latencies: list[float], duration: float) -> None:
    print(
        f"\n{name}: flood of {FLOOD} -> {dict(statuses)} in {duration:.2f} s; token GET "
        f"/api/user x{len(latencies)}: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {_p95(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )


@pytest.mark.slow
@pytest.mark.serial  # a p95 latency bound under a flood: the server's, not a shared CPU's
@pytest.mark.parametrize("flood", ["one-address", "many-addresses"])
def test_finding_4_a_flood_of_wrong_passwords_leaves_token_requests_fast(
    request: pytest.FixtureRequest, flood: str
) -> None:
    """The report's flood (one address, a new X-Forwarded-For each) and a distributed one
    (a new address each, through a trusted proxy): token requests keep answering quickly,
    surplus guesses are refused at once, and at most a bounded number is ever verified."""
    if flood == "one-address":
        server: RepoServer = request.getfixturevalue("direct")
        name = "one address, rotating X-Forwarded-For"
        attacker = client_at("127.0.3.1")
        network = "10.7"
    else:
        server = request.getfixturevalue("proxied")
        name = "a different address each (trusted proxy)"
        attacker = client_at("127.0.0.1")  # the proxied server's peer must be its proxy
        network = "100.64"
    victim = server.create_user(f"flooded-{flood}")
    token = server.token(server.create_user(f"reader-{flood}"))
    probe = requests.Session()
    probe.headers["Authorization"] = f"token {token}"
    assert probe.get(f"{server.api}/user").status_code == 200  # a warm connection

    statuses, latencies, duration, answers = _flood(
        lambda i: attacker.post(
            f"{server.api}/authentications",
            auth=(victim, f"wrong{i}"),
            timeout=60,
            headers={"X-Forwarded-For": f"{network}.{i // 250}.{i % 250}"},
        ),
        lambda: probe.get(f"{server.api}/user", timeout=60),
    )
    _report(name, statuses, latencies, duration)

    assert _p95(latencies) < 1.0, latencies
    assert set(statuses) <= {401, 429, 503}, statuses
    refused_at_once = [answer for answer in answers if answer.status_code in (429, 503)]
    assert all(int(answer.headers["Retry-After"]) >= 1 for answer in refused_at_once)
    if flood == "one-address":
        # One address: at most a few checks at a time, the limiter stops it after that.
        assert statuses[401] <= ATTEMPTS and statuses[429] >= FLOOD - ATTEMPTS
    else:
        # Many addresses: a check or two at a time, 16 waiting, the rest 503 at once.
        assert statuses[503] >= FLOOD // 2, statuses
    assert _tracebacks(server) == 0


# -- finding 6: redirects stay on this server --------------------------------------------------

#: Names no package can have, as they appear (percent-encoded) in the URL path.
EVIL_SEGMENTS = {
    "report": "%5C%5C2130706433:56733%5CX",  # \\2130706433:56733\X
    "backslashes": "%5C%5Cevil.example",  # \\evil.example
    "slashes": "%2F%2Fevil.example",  # //evil.example
    "slash-backslash": "%2F%5Cevil.example",  # /\evil.example
    "backslash-slash": "%5C%2Fevil.example",  # \/evil.example
    "http-scheme": "http:%2F%2Fevil.example",
    "https-scheme": "https:evil.example",
    "javascript": "javascript:alert(1)",
    "tab": "%09%2F%2Fevil.example",  # a tab, which browsers drop
    "newline": "%0A%2F%2Fevil.example",  # a newline, ditto
    "header-injection": "%0D%0ASet-Cookie:%20x=1",
    "space": "%20%2F%2Fevil.example",
    "nul": "evil%00.example",
    "right-to-left-override": "%E2%80%AEevil",
    "fullwidth-solidi": "%EF%BC%8F%EF%BC%8Fevil.example",
    "overlong-utf8-slash": "%C0%AF%C0%AFevil",  # overlong UTF-8 for '/'
    "dot-dot": "%2E%2E",
    "traversal": "a%2F..%2F..%2Fx",
    "trailing-backslash": "Evil%5C",
}
#: The ones that also stand for owners and labels.
EVIL_OWNERS = [
    "report",
    "backslashes",
    "slashes",
    "slash-backslash",
    "backslash-slash",
    "http-scheme",
    "https-scheme",
    "javascript",
]


def _raw_get(
    base: str, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """GET exactly ``path`` (requests would normalise some of these spellings)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def assert_stays_here(request_url: str, location: str, prefix: str) -> str:
    """A browser following ``location`` stays on this server, under ``prefix``."""
    assert location, "a redirect without a Location"
    assert all(32 < ord(char) < 127 and char != "\\" for char in location), repr(location)
    assert not location.startswith("//") and not urlsplit(location).scheme, location
    target = urljoin(request_url, location)
    assert urlsplit(target).netloc == urlsplit(request_url).netloc, (location, target)
    assert urlsplit(target).path.startswith(prefix), (location, target)
    return target


@pytest.fixture(scope="module")
def pypi_owner(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """An owner with one wheel (read only by the tests that use it)."""
    owner = server.create_user(f"redirect{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    publish.wheel(server, token, owner, tmp_path_factory.mktemp("redirect"), "Sec_Redirect", "1.0")
    return owner, token


def _pypi_prefixes(owner: str, token: str) -> list[str]:
    """Every way to the owner's PyPI index: plain, a label, a token in either place."""
    return [
        f"/pypi/{owner}/simple",
        f"/pypi/{owner}/label/main/simple",
        f"/pypi/t/{token}/{owner}/simple",
        f"/t/{token}/pypi/{owner}/simple",
    ]


@pytest.mark.parametrize("segment", list(EVIL_SEGMENTS.values()), ids=list(EVIL_SEGMENTS))
def test_finding_6_pypi_names_never_redirect_off_site(
    server: RepoServer, pypi_owner: tuple[str, str], segment: str
) -> None:
    owner, token = pypi_owner
    before, tracebacks = snapshot(server), _tracebacks(server)
    for prefix in _pypi_prefixes(owner, token):
        for path in (
            f"{prefix}/{segment}",
            f"{prefix}/{segment}/",
            f"{prefix}/{segment}/sec_redirect-1.0-py3-none-any.whl",
        ):
            answer = _raw_get(server.url, path)
            assert answer.status in (400, 404), (path, answer.status, answer.getheader("Location"))
            assert answer.getheader("Location") is None
    assert unchanged(before, snapshot(server)) and _tracebacks(server) == tracebacks


@pytest.mark.parametrize("segment", [EVIL_SEGMENTS[name] for name in EVIL_OWNERS], ids=EVIL_OWNERS)
def test_finding_6_owners_and_labels_that_are_no_names_are_not_found(
    server: RepoServer, pypi_owner: tuple[str, str], segment: str
) -> None:
    """No redirect to ``simple/`` either."""
    owner, _token = pypi_owner
    for path in (f"/pypi/{segment}/simple", f"/pypi/{owner}/label/{segment}/simple"):
        answer = _raw_get(server.url, path)
        assert answer.status in (400, 404), (path, answer.status)
        assert answer.getheader("Location") is None


@pytest.mark.parametrize(
    "spelling", ["Sec_Redirect", "SEC.redirect", "sec--redirect", "Sec_Redirect/"]
)
def test_finding_6_valid_spellings_still_redirect_on_this_server(
    server: RepoServer, pypi_owner: tuple[str, str], spelling: str
) -> None:
    """To the normalised name, keeping the token and label in the path; pip-style clients
    arrive at the page."""
    owner, token = pypi_owner
    for prefix in _pypi_prefixes(owner, token):
        url = f"{server.url}{prefix}/{spelling}"
        answer = _raw_get(server.url, f"{prefix}/{spelling}")
        assert answer.status == 301, (url, answer.status)
        target = assert_stays_here(url, answer.getheader("Location"), prefix)
        assert target == f"{server.url}{prefix}/sec-redirect/", target
        page = requests.get(url, timeout=30)
        assert page.status_code == 200 and "Sec_Redirect-1.0-py3-none-any.whl" in page.text


LOGIN_NEXT_VARIANTS = [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "\\/evil.example/",
    "/\\/evil.example/",
    "http://evil.example/",
    "https:evil.example",
    "HTTP://evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\t//evil.example",
    "//evil.example@127.0.0.1/",
    "evil.example",
    "/\u3000/evil.example",
    "\uff0f\uff0fevil.example",
    "/%2F%2Fevil.example",
    "/%5C%5Cevil.example",
    "/account\\..\\..\\evil",
]


@pytest.mark.parametrize("target", LOGIN_NEXT_VARIANTS)
def test_finding_6_login_next_never_leaves_the_site(
    server: RepoServer, user: str, target: str
) -> None:
    """``next=`` of the login page: on the form, after logging in, and when already in."""
    web = WebClient(server)
    page = web.get("/login?" + "next=" + quote(target, safe=""))
    assert page.status_code == 200
    hidden = page.text.split('name="next" value="', 1)[1].split('"', 1)[0]
    assert_stays_here(server.url + "/login", hidden.replace("&amp;", "&"), "/")
    done = web.post("/login", {"username": user, "password": PASSWORD, "next": target})
    assert done.status_code == 303, done.status_code
    assert_stays_here(server.url + "/login", done.headers["Location"], "/")
    again = web.get("/login?" + "next=" + quote(target, safe=""))
    assert again.status_code == 303
    assert_stays_here(server.url + "/login", again.headers["Location"], "/")


def test_finding_6_login_next_keeps_a_local_target(server: RepoServer, user: str) -> None:
    """An ordinary local target is still honoured (and non-ASCII is percent-encoded)."""
    web = WebClient(server)
    done = web.post(
        "/login", {"username": user, "password": PASSWORD, "next": f"/{user}?q=caf\u00e9"}
    )
    assert done.headers["Location"] == f"/{user}?q=caf%C3%A9"


@pytest.mark.parametrize(
    "path",
    [
        "/account?next=//evil.example",
        "/account?x=%5C%5Cevil.example",
        "//evil.example/account",
        "/%5C%5Cevil.example/account",
        "/\\evil.example",
        "/account/tokens/%2F%2Fevil.example/revoke",
        "/labels/%5C%5Cevil",
        "/pypi/{user}/simple",
        "/static/%2F%2Fevil.example",
        "/static//evil.example",
        "/t/%2F%2Fevil.example/api/user",
        "/conda/t/x/%5C%5Cevil/noarch/repodata.json",
    ],
)
def test_finding_6_no_other_redirect_leaves_the_site(
    server: RepoServer, user: str, path: str
) -> None:
    """Every other route that redirects: the login redirect of pages that need a session
    (with hostile paths and queries), and Tornado's own handling of odd paths."""
    path = path.format(user=user)
    answer = _raw_get(server.url, path)
    assert answer.status < 500, answer.status
    if 300 <= answer.status < 400:
        location = answer.getheader("Location")
        assert_stays_here(server.url + path.replace("\\", "%5C"), location, "/")
        if location.startswith("/login?next="):
            assert "evil" not in location.split("next=", 1)[0]


@pytest.mark.parametrize("name", ["//evil.example", "\\\\evil", "http:evil", "a\tb"])
def test_finding_6_form_actions_with_hostile_names_never_redirect(
    server: RepoServer, user: str, name: str
) -> None:
    web = WebClient(server).login(user)
    answer = web.post("/orgs", {"login": name}, form_page="/account")
    assert answer.status_code == 400 and "Location" not in answer.headers


@pytest.mark.browser
def test_finding_6_chromium_stays_on_the_repository(server: RepoServer, user: str) -> None:
    """The report's browser: Chromium, sent to the hostile URLs, never reaches the other
    host (a real HTTP server on another port that counts its visitors)."""
    from tests.support.lab import chromium

    visits: list[str] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            visits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"elsewhere")

        def log_message(self, *args: Any) -> None:
            pass

    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    port = elsewhere.server_address[1]
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    number = 2130706433  # 127.0.0.1 as one number, as in the report
    try:
        with chromium() as browser:
            page = browser.new_page()
            for segment in (
                f"%5C%5C{number}:{port}%5CX",
                f"%5C%5C127.0.0.1:{port}%5CX",
                f"%2F%2F127.0.0.1:{port}%2FX",
                f"%2F%5C127.0.0.1:{port}%5CX",
                f"%09%2F%2F127.0.0.1:{port}",
            ):
                page.goto(f"{server.url}/pypi/{user}/simple/{segment}")
                assert urlsplit(page.url).port == server.port, page.url
            for target in (
                f"//127.0.0.1:{port}/",
                f"/\\127.0.0.1:{port}/",
                f"\\\\{number}:{port}\\X",
            ):
                page.goto(f"{server.url}/login?next={quote(target, safe='')}")
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit], input[type=submit]")
                page.wait_for_load_state()
                assert urlsplit(page.url).port == server.port, page.url
            page.close()
    finally:
        elsewhere.shutdown()
    assert visits == []


# -- finding 13: JSON outside the bounds is a 400 ----------------------------------------------

BAD_BODIES: dict[str, bytes] = {
    "deep arrays": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "deep inside a field": b'{"note": "x", "scopes": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    "one level too deep": b'{"a": ' + b"[" * 64 + b"]" * 64 + b"}",
    "a huge integer": b'{"max-age": ' + b"9" * 5_000 + b"}",
    "a long integer": b'{"max-age": 1' + b"0" * 200 + b"}",
    "a float out of range": b'{"max-age": 1e400}',
    "NaN": b'{"max-age": NaN}',
    "Infinity": b'{"max-age": -Infinity}',
    "a lone surrogate": b'{"note": "\\ud800", "summary": "\\udfff"}',
    "a NUL character": b'{"note": "a\\u0000", "summary": "\\u0000"}',
    "invalid UTF-8": b'{"note": "\xff\xfe"}',
    "encoded surrogate": b'{"note": "\xed\xa0\x80"}',
}


@dataclass(frozen=True)
class JsonRoutes:
    """Every API route that reads a JSON body, for an owner with a package and a group."""

    user: str
    bearer: dict[str, str]
    routes: list[tuple[str, str, dict[str, str]]]


@pytest.fixture(scope="module")
def json_routes(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> JsonRoutes:
    user = server.create_user(f"json{uuid.uuid4().hex[:8]}")
    token = server.token(user)
    publish.wheel(server, token, user, tmp_path_factory.mktemp("json"), "jsonbound", "1.0")
    org = server.create_org(f"o{user}", user)
    basic = {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}
    bearer = {"Authorization": f"token {token}"}
    routes = [
        ("POST", f"/api/stage/{user}/jsonbound/2.0/jsonbound-2.0.tar.gz", {}),
        ("POST", f"/api/stage/{user}/jsonbound/2.0/jsonbound-2.0.tar.gz", bearer),
        ("POST", f"/api/commit/{user}/jsonbound/2.0/jsonbound-2.0.tar.gz", {}),
        ("POST", f"/api/commit/{user}/jsonbound/2.0/jsonbound-2.0.tar.gz", bearer),
        ("POST", f"/api/package/{user}/jsonbound-new", {}),
        ("POST", f"/api/package/{user}/jsonbound-new", bearer),
        ("PATCH", f"/api/package/{user}/jsonbound", bearer),
        ("POST", f"/api/release/{user}/jsonbound/3.0", bearer),
        ("PATCH", f"/api/release/{user}/jsonbound/1.0", bearer),
        ("POST", "/api/authentications", basic),
        ("POST", "/api/orgs/jsonbound-org", bearer),
        ("POST", f"/api/channels/{user}/somelabel", bearer),
        ("DELETE", f"/api/channels/{user}/somelabel", bearer),
        ("POST", f"/api/copy/package/{user}/jsonbound/1.0", bearer),
        ("POST", f"/api/group/{org}/somegroup", bearer),
    ]
    return JsonRoutes(user, bearer, routes)


@pytest.mark.parametrize(
    "body", list(BAD_BODIES.values()), ids=[name.replace(" ", "-") for name in BAD_BODIES]
)
def test_finding_13_json_bodies_out_of_bounds_are_400(
    server: RepoServer, json_routes: JsonRoutes, body: bytes
) -> None:
    bearer = json_routes.bearer
    tokens_before = len(requests.get(f"{server.api}/authentications", headers=bearer).json())
    before, tracebacks = snapshot(server), _tracebacks(server)
    for method, path, headers in json_routes.routes:
        answer = requests.request(
            method,
            server.url + path,
            data=body,
            timeout=60,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, (method, path, answer.status_code, answer.text[:200])
        assert "not valid JSON" in answer.json()["error"], (path, answer.text)
    assert unchanged(before, snapshot(server))
    assert (
        len(requests.get(f"{server.api}/authentications", headers=bearer).json()) == tokens_before
    )
    assert _tracebacks(server) == tracebacks
    assert "RecursionError" not in server.log_text()


def test_finding_13_json_at_the_bound_is_read(server: RepoServer, json_routes: JsonRoutes) -> None:
    """The bound is where it says: 64 levels pass."""
    user, bearer = json_routes.user, json_routes.bearer
    ok = requests.post(
        f"{server.api}/package/{user}/jsonbound-deep",
        headers=bearer,
        data=b'{"summary": "fine", "x": ' + b"[" * 63 + b"]" * 63 + b"}",
    )
    assert ok.status_code in (200, 201), ok.text
    assert requests.delete(
        f"{server.api}/package/{user}/jsonbound-deep", headers=bearer
    ).status_code in (200, 201, 204)


def test_finding_13_json_of_the_wrong_shape_is_4xx(
    server: RepoServer, user: str, samples: Path
) -> None:
    """Valid JSON with fields of the wrong type (a number for a package name, an object for
    a scope...) is the caller's mistake too: never a 500."""
    token = server.token(user)
    publish.wheel(server, token, user, samples, "shaped", "1.0")
    org = server.create_org(f"s{user}", user)
    bearer = {"Authorization": f"token {token}"}
    routes = [
        ("POST", f"/api/stage/{user}/shaped/2.0/shaped-2.0.tar.gz"),
        ("POST", f"/api/commit/{user}/shaped/1.0/shaped-1.0-py3-none-any.whl"),
        ("POST", f"/api/package/{user}/shaped"),
        ("PATCH", f"/api/package/{user}/shaped"),
        ("POST", f"/api/release/{user}/shaped/1.0"),
        ("PATCH", f"/api/release/{user}/shaped/1.0"),
        ("POST", "/api/authentications"),
        ("POST", f"/api/orgs/{org}"),
        ("POST", f"/api/channels/{user}/main"),
        ("DELETE", f"/api/channels/{user}/nolabel"),
        ("POST", f"/api/copy/package/{user}/shaped/1.0"),
        ("POST", f"/api/group/{org}/owners"),
    ]
    keys = [
        "max-age",
        "scopes",
        "note",
        "user",
        "package",
        "label",
        "fail-if-exists",
        "summary",
        "public",
        "package_types",
        "sha256",
        "size",
        "dist_id",
        "permission",
        "from_channel",
        "to_channel",
        "files",
    ]
    values: list[Any] = [
        True,
        -1,
        10**30,
        1.5,
        [1],
        {"a": {"b": 1}},
        "nul\x00",
        "a\ud83d",
        "x" * 10_000,
    ]
    tracebacks = _tracebacks(server)
    for (method, path), key, value in itertools.product(routes, keys, values):
        answer = requests.request(
            method, server.url + path, json={key: value}, headers=bearer, timeout=60
        )
        assert answer.status_code < 500, (method, path, key, value, answer.text[:200])
    assert _tracebacks(server) == tracebacks


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "nul\x00token"), ("scopes", "api:read\x00"), ("expires_days", "7\x00")],
    ids=["name", "scopes", "expires_days"],
)
def test_finding_13_web_forms_refuse_what_no_database_stores(
    server: RepoServer, user: str, field: str, value: str
) -> None:
    """The web pages' forms (urlencoded, not JSON) with a NUL in a field: a 400 page."""
    web = WebClient(server).login(user)
    before = len(
        requests.get(
            f"{server.api}/authentications",
            headers={"Authorization": f"token {server.token(user)}"},
        ).json()
    )
    tracebacks = _tracebacks(server)
    form = {"name": "ok", "scopes": "api:read", "expires_days": "7", field: value}
    answer = web.post("/account/tokens", form, form_page="/account")
    assert answer.status_code == 400 and "NUL" in answer.text, answer.text[:300]
    after = requests.get(
        f"{server.api}/authentications", headers={"Authorization": f"token {server.token(user)}"}
    ).json()
    assert len(after) == before + 1  # only the token made to look
    assert _tracebacks(server) == tracebacks


def _deep_notebook(depth: int) -> bytes:
    """A valid notebook but for ``depth`` levels of objects in its metadata."""
    notebook = builders.notebook_json("Deep")
    notebook["metadata"]["deep"] = "HERE"
    nested = '{"a": ' * depth + "1" + "}" * depth
    return json.dumps(notebook).replace('"HERE"', nested, 1).encode()


def _deep_yaml(depth: int) -> bytes:
    return (
        "name: deep\ndependencies:\n  - python\nextra: " + "[" * depth + "]" * depth + "\n"
    ).encode()


def _deep_index(samples: Path) -> tuple[str, str, bytes]:
    package = builders.conda_package(
        samples,
        "deepindex",
        "1.0",
        extra_info={
            "info/index.json": b'{"name": "deepindex", "version": "1.0", "build": "0", '
            b'"build_number": 0, "depends": [], "subdir": "noarch", "noarch": "generic", '
            b'"extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        },
    )
    return "deepindex", f"noarch/{package.name}", package.read_bytes()


def _huge_index(samples: Path) -> tuple[str, str, bytes]:
    package = builders.conda_package(
        samples, "hugeindex", "1.0", index_overrides={"build_number": 10**150}
    )
    return "hugeindex", f"noarch/{package.name}", package.read_bytes()


#: Uploads whose JSON or YAML is out of bounds: (package, basename, content) from a folder.
NESTED_UPLOADS: dict[str, Callable[[Path], tuple[str, str, bytes]]] = {
    "notebook-150-levels": lambda _: ("deepnb", "deep.ipynb", _deep_notebook(150)),
    "notebook-100000-levels": lambda _: ("deepnb", "deeper.ipynb", _deep_notebook(100_000)),
    "environment-yml": lambda _: ("deepenv", "environment.yml", _deep_yaml(5_000)),
    "conda-index-json": _deep_index,
    "conda-huge-build-number": _huge_index,
}


@pytest.mark.parametrize("upload", list(NESTED_UPLOADS))
def test_finding_13_nested_documents_inside_uploads_are_400(
    server: RepoServer, user: str, samples: Path, upload: str
) -> None:
    """JSON (and YAML) inside an uploaded file, in one request."""
    bearer = {"Authorization": f"token {server.token(user)}"}
    package, basename, body = NESTED_UPLOADS[upload](samples)
    before, tracebacks = snapshot(server), _tracebacks(server)
    answer = requests.put(
        f"{server.api}/upload/{user}/{package}/1.0/{basename}",
        data=body,
        headers=bearer,
        timeout=60,
    )
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert any(word in answer.json()["error"] for word in ("nested", "number")), answer.text
    assert unchanged(before, snapshot(server))
    assert _tracebacks(server) == tracebacks
    assert "RecursionError" not in server.log_text()


def test_finding_13_nested_documents_in_the_staged_flow_are_400(
    server: RepoServer, user: str
) -> None:
    """anaconda-client's staged flow: stage, then the multipart POST of the file."""
    bearer = {"Authorization": f"token {server.token(user)}"}
    # The staged flow starts from an existing package and release.
    assert requests.post(
        f"{server.api}/package/{user}/deepstaged", headers=bearer, json={"package_types": ["ipynb"]}
    ).status_code in (200, 201)
    assert requests.post(
        f"{server.api}/release/{user}/deepstaged/1.0", headers=bearer, json={}
    ).status_code in (200, 201)
    before, tracebacks = snapshot(server), _tracebacks(server)
    body = _deep_notebook(150)
    staged = requests.post(
        f"{server.api}/stage/{user}/deepstaged/1.0/staged.ipynb",
        headers=bearer,
        json={"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)},
    )
    assert staged.status_code == 200, staged.text
    post = staged.json()
    sent = requests.post(
        post["post_url"] if post["post_url"].startswith("http") else server.url + post["post_url"],
        data=post.get("form_data", {}),
        files={"file": ("staged.ipynb", io.BytesIO(body))},
        timeout=60,
    )
    assert sent.status_code == 400 and "nested" in sent.text, sent.text[:300]
    committed = requests.post(
        f"{server.api}/commit/{user}/deepstaged/1.0/staged.ipynb",
        headers=bearer,
        json={"dist_id": post.get("dist_id")},
    )
    assert 400 <= committed.status_code < 500, committed.text
    assert unchanged(before, snapshot(server), allow_stages=True)
    assert _tracebacks(server) == tracebacks
    assert "RecursionError" not in server.log_text()


def test_finding_13_yaml_and_tar_members_stay_bounded(samples: Path) -> None:
    """A project archive whose environment.yml nests deeply (tar + YAML): 400 as well."""
    # (kept separate so a failure names the format; uses its own short-lived server)
    archive = samples / "deep-project.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = _deep_yaml(5_000)
        info = tarfile.TarInfo("deep-project/environment.yml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        readme = b"# deep\n"
        info = tarfile.TarInfo("deep-project/README.md")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    with running_server(samples / "server") as server:
        login = server.create_user("projecter")
        token = server.token(login)
        before = snapshot(server)
        answer = requests.put(
            f"{server.api}/upload/{login}/deep-project/1.0/{archive.name}",
            data=archive.read_bytes(),
            params={"type": "project"},
            headers={"Authorization": f"token {token}"},
            timeout=60,
        )
        assert answer.status_code == 400, answer.text
        assert unchanged(before, snapshot(server))
        assert "Traceback" not in server.log_text()


# -- scaled out: nginx in front, two processes that trust it -----------------------------------


@pytest.mark.parametrize(
    ("claim", "headers"),
    [
        ("plain", {}),
        ("claimed", {"X-Forwarded-For": "198.51.100.99", "X-Real-IP": "198.51.100.98"}),
    ],
    ids=["plain", "claimed"],
)
def test_finding_4_behind_nginx_the_client_address_is_the_real_one(
    server: RepoServer, tier: str, claim: str, headers: dict[str, str]
) -> None:
    """The scale-out tier's processes trust nginx (127.0.0.1, as docs/deploy.md says): they
    see each client's own address, and what a client claims in X-Forwarded-For is ignored."""
    if tier != "scaleout":
        pytest.skip("needs the scaled-out tier (--tier=scaleout)")
    login = server.create_user(f"nginx{uuid.uuid4().hex[:8]}")
    note = f"nginx-{claim}-{login}"
    answer = client_at("127.0.4.9").post(
        f"{server.api}/authentications",
        auth=(login, PASSWORD),
        json={"note": note},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert _token_address(server, note) == "127.0.4.9"
