"""The closed sets of states the UI shows, shared by the server extension and the widgets.

Both depend on the client (never the other way), so the states they share live here:
:class:`JobState`, the life of one long operation — a server extension task
(``extension/tasks.py``) or a job of a widget's task panel (``widgets/running.py``) — and
the states of the two widgets built on that panel, whose final states are a job's.
"""

from __future__ import annotations

from jupyter_repo.enums import StrEnum


class JobState(StrEnum):
    """One job: ``pending`` (accepted, or waiting for its turn) and ``running`` until it
    ends ``succeeded``, ``failed`` or ``cancelled``; an ended job never changes again."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        return self in FINAL

    def advance(self, new: JobState | str) -> JobState:
        """``new`` if a job may go there from this state (staying is allowed).

        A ``ValueError`` means a bug in the caller, never bad input: e.g. an ended job
        started again.
        """
        new = JobState(new)
        if new is not self and new not in _NEXT[self]:
            raise ValueError(f"a job cannot go from {self} to {new}")
        return new


FINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
_NEXT: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.RUNNING, *FINAL}),
    # Back to pending: running, then waiting for a shared resource (one install at a time).
    JobState.RUNNING: frozenset({JobState.PENDING, *FINAL}),
    **{state: frozenset() for state in FINAL},
}


# The widgets' sets, written out so that each is a type of its own. Each ends in the final
# states of a job, spelled the same (tests/unit/test_states.py checks it).


class PanelState(StrEnum):
    """A task panel: ``idle`` before its first job, then the state of its latest job."""

    IDLE = "idle"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SearchState(StrEnum):
    """``PackageSearch``: searching, then installing a result (ending as its job ended)."""

    IDLE = "idle"
    SEARCHING = "searching"
    READY = "ready"
    INSTALLING = "installing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class EnvironmentState(StrEnum):
    """``EnvironmentInstaller``: idle → planning → planned | failed; planned → applying →
    succeeded | failed | cancelled; as a new kernel: idle → creating → succeeded | failed |
    cancelled."""

    IDLE = "idle"
    PLANNING = "planning"
    PLANNED = "planned"
    APPLYING = "applying"
    CREATING = "creating"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
