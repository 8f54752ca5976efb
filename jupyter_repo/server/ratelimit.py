"""Limits on password attempts: how many may fail (429), and how many are checked at once.

Both count by *source*: the client's address as :mod:`jupyter_repo.server.forwarded` decides
it (``X-Forwarded-For`` only from trusted proxies), an IPv6 client by its /64 (one host is
usually given a whole /64, so its single addresses are free to rotate).
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from jupyter_repo.repository.errors import Busy, RateLimited

#: Counters kept at most; the least recently touched are forgotten first.
MAX_KEYS = 100_000


def source_of(address: str | None) -> str:
    """The key a client's failures count under: its IPv4 address, or its IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginLimiter:
    """Failed logins in a sliding ``window`` of seconds, so that nobody can lock out others.

    - One source may fail ``attempts`` times for one login, and ``attempts * spread`` times
      over all logins (trying one password on many accounts).
    - A login that failed ``attempts * spread`` times from all sources together is *under
      attack*: then each source may fail only ``under_attack`` times for it.

    Failures from one source never stop another source: the owner, from an address where
    nobody failed, can always log in, even while someone fails for their login elsewhere.
    The trade-off: an attacker who controls many addresses gets more guesses (about
    ``under_attack`` per address and window against a login under attack), but cannot keep
    anyone else out, as a limit per login alone would let anyone do with ~50 requests a
    minute (issue 15, finding 4). Strong passwords (Argon2id-hashed) carry the rest.
    """

    def __init__(
        self,
        attempts: int = 10,
        window: float = 60.0,
        spread: int = 5,
        under_attack: int = 3,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.spread = spread
        self.under_attack = min(under_attack, attempts)
        self.max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.attempts > 0

    def _recent(self, key: tuple[str, str, str], now: float) -> deque[float]:
        """The failures of ``key`` still inside the window (an empty deque if none)."""
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and now - failures[0] > self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def _refuse(self, failures: deque[float], limit: int, now: float) -> None:
        retry = int(self.window - (now - failures[-limit])) + 1
        raise RateLimited(
            f"Too many failed logins; try again in {retry} seconds.", retry_after=max(retry, 1)
        )

    def check(self, address: str | None, login: str) -> None:
        """Refuse (429) an attempt from this source over any of its limits."""
        if not self.enabled:
            return
        source, login = source_of(address), login.lower()
        now = time.monotonic()
        wide = self.attempts * self.spread
        with self._lock:
            pair = self._recent(("pair", source, login), now)
            if len(pair) >= self.attempts:
                self._refuse(pair, self.attempts, now)
            from_source = self._recent(("source", source, ""), now)
            if len(from_source) >= wide:
                self._refuse(from_source, wide, now)
            if (
                len(pair) >= self.under_attack
                and len(self._recent(("login", "", login), now)) >= wide
            ):
                self._refuse(pair, self.under_attack, now)

    def failed(self, address: str | None, login: str) -> None:
        if not self.enabled:
            return
        source, login = source_of(address), login.lower()
        now = time.monotonic()
        with self._lock:
            for key in (("pair", source, login), ("source", source, ""), ("login", "", login)):
                failures = self._failures.get(key)
                if failures is None:
                    failures = self._failures[key] = deque()
                else:
                    self._failures.move_to_end(key)
                failures.append(now)
                while len(failures) > self.attempts * self.spread:
                    failures.popleft()  # more than any limit needs
            while len(self._failures) > self.max_keys:  # bounded memory under a spray
                self._failures.popitem(last=False)

    def succeeded(self, address: str | None, login: str) -> None:
        """A correct password from this source clears its failures for that login."""
        if not self.enabled:
            return
        with self._lock:
            self._failures.pop(("pair", source_of(address), login.lower()), None)


class PasswordChecks:
    """At most ``concurrent`` password verifications at once; a bounded queue for the rest.

    An Argon2id verification takes a tenth of a second of CPU and 64 MiB; unbounded, a flood
    of wrong passwords fills every worker thread and token requests wait seconds behind it.
    Waiting happens here, on the event loop (an asyncio semaphore), never in a worker thread.
    A source may have ``per_source`` checks running or waiting (more: 429 at once); when
    ``waiting`` checks already wait, another is answered 503 at once.
    """

    def __init__(self, concurrent: int = 1, waiting: int = 16, per_source: int = 4) -> None:
        self.concurrent = max(1, concurrent)
        self.waiting = max(0, waiting)
        self.per_source = max(1, per_source)
        self._slots = asyncio.Semaphore(self.concurrent)
        self._queued = 0
        self._by_source: Counter[str] = Counter()

    @asynccontextmanager
    async def slot(self, address: str | None) -> AsyncIterator[None]:
        """Hold one verification slot (the loop is free while waiting for it)."""
        source = source_of(address)
        if self._by_source[source] >= self.per_source:
            raise RateLimited(
                "Too many password checks from your address at once; try again in a moment.",
                retry_after=1,
            )
        if self._slots.locked() and self._queued >= self.waiting:
            raise Busy(
                "The server is busy checking passwords; try again in a few seconds.", retry_after=2
            )
        self._by_source[source] += 1
        self._queued += 1
        try:
            try:
                await self._slots.acquire()
            finally:
                self._queued -= 1
            try:
                yield
            finally:
                self._slots.release()
        finally:
            self._by_source[source] -= 1
            if not self._by_source[source]:
                del self._by_source[source]
