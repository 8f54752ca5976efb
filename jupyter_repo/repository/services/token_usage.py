"""When each token was last used ("Last used" on the account page), written rarely.

Reading a token is the hot path of every authenticated request (pip and conda fetch page
after page with one), so nothing is written per request: each process remembers when it
last recorded a token and writes again only after ``interval`` seconds, and the write itself
is skipped by the database when another process recorded the token within that interval.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from jupyter_repo.repository.models import Token

#: Seconds between two writes of the same token's "last used" time.
DEFAULT_INTERVAL = 60.0
#: Tokens remembered per process; past that the memory starts afresh (a write each, once).
MAX_REMEMBERED = 50_000


class UsageThrottle:
    """Per process: is it time to record this token's use again?"""

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        self.interval = interval
        self._recorded: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, token_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            last = self._recorded.get(token_id)
            if last is not None and now - last < self.interval:
                return False
            if len(self._recorded) >= MAX_REMEMBERED:
                self._recorded.clear()
            self._recorded[token_id] = now
            return True


def record_use(session: Session, token_id: str, *, interval: float = DEFAULT_INTERVAL) -> None:
    """Set the token's last use to now, unless it was set less than ``interval`` ago."""
    now = datetime.now(timezone.utc)
    session.execute(
        update(Token)
        .where(
            Token.id == token_id,
            or_(
                Token.last_used_at.is_(None),
                Token.last_used_at < now - timedelta(seconds=interval),
            ),
        )
        .values(last_used_at=now)
    )
