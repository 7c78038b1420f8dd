"""The kernel tests' runner (tests/_notebooks.py) waits for shell replies in slices, so a
wake-up that pyzmq loses on a busy machine costs a quarter second, not the cell's timeout;
and every kernel test uses it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from queue import Empty

import _notebooks
import pytest


class _Channel:
    """A shell channel whose reply is there from the start but is not seen by the first
    waits (the lost wake-up): each of those sleeps out its timeout, as pyzmq's poll does."""

    def __init__(self, seen_on: int) -> None:
        self.seen_on, self.waits = seen_on, []

    async def get_msg(self, timeout=None):
        self.waits.append(timeout)
        if len(self.waits) < self.seen_on:
            await asyncio.sleep(timeout)
            raise Empty
        return {"msg_type": "execute_reply"}


def test_a_reply_missed_by_one_wait_is_read_by_the_next_slice(monkeypatch):
    monkeypatch.setattr(_notebooks, "POLL_SLICE_S", 0.01)
    channel = _Channel(seen_on=4)
    _notebooks._wait_in_slices(channel)
    assert asyncio.run(channel.get_msg(timeout=180))["msg_type"] == "execute_reply"
    assert len(channel.waits) == 4
    assert all(0 < w <= _notebooks.POLL_SLICE_S for w in channel.waits)


def test_the_cell_timeout_still_holds(monkeypatch):
    monkeypatch.setattr(_notebooks, "POLL_SLICE_S", 0.01)
    channel = _Channel(seen_on=10**9)
    _notebooks._wait_in_slices(channel)
    with pytest.raises(Empty):
        # bounded, so a wrapper that ignored the deadline fails here instead of hanging
        asyncio.run(asyncio.wait_for(channel.get_msg(timeout=0.05), 5))
    assert 3 <= len(channel.waits) <= 6  # five slices, and the deadline's remainder


def test_no_kernel_test_builds_a_bare_notebook_client():
    tests = Path(__file__).parent
    bare = [
        p.name
        for p in tests.rglob("*.py")
        if p.name not in {"_notebooks.py", Path(__file__).name}
        and re.search(r"\bNotebookClient\(", p.read_text())
    ]
    assert bare == []
