"""Ports and waiting for services."""

from __future__ import annotations

import socket
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0, process=None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was up")
        try:
            response = requests.head(url, timeout=2)
            if response.status_code < 500:
                return
        except requests.RequestException as error:
            last = error
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout}s: {last}")
