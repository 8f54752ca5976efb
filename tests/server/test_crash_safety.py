"""SIGKILL the server at random points of a stream of uploads, label moves and removals;
after each restart, everything acknowledged is intact, nothing else is half-visible, and the
conda channels and PyPI index of every label list exactly the files the database holds."""

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

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.demo import builders
from jupyter_repo.repository.models import Account, File, FileLabel, Label, Package
from tests.support.http import auth
from tests.support.server import RepoServer

CYCLES = 20
LABELS = ("main", "dev", "test")
PYPI_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass
class Upload:
    package: str
    version: str
    basename: str
    kind: str  # the upload's ?type=
    data: bytes


class Payloads:
    """Conda packages and wheels built up front (each uploaded at most once), then plain
    files of random bytes: every upload has a distinct basename."""

    def __init__(self, folder: Path, count: int) -> None:
        self.conda = [
            builders.conda_package(folder / "conda", "crashc", f"1.{index}")
            for index in range(count)
        ]
        self.wheels = [
            builders.wheel(folder / "wheels", "crashw", f"1.{index}") for index in range(count)
        ]

    def next(self, rng: random.Random, counter: int) -> Upload:
        choice = rng.random()
        if choice < 0.35 and self.conda:
            path = self.conda.pop()
            version = path.name.split("-")[1]
            return Upload("crashc", version, f"noarch/{path.name}", "conda", path.read_bytes())
        if choice < 0.7 and self.wheels:
            path = self.wheels.pop()
            return Upload("crashw", path.name.split("-")[1], path.name, "pypi", path.read_bytes())
        data = os.urandom(rng.choice([10_000, 300_000, 2_000_000]))
        return Upload("crash", "1", f"f{counter}.bin", "file", data)


@dataclass
class Ledger:
    """What the client was told (acknowledged) and what it merely attempted."""

    where: dict[str, tuple[str, str]] = field(default_factory=dict)  # basename → package, version
    uploaded: dict[str, str] = field(default_factory=dict)  # basename → sha256, acked
    attempted: dict[str, str] = field(default_factory=dict)  # basename → sha256, not acked
    removed: set[str] = field(default_factory=set)  # acked removals
    removing: set[str] = field(default_factory=set)  # removals sent, answer not (yet) seen
    labelled: dict[str, str] = field(default_factory=dict)  # basename → label, acked


def _operation(
    server: RepoServer,
    token: str,
    owner: str,
    ledger: Ledger,
    rng: random.Random,
    counter: int,
    payloads: Payloads,
) -> None:
    headers = auth(token)
    kind = rng.random()
    try:
        if kind < 0.6 or not ledger.uploaded:
            upload = payloads.next(rng, counter)
            name = upload.basename
            digest = hashlib.sha256(upload.data).hexdigest()
            ledger.where[name] = (upload.package, upload.version)
            ledger.attempted[name] = digest
            response = requests.put(
                f"{server.api}/upload/{owner}/{upload.package}/{upload.version}/{name}",
                params={"type": upload.kind},
                data=upload.data,
                headers=headers,
                timeout=10,
            )
            if response.status_code == 201:
                ledger.uploaded[name] = digest
        elif kind < 0.8:
            name = rng.choice(sorted(ledger.uploaded))
            package, version = ledger.where[name]
            ledger.removing.add(name)
            response = requests.delete(
                f"{server.api}/dist/{owner}/{package}/{version}/{name}", headers=headers, timeout=10
            )
            if response.status_code == 200:
                ledger.removed.add(name)
                ledger.uploaded.pop(name, None)
        else:
            name = rng.choice(sorted(ledger.uploaded))
            package, version = ledger.where[name]
            label = rng.choice(["dev", "test"])
            response = requests.post(
                f"{server.api}/channels/{owner}/{label}",
                json={"package": package, "version": version, "basename": name},
                headers=headers,
                timeout=10,
            )
            if response.status_code == 201:
                ledger.labelled[name] = label
    except requests.RequestException:
        pass  # the server died under us: this operation was not acknowledged


def _verify(
    server: RepoServer, token: str, owner: str, ledger: Ledger, downloaded: set[str]
) -> None:
    """Check the listing against the ledger; download each (immutable) file once."""
    files = {}
    for package in ("crash", "crashc", "crashw"):
        response = requests.get(f"{server.api}/package/{owner}/{package}", headers=auth(token))
        if response.ok:
            files.update({f["basename"]: f for f in response.json()["files"]})
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


