"""Uploads stream to storage: the server's memory stays flat whatever the file size."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from jupyter_repo.demo import builders
from tests.support.http import auth
from tests.support.server import running_server

SIZE = 200 * 1024 * 1024


def _write_big_file(path: Path) -> str:
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for index in range(SIZE >> 20):
            chunk = block[:-8] + index.to_bytes(8, "big")
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


class PeakRSS:
    """Polls a process's resident memory every 5 ms and keeps the highest value."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.slow
@pytest.mark.serial  # how far the server's memory peaks depends on how fast it drains
def test_200mb_upload_keeps_memory_flat(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    sha256 = _write_big_file(big)
    with running_server(tmp_path / "srv") as server:
        server.create_user("mem")
        token = server.token("mem")
        # Warm up every code path once, so the baseline includes imports and pools.
        warm = requests.put(
            f"{server.api}/upload/mem/warm/1/warm.bin", data=b"x" * 4096, headers=auth(token)
        )
        assert warm.status_code == 201
        baseline = server.rss()
        with PeakRSS(server.process.pid) as meter, open(big, "rb") as body:
            started = time.monotonic()
            response = requests.put(
                f"{server.api}/upload/mem/big/1/big.bin",
                data=body,
                headers=auth(token),
                params={"sha256": sha256},
            )
            elapsed = time.monotonic() - started
        assert response.status_code == 201, response.text
        assert response.json()["sha256"] == sha256
        growth = meter.peak - baseline
        print(
            f"\n200 MB upload: {SIZE / elapsed / 1e6:.0f} MB/s, "
            f"server RSS {baseline / 2**20:.0f} MiB → peak {meter.peak / 2**20:.0f} MiB "
            f"(+{growth / 2**20:.1f} MiB)"
        )
        assert growth < 50 * 1024 * 1024

        with PeakRSS(server.process.pid) as meter:
            download = requests.get(response.json()["download_url"], stream=True)
            digest = hashlib.sha256()
            for chunk in download.iter_content(1 << 20):
                digest.update(chunk)
        assert digest.hexdigest() == sha256
        assert meter.peak - baseline < 50 * 1024 * 1024


def _write_big_wheel(path: Path) -> str:
    """A 200 MB wheel (its payload stored, not deflated): the upload API inspects it all."""
    metadata = builders.metadata_text("big-wheel", "1.0", "big").encode()
    block = os.urandom(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("big_wheel/__init__.py", b"")
        with archive.open("big_wheel/data.bin", "w", force_zip64=True) as member:
            for index in range(SIZE >> 20):
                member.write(block[:-8] + index.to_bytes(8, "big"))
        archive.writestr("big_wheel-1.0.dist-info/METADATA", metadata)
        archive.writestr(
            "big_wheel-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
        )
        archive.writestr("big_wheel-1.0.dist-info/RECORD", b"")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _pypi_form(path: Path, sha256: str, boundary: str) -> Iterator[bytes]:
    """PyPI's upload form, streamed (the client side holds no more than a MiB either)."""
    for name, value in (
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", "big-wheel"),
        ("version", "1.0"),
        ("filetype", "bdist_wheel"),
        ("sha256_digest", sha256),
    ):
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
        f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


@pytest.mark.slow
@pytest.mark.serial  # as above: a peak of memory while streaming
def test_200mb_pypi_upload_keeps_memory_flat(tmp_path: Path) -> None:
    """The PyPI upload API (multipart, parsed as it streams) stays as flat as the others."""
    big = tmp_path / "big_wheel-1.0-py3-none-any.whl"
    sha256 = _write_big_wheel(big)
    with running_server(tmp_path / "srv") as server:
        server.create_user("pymem")
        token = server.token("pymem", ["upload"])
        upload_url = f"{server.url}/pypi/pymem/"
        warm = tmp_path / "warm"
        small = builders.wheel(warm, "warm-wheel", "1.0")
        with open(small, "rb") as handle:
            response = requests.post(
                upload_url,
                files={
                    ":action": (None, "file_upload"),
                    "name": (None, "warm-wheel"),
                    "version": (None, "1.0"),
                    "content": (small.name, handle),
                },
                auth=("__token__", token),
            )
        assert response.status_code == 200, response.text
        baseline = server.rss()
        boundary = "jupyter-repo-test-boundary"
        with PeakRSS(server.process.pid) as meter:
            started = time.monotonic()
            response = requests.post(
                upload_url,
                data=_pypi_form(big, sha256, boundary),
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                auth=("__token__", token),
            )
            elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        assert response.json()["created"] is True
        growth = meter.peak - baseline
        print(
            f"\n200 MB PyPI upload: {SIZE / elapsed / 1e6:.0f} MB/s, "
            f"server RSS {baseline / 2**20:.0f} MiB → peak {meter.peak / 2**20:.0f} MiB "
            f"(+{growth / 2**20:.1f} MiB)"
        )
        assert growth < 50 * 1024 * 1024
        listed = requests.get(
            f"{server.url}/pypi/pymem/simple/big-wheel/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        ).json()
        assert listed["files"][0]["hashes"]["sha256"] == sha256
