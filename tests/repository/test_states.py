"""The closed sets of states the extension's tasks and the widgets share."""

from __future__ import annotations

import json

import pytest

from jupyter_repo.client.states import (
    FINAL,
    EnvironmentState,
    JobState,
    PanelState,
    SearchState,
)
from jupyter_repo.extension.tasks import Task


def test_a_job_moves_forward_and_never_leaves_an_end() -> None:
    task = Task(id="t", kind="install")
    assert task.state is JobState.PENDING and not task.done
    task.state = "running"  # text is checked into a state
    task.state = JobState.PENDING  # waiting for its turn (one install at a time)
    task.state = JobState.RUNNING
    task.state = JobState.RUNNING  # staying is no change
    task.state = JobState.SUCCEEDED
    assert task.done and task.to_json()["state"] == "succeeded"
    assert json.loads(json.dumps(task.to_json()))["state"] == "succeeded"
    for later in JobState:
        if later is not JobState.SUCCEEDED:
            with pytest.raises(ValueError, match="cannot go from succeeded"):
                task.state = later
    with pytest.raises(ValueError):
        Task(id="u", kind="install").state = "finished"  # not a state at all


def test_a_job_ends_in_one_of_three_states() -> None:
    assert {state.value for state in FINAL} == {"succeeded", "failed", "cancelled"}


@pytest.mark.parametrize(
    "states", [PanelState, SearchState, EnvironmentState], ids=lambda states: states.__name__
)
def test_the_widgets_end_in_a_jobs_final_states(states: type[PanelState]) -> None:
    """Each widget's state set ends where a job ends, spelled the same (the CSS classes and
    the tests read these words)."""
    assert {state.value for state in FINAL} <= {state.value for state in states}
    assert states("idle") is states.IDLE
    for state in FINAL:
        assert states(state) == state and f"{states(state)}" == state.value
