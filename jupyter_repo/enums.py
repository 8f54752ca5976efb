"""``StrEnum``: members that are their own text (Python 3.11's, and a stand-in before it).

Closed sets of names (account kinds, job states) are ``StrEnum`` s, so that a typo is an
error where the value is made, while JSON, SQL and comparisons with text see plain strings.
"""

from __future__ import annotations

import enum
import sys

if sys.version_info >= (3, 11):
    StrEnum = enum.StrEnum
else:  # pragma: no cover - Python 3.10

    class StrEnum(str, enum.Enum):
        """Members are strings equal to their value; ``str()`` and formatting give it."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return format(str(self.value), spec)


__all__ = ["StrEnum"]
