"""SIGKILL the server at random points of a stream of uploads, label moves and removals;
after each restart, everything acknowledged is intact and nothing else is half-visible."""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.http import auth
from tests.support.server import RepoServer

CYCLES = 20


@dataclass
class Ledger:
    """What the client was told (acknowledged) and what it merely attempted."""

    uploaded: dict[str, str] = field(default_factory=dict)  # basename → sha256, acked
    attempted: dict[str, str] = field(default_factory=dict)  # basename → sha256, not acked
    removed: set[str] = field(default_factory=set)  # acked removals
    removing: set[str] = field(default_factory=set)  # removals sent, answer not (yet) seen
    labelled: dict[str, str] = field(default_factory=dict)  # basename → label, acked


def _operation(server: RepoServer, token: str, owner: str, ledger: Ledger, rng: random.Random,
               counter: int) -> None:
    headers = auth(token)
    kind = rng.random()
    try:
        if kind < 0.6 or not ledger.uploaded:
            name = f"f{counter}.bin"
            data = os.urandom(rng.choice([10_000, 300_000, 2_000_000]))
            digest = hashlib.sha256(data).hexdigest()
            ledger.attempted[name] = digest
            response = requests.put(f"{server.api}/upload/{owner}/crash/1/{name}", data=data,
                                    headers=headers, timeout=10)
            if response.status_code == 201:
                ledger.uploaded[name] = digest
        elif kind < 0.8:
            name = rng.choice(sorted(ledger.uploaded))
            ledger.removing.add(name)
            response = requests.delete(f"{server.api}/dist/{owner}/crash/1/{name}",
                                       headers=headers, timeout=10)
            if response.status_code == 200:
                ledger.removed.add(name)
                ledger.uploaded.pop(name, None)
        else:
            name = rng.choice(sorted(ledger.uploaded))
            label = rng.choice(["dev", "test"])
            response = requests.post(f"{server.api}/channels/{owner}/{label}",
                                     json={"package": "crash", "version": "1",
                                           "basename": name}, headers=headers, timeout=10)
            if response.status_code == 201:
                ledger.labelled[name] = label
    except requests.RequestException:
        pass  # the server died under us: this operation was not acknowledged


def _verify(server: RepoServer, token: str, owner: str, ledger: Ledger,
            downloaded: set[str]) -> None:
    """Check the listing against the ledger; download each (immutable) file once."""
    response = requests.get(f"{server.api}/package/{owner}/crash", headers=auth(token))
    files = {f["basename"]: f for f in response.json()["files"]} if response.ok else {}
    for name, digest in ledger.uploaded.items():
        if name in ledger.removing and name not in files:
            continue  # its removal went through; only the answer was lost
        assert name in files, f"acknowledged upload {name} was lost"
        assert files[name]["sha256"] == digest
    for name in ledger.removed:
        assert name not in files, f"acknowledged removal of {name} was undone"
    for name, label in ledger.labelled.items():
        if name in files and name not in ledger.removed:
            assert label in files[name]["labels"], f"acknowledged label {label} on {name} lost"
    for name, entry in files.items():
        expected = ledger.uploaded.get(name) or ledger.attempted.get(name)
        assert expected == entry["sha256"], f"{name} is listed with bytes nobody uploaded"
        ledger.uploaded[name] = expected
        if name in downloaded:
            continue
        downloaded.add(name)
        download = requests.get(entry["download_url"], headers=auth(token), timeout=30)
        assert download.status_code == 200, f"{name} is listed but cannot be downloaded"
        assert hashlib.sha256(download.content).hexdigest() == expected
        # A listed file the client was not told about is the committed-then-killed case:
        # it is whole (checked above), so a client's retry gets a 409 it can check.
    for name in set(ledger.uploaded) - set(files):
        ledger.uploaded.pop(name)
        ledger.removed.add(name)
    ledger.removing.clear()


def test_kill_and_restart_twenty_times(tmp_path: Path) -> None:
    server = RepoServer(tmp_path / "crash")
    server.start()
    rng = random.Random(20261123)
    ledger = Ledger()
    counter = 0
    repaired = 0
    downloaded: set[str] = set()
    try:
        server.create_user("crasher")
        token = server.token("crasher")
        for _cycle in range(CYCLES):
            deadline = time.monotonic() + rng.uniform(0.3, 1.5)
            with ThreadPoolExecutor(3) as pool:
                futures = []
                while time.monotonic() < deadline:
                    counter += 1
                    futures.append(pool.submit(_operation, server, token, "crasher", ledger,
                                               rng, counter))
                    time.sleep(0.02)
                server.process.send_signal(signal.SIGKILL)
                for future in futures:
                    future.result()
            server.process.wait(10)
            server.process = None
            server.start()
            log = server.log_text()
            reports = re.findall(r"consistency check: (\d+) partial upload\(s\) removed, "
                                 r"(\d+) orphan blob\(s\) removed, .* (\d+) missing blob", log)
            assert reports, "the start-up consistency check did not report"
            assert reports[-1][2] == "0"
            repaired += int(reports[-1][0]) + int(reports[-1][1])
            assert server.spool_count() == 0
            _verify(server, token, "crasher", ledger, downloaded)
        assert len(ledger.uploaded) > 5
        print(f"\n{CYCLES} kill/restart cycles, {counter} operations, "
              f"{len(ledger.uploaded)} files intact, {repaired} leftovers repaired at start-up")
    finally:
        server.close()
