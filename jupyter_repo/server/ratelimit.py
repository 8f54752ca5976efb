"""A small in-process limiter for password attempts (answered with 429 and Retry-After)."""

from __future__ import annotations

import threading
import time
from collections import deque

from jupyter_repo.repository.errors import RateLimited


class LoginLimiter:
    """At most ``attempts`` failed logins per (address, login) in ``window`` seconds."""

    def __init__(self, attempts: int = 10, window: float = 60.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def check(self, address: str | None, login: str) -> None:
        if self.attempts <= 0:
            return
        key = (address or "", login.lower())
        now = time.monotonic()
        with self._lock:
            failures = self._recent(key, now)
            if len(failures) >= self.attempts:
                retry = int(self.window - (now - failures[0])) + 1
                raise RateLimited(
                    f"Too many failed logins; try again in {retry} seconds.", retry_after=retry
                )
            if len(self._failures) > 100_000:  # keep memory bounded under a spray attack
                self._failures = {k: v for k, v in self._failures.items() if v}

    def failed(self, address: str | None, login: str) -> None:
        key = (address or "", login.lower())
        with self._lock:
            self._recent(key, time.monotonic()).append(time.monotonic())
