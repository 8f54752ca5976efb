"""A small in-process limiter for password attempts (answered with 429 and Retry-After)."""

from __future__ import annotations

import threading
import time
from collections import deque

from jupyter_repo.repository.errors import RateLimited

#: Keys kept before forgotten ones (no failure within the window) are dropped.
MAX_KEYS = 100_000


class LoginLimiter:
    """At most ``attempts`` failed logins per (address, login) in ``window`` seconds.

    An address is only what the request says (``X-Forwarded-For`` behind a proxy), and one
    address may try many logins, so failures are also counted per login alone and per
    address alone, each allowed ``spread`` times as many: rotating addresses or logins buys
    an attacker only that factor.
    """

    def __init__(self, attempts: int = 10, window: float = 60.0, spread: int = 5) -> None:
        self.attempts = attempts
        self.window = window
        self.spread = spread
        self._failures: dict[tuple[str, str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, address: str | None, login: str) -> list[tuple[tuple[str, str, str], int]]:
        address, login = address or "", login.lower()
        wide = self.attempts * self.spread
        return [(("pair", address, login), self.attempts), (("login", "", login), wide),
                (("address", address, ""), wide)]

    def _recent(self, key: tuple[str, str, str], now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            failures = self._failures[key] = deque()
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def check(self, address: str | None, login: str) -> None:
        """Refuse (429) an attempt over any of the limits."""
        if self.attempts <= 0:
            return
        now = time.monotonic()
        with self._lock:
            for key, limit in self._keys(address, login):
                if key not in self._failures:
                    continue
                failures = self._recent(key, now)
                if len(failures) >= limit:
                    retry = int(self.window - (now - failures[-limit])) + 1
                    raise RateLimited(
                        f"Too many failed logins; try again in {retry} seconds.",
                        retry_after=retry,
                    )

    def failed(self, address: str | None, login: str) -> None:
        if self.attempts <= 0:
            return
        now = time.monotonic()
        with self._lock:
            for key, _limit in self._keys(address, login):
                self._recent(key, now).append(now)
            if len(self._failures) > MAX_KEYS:  # keep memory bounded under a spray attack
                self._failures = {key: failures for key, failures in self._failures.items()
                                  if failures and now - failures[-1] <= self.window}
