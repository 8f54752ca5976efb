"""The closed sets of states the UI shows, shared by the server extension and the widgets.

Both depend on the client (never the other way), so the states they share live here:
:class:`JobState`, the life of one long operation — a server extension task
(``extension/tasks.py``) or a job of a widget's task panel (``widgets/running.py``) — and
the states of the two widgets built on that panel, whose final states are a job's.
"""

from __future__ import annotations

from typing import Any

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


def _widget_states(name: str, doc: str, steps: str) -> Any:
    """A widget's closed set: its own ``steps`` (names in lower case), then the final states
    of a job, which the widget ends in when its job ends."""
    members = [(step.upper(), step) for step in steps.split()]
    members += [(state.name, state.value) for state in JobState if state in FINAL]
    states = StrEnum(name, members, module=__name__, qualname=name)  # type: ignore[call-overload]
    states.__doc__ = doc
    return states


#: A task panel: ``idle`` before its first job, then the state of its latest job.
PanelState = _widget_states("PanelState", "A task panel's state.", "idle running")
#: ``PackageSearch``: searching, then installing a result (ending as its job ended).
SearchState = _widget_states("SearchState", "A PackageSearch's state.",
                             "idle searching ready installing")
#: ``EnvironmentInstaller``: idle → planning → planned | failed; planned → applying →
#: succeeded | failed | cancelled.
EnvironmentState = _widget_states("EnvironmentState", "An EnvironmentInstaller's state.",
                                  "idle planning planned applying")
