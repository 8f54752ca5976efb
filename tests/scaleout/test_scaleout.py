"""Behaviour that only exists when several server processes share one database and store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.http import auth
from tests.support.server import RepoServer


@pytest.fixture
def scaled(server: RepoServer, tier: str) -> RepoServer:
    if tier != "scaleout":
        pytest.skip("needs the scaled-out tier (--tier=scaleout)")
    return server


def test_upload_through_one_process_is_read_through_the_other(
    scaled: RepoServer, user: str, samples: Path
) -> None:
    """Upload through process A; immediately, process B and nginx show it everywhere."""
    first, second = scaled.processes  # type: ignore[attr-defined]
    token = scaled.token(user)
    conda = builders.conda_package(samples, "crossing", "1.0")
    wheel = builders.wheel(samples, "crossing-wheel", "1.0")
    for path, package, basename in (
        (conda, "crossing", f"noarch/{conda.name}"),
        (wheel, "crossing-wheel", wheel.name),
    ):
        # Warm B's caches first, so that it must notice the change, not just build fresh.
        requests.get(f"{second.url}/conda/{user}/noarch/repodata.json")
        response = requests.put(
            f"{first.api}/upload/{user}/{package}/1.0/{basename}",
            data=path.read_bytes(),
            headers=auth(token),
        )
        assert response.status_code == 201, response.text
    digest = hashlib.sha256(conda.read_bytes()).hexdigest()
    for base in (second.url, scaled.url):
        repodata = requests.get(f"{base}/conda/{user}/noarch/repodata.json").json()
        assert repodata["packages.conda"][conda.name]["sha256"] == digest
        package = requests.get(f"{base}/conda/{user}/noarch/{conda.name}")
        assert hashlib.sha256(package.content).hexdigest() == digest
        simple = requests.get(f"{base}/pypi/{user}/simple/crossing-wheel/")
        assert wheel.name in simple.text
        found = requests.get(f"{base}/api/search", params={"name": "crossing"}).json()
        assert {f"{user}/crossing", f"{user}/crossing-wheel"} <= {p["full_name"] for p in found}
        download = requests.get(f"{base}/api/download/{user}/crossing-wheel/1.0/{wheel.name}")
        assert download.content == wheel.read_bytes()


def _with_retries(call, attempts: int = 5):  # type: ignore[no-untyped-def]
    """What a sensible client does behind a load balancer: retry a failed connection."""
    import time

    for attempt in range(attempts):
        try:
            response = call()
        except requests.ConnectionError:
            response = None
        if response is not None and response.status_code not in (502, 503, 504):
            return response, attempt
        time.sleep(0.2)
    raise AssertionError("no answer after retries")


def test_killing_a_process_loses_no_upload(scaled: RepoServer, user: str, samples: Path) -> None:
    import os
    import signal
    import threading

    first, _second = scaled.processes  # type: ignore[attr-defined]
    token = scaled.token(user)
    big = samples / "big.bin"
    big.write_bytes(os.urandom(8 << 20))
    big_sha = hashlib.sha256(big.read_bytes()).hexdigest()
    assert (
        requests.put(
            f"{scaled.api}/upload/{user}/bulk/1/big.bin", data=big.read_bytes(), headers=auth(token)
        ).status_code
        == 201
    )
    acknowledged: dict[str, str] = {}
    counters = {"retried": 0, "downloads": 0}
    stop = threading.Event()
    failures: list[str] = []

    def download_loop() -> None:  # big downloads in flight while a process dies
        while not stop.is_set():
            response, attempts = _with_retries(
                lambda: requests.get(f"{scaled.api}/download/{user}/bulk/1/big.bin", timeout=30)
            )
            counters["retried"] += attempts
            if hashlib.sha256(response.content).hexdigest() != big_sha:
                failures.append(f"download {response.status_code}")
            counters["downloads"] += 1

    background = threading.Thread(target=download_loop)
    background.start()
    killed_at = None
    try:
        for index in range(40):
            if index == 10:
                first.process.send_signal(signal.SIGKILL)
                killed_at = index
            version = f"1.{index}"
            wheel = builders.wheel(samples / version, "survivor", version)
            data = wheel.read_bytes()
            url = f"{scaled.api}/upload/{user}/survivor/{version}/{wheel.name}"
            response, attempts = _with_retries(
                lambda url=url, data=data: requests.put(
                    url, data=data, headers=auth(token), timeout=30
                )
            )
            counters["retried"] += attempts
            if response.status_code == 409:  # the first attempt landed; its answer was lost
                stored = requests.get(
                    f"{scaled.api}/dist/{user}/survivor/{version}/{wheel.name}", headers=auth(token)
                ).json()
                assert stored["sha256"] == hashlib.sha256(data).hexdigest()
            else:
                assert response.status_code == 201, response.text
            acknowledged[wheel.name] = hashlib.sha256(data).hexdigest()
            download, attempts = _with_retries(
                lambda name=wheel.name, version=version: requests.get(
                    f"{scaled.api}/download/{user}/survivor/{version}/{name}", timeout=30
                )
            )
            counters["retried"] += attempts
            assert download.status_code == 200
            assert hashlib.sha256(download.content).hexdigest() == acknowledged[wheel.name]
    finally:
        stop.set()
        background.join(60)
        first.process.wait(10)
        first.process = None
        first.start()  # leave the session's tier whole for the tests that follow
    assert killed_at == 10 and not failures
    files = requests.get(f"{scaled.api}/package/{user}/survivor", headers=auth(token)).json()[
        "files"
    ]
    assert {f["basename"]: f["sha256"] for f in files} == acknowledged
    print(
        f"\n40 uploads, 40 + {counters['downloads']} downloads through nginx, one of two "
        f"processes killed after 10: {counters['retried']} retried request(s), 0 lost"
    )
