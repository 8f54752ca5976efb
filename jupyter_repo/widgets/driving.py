"""Driving a :class:`PackageSearch` from code, as its user would: for tests, benchmarks and
scripted notebooks. The widget itself has no hooks for them; this waits on what a user
would see change (the shown answer, the widget's state)::

    search = SearchDriver(widget)
    widget.query.value = "text"               # what a keystroke does
    rows = await search.results(timeout=10)   # list[dict], as shown
    widget.select(0)
    widget.install_button.click()             # or: outcome = await widget.install()
    state = await search.install_finished(timeout=300)  # succeeded, failed or cancelled
    search.requests_sent, search.dropped      # requests made, stale answers dropped
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_repo.client.states import SearchState
from jupyter_repo.widgets.search import PackageSearch


class SearchDriver:
    """Waits for a :class:`PackageSearch` the way its user watches it."""

    def __init__(self, widget: PackageSearch) -> None:
        self.widget = widget

    async def results(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The rows once the answer for the current query is shown (``[]`` after an error:
        then the state is "failed" and ``status_text`` says why)."""
        await self.widget.live_search.wait(timeout)
        return list(self.widget.results_data)

    async def install_finished(self, timeout: float = 300.0) -> SearchState:
        """The state the running install ends in (at once when none is running)."""
        widget = self.widget
        if widget.state is not SearchState.INSTALLING:
            return widget.state
        ended: asyncio.Future[SearchState] = asyncio.get_running_loop().create_future()

        def watch(change: dict[str, Any]) -> None:
            if change["new"] is not SearchState.INSTALLING and not ended.done():
                ended.set_result(change["new"])

        widget.observe(watch, "state")
        try:
            return await asyncio.wait_for(ended, timeout)
        finally:
            widget.unobserve(watch, "state")

    @property
    def requests_sent(self) -> int:
        """Search requests sent (keystrokes within the debounce time make one)."""
        return self.widget.live_search.sent

    @property
    def dropped(self) -> int:
        """Search answers dropped because a newer query was typed meanwhile."""
        return self.widget.live_search.dropped
