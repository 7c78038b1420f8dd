"""Run files written just after a monitored cell instead of inside it.

A ``%%vl_monitor`` cell's evidence is its telemetry *record*: appended, hash-chained and
indexed before the cell returns, always. The files derived from it -- the three copies
of ``trace_<name>.json``, and what the run writers add to the run folder (``bom.json``,
the OSCAL files) -- cost three times as much to write as the record, and nothing in the
cell itself reads them. So the magic hands them to this module's one background thread,
which writes them in the order they were queued, a few milliseconds after the cell.

The queue is drained (every queued job finished) before anything could miss a file:

- before the next cell runs (the notebook room's ``pre_run_cell`` hook), so the cell
  after a monitored cell sees its trace exactly as if it had been written inline;
- by :func:`flush` (hence ``EvidenceStore.head()``, ``verify()``, every export and
  tracker sync), by ``EvidenceStore.read_json`` and by ``latest_run``;
- at interpreter exit (a kernel shut down or restarted from Jupyter).

What this gives up (tested in ``tests/test_monitor_deferred.py``): if the process is
killed (``kill -9``, OOM) in the milliseconds between the cell's end and the job's end,
the record survives (it was written first) but its trace and run files may be missing;
the trace's copy of the cell source is then lost with them (the record keeps its
sha256). ``VL_EVIDENCE_FSYNC=sync`` writes everything inside the cell, as before.

A job that fails, or reports a failure it survived (:meth:`DeferredWriter.report`: a run
writer's), is a :class:`~vl_jupyter.errors.VLWarning` raised in the thread that drains
(the notebook's next cell): a warning from this thread would have nobody to read it.
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable

from ..errors import VLWarning
from . import _durability, _lock

Job = Callable[[], object]  # what it returns is dropped


class DeferredWriter:
    """One FIFO of jobs and the thread that runs them, started on the first job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: deque[tuple[str, Job]] = deque()
        self._running = False  # a job taken off the queue has not finished yet
        self._held = False  # queued jobs wait for release() (or a drain)
        self._thread: threading.Thread | None = None
        self._failures: list[str] = []
        self.done = 0  # jobs run (for tests and benchmarks)

    def enabled(self) -> bool:
        """Whether callers may defer: not with ``VL_EVIDENCE_FSYNC=sync`` (everything in
        the write, as its name says) nor after interpreter exit began."""
        return _durability.policy().deferred()

    def submit(self, what: str, job: Job) -> None:
        """Queue ``job`` (``what`` names it in a failure's warning)."""
        with self._lock:
            self._jobs.append((what, job))
            if not self._ensure_thread() and not self._held:
                self._changed.notify_all()

    def _ensure_thread(self) -> bool:
        """Under the lock: start the writer thread if there is none alive; whether one
        was started. (A thread that died -- a job raising what ``except Exception`` lets
        through -- must not leave a queue that every drain then waits on for ever.)"""
        if self._thread is not None and self._thread.is_alive():
            return False
        self._running = False  # whatever a dead thread was running is over
        thread = threading.Thread(target=self._run, name="vl-evidence-run-files", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no new threads (interpreter shutting down): drain runs them
            self._thread = None
            return False
        self._thread = thread
        return True

    def hold(self) -> None:
        """Let jobs queued from now on wait for :meth:`release` (or a drain): a cell's
        tail (IPython's display and history work after the magic returns) then runs
        without this thread taking the GIL from it."""
        with self._lock:
            self._held = True

    def release(self) -> None:
        """Start on what is queued (the ``post_run_cell`` hook calls this)."""
        with self._lock:
            self._held = False
            self._changed.notify_all()

    def report(self, why: str) -> None:
        """Note a failure a job survived (a run writer's): warned by the next drain."""
        with self._lock:
            self._failures = [*self._failures[-99:], why]

    def pending(self) -> int:
        with self._lock:
            return len(self._jobs) + self._running

    def drain(self) -> bool:
        """Wait until every job queued so far has finished; re-warn their failures here.

        Returns False, waiting for nothing, where waiting could deadlock: in the writer
        thread itself, and in a thread holding a store lock (a job may need that lock).
        """
        if threading.current_thread() is self._thread or _lock.held_by_this_thread():
            return False
        with self._lock:
            self._held = False
            self._changed.notify_all()
            while self._jobs or self._running:
                self._ensure_thread()  # (replaces a thread that died)
                if self._thread is None:  # cannot start one: run what is left here
                    self._run_inline()
                    continue
                self._changed.wait(timeout=1.0)  # (wakes to notice a thread that died)
            failures, self._failures = self._failures, []
        for why in failures:
            warnings.warn(why, VLWarning, stacklevel=3)
        return True

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._jobs or self._held:
                    self._changed.wait()
                what, job = self._jobs.popleft()
                self._running = True
            self._call(what, job)
            with self._lock:
                self._running = False
                self.done += 1
                self._changed.notify_all()

    def _call(self, what: str, job: Job) -> None:
        try:
            job()
        except BaseException as exc:  # a job's bug (even SystemExit) must not stop the rest
            self.report(f"{what} was not written: {type(exc).__name__}: {exc}")

    def _run_inline(self) -> None:
        """Under the lock, with no thread to run them: run the queued jobs here."""
        while self._jobs:
            what, job = self._jobs.popleft()
            self._lock.release()
            try:
                self._call(what, job)
            finally:
                self._lock.acquire()
            self.done += 1

    def after_fork(self) -> None:
        """In a forked child: no writer thread and fresh locks; the parent writes what it
        queued (a child writing it too would write every file twice)."""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs, self._running, self._thread = deque(), False, None
        self._held, self._failures = False, []  # the parent's cell is not the child's


_writer = DeferredWriter()
# atexit runs last-registered first: this drain runs before _durability's final fsyncs
atexit.register(_writer.drain)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_writer.after_fork)


def writer() -> DeferredWriter:
    """The process-wide deferred writer."""
    return _writer


def drain() -> bool:
    """Finish every deferred run-file job queued so far (see :class:`DeferredWriter`)."""
    return _writer.drain()


def flush() -> int:
    """Write what is deferred, then fsync everything queued; returns the paths synced.

    Every deferred evidence write is on disk when it returns. Cheap when nothing is
    queued. (In a thread holding a store lock the deferred run files are left queued.)
    """
    _writer.drain()
    return _durability.flush()
