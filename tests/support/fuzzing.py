"""The fuzzing budget: the full count in CI, a tenth in the quick lane.

``./scripts/test --quick`` runs pytest with ``--hypothesis-profile=quick`` (registered in
``tests/conftest.py``); every other run, CI's included, uses the default profile and so the
full, derandomized budget each test names. The quick lane still runs every fuzz test, on
the same derandomized stream, only shorter.
"""

from __future__ import annotations

from hypothesis import settings

QUICK = "quick"
#: The share of each budget the quick lane runs (at least ``MINIMUM`` examples).
QUICK_SHARE = 10
MINIMUM = 10


def budget(examples: int) -> int:
    """``examples`` in a full run; a tenth of it under the quick profile."""
    if settings.get_current_profile_name() == QUICK:
        return max(MINIMUM, examples // QUICK_SHARE)
    return examples
