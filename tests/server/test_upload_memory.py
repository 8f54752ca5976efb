"""Uploads stream to storage: the server's memory stays flat whatever the file size."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

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