def _stored(session: Session, owner: str) -> dict[tuple[str, str], set[str]]:
    """(distribution type, label) → the file names the database holds there."""
    rows = session.execute(
        select(File.distribution_type, Label.name, File.filename)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .join(Package, Package.id == File.package_id)
        .join(Account, Account.id == Package.owner_id)
        .where(Account.login == owner)
    )
    stored: dict[tuple[str, str], set[str]] = {}
    for kind, label, filename in rows:
        stored.setdefault((kind, label), set()).add(filename)
    return stored


def _served(server: RepoServer, token: str, owner: str, label: str) -> tuple[set[str], set[str]]:
    """The conda file names in the label's noarch repodata.json and the wheel names in its
    PyPI simple page."""
    prefix = "" if label == "main" else f"/label/{label}"
    repodata = requests.get(
        f"{server.url}/conda/{owner}{prefix}/noarch/repodata.json", headers=auth(token), timeout=30
    )
    assert repodata.status_code == 200, repodata.text
    document = repodata.json()
    conda = set(document.get("packages", {})) | set(document.get("packages.conda", {}))
    simple = requests.get(
        f"{server.url}/pypi/{owner}{prefix}/simple/crashw/",
        headers={**auth(token), "Accept": PYPI_JSON},
        timeout=30,
    )
    assert simple.status_code in (200, 404), simple.text
    wheels = {f["filename"] for f in simple.json()["files"]} if simple.ok else set()
    return conda, wheels


def _indexes_agree(server: RepoServer, token: str, owner: str) -> int:
    """Each label's conda channel and PyPI index list exactly what the database holds; the
    number of index entries compared."""
    stored = server.call(_stored, owner, write=False)
    existing = set(
        server.call(
            lambda session: session.scalars(
                select(Label.name)
                .join(Account, Account.id == Label.owner_id)
                .where(Account.login == owner)
            ).all(),
            write=False,
        )
    )
    compared = 0
    for label in LABELS:
        if label != "main" and label not in existing:  # no move onto it was made yet
            missing = requests.get(
                f"{server.url}/conda/{owner}/label/{label}/noarch/repodata.json",
                headers=auth(token),
                timeout=30,
            )
            assert missing.status_code == 404, missing.text
            continue
        conda, wheels = _served(server, token, owner, label)
        assert conda == stored.get(("conda", label), set()), f"repodata of {label} disagrees"
        assert wheels == stored.get(("pypi", label), set()), f"PyPI index of {label} disagrees"
        compared += len(conda) + len(wheels)
    return compared


@pytest.mark.slow
@pytest.mark.serial  # kills at moments measured in time: a shared CPU shifts them all
def test_kill_and_restart_twenty_times(tmp_path: Path) -> None:
    payloads = Payloads(tmp_path / "payloads", 80)
    server = RepoServer(tmp_path / "crash")
    server.start()
    rng = random.Random(20261123)
    ledger = Ledger()
    counter = 0
    repaired = 0
    downloaded: set[str] = set()
    compared = 0
    try:
        server.create_user("crasher")
        token = server.token("crasher")
        for _cycle in range(CYCLES):
            deadline = time.monotonic() + rng.uniform(0.3, 1.5)
            with ThreadPoolExecutor(3) as pool:
                futures = []
                while time.monotonic() < deadline:
                    counter += 1
                    futures.append(
                        pool.submit(
                            _operation, server, token, "crasher", ledger, rng, counter, payloads
                        )
                    )
                    time.sleep(0.02)
                server.process.send_signal(signal.SIGKILL)
                for future in futures:
                    future.result()
            server.process.wait(10)
            server.process = None
            server.start()
            log = server.log_text()
            reports = re.findall(
                r"consistency check: (\d+) partial upload\(s\) removed, "
                r"(\d+) orphan blob\(s\) removed, .* (\d+) missing blob",
                log,
            )
            assert reports, "the start-up consistency check did not report"
            assert reports[-1][2] == "0"
            repaired += int(reports[-1][0]) + int(reports[-1][1])
            assert server.spool_count() == 0
            _verify(server, token, "crasher", ledger, downloaded)
            compared += _indexes_agree(server, token, "crasher")
        assert len(ledger.uploaded) > 5
        kinds = {ledger.where[name][0] for name in ledger.uploaded}
        assert kinds == {"crash", "crashc", "crashw"}, kinds
        print(
            f"\n{CYCLES} kill/restart cycles, {counter} operations, "
            f"{len(ledger.uploaded)} files intact, {repaired} leftovers repaired at start-up, "
            f"{compared} index entries matched the database"
        )
    finally:
        server.close()
