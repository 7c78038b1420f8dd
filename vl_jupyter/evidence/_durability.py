"""When the store's writes are fsynced: on the writer's critical path, or just after it.

A record is safe from a *killed* process as soon as its bytes are in the page cache: the
kernel keeps (and later writes back) the dirty pages of a process that died, so the
hard link into ``records/`` and the appended index line are enough for the next process
to see the record whole. ``fsync`` adds protection against a *power cut* (or a kernel
crash) only, and costs 1-4 ms per call on a virtual disk -- three calls per record.

So there are two modes, process-wide:

- ``deferred`` (the default): the write itself stays synchronous and atomic (temp file,
  link or rename into place, one ``O_APPEND`` write of the index line); the fsyncs of
  the files and folders touched are queued for one background flusher thread, which
  runs them at most ``delay`` seconds (default 1.0) after the first queued write. The
  queue is drained before anything states the store's head to the outside world
  (``EvidenceStore.head()``, hence every tracker sync anchor; ``verify()``, hence every
  export), by :func:`flush`, and at interpreter exit (``atexit``: a kernel shut down or
  restarted from Jupyter). Power-loss window: ``delay`` plus one fsync.
- ``sync``: every fsync runs inside the write, before it returns (the behaviour before
  this module existed).

Configured by ``VL_EVIDENCE_FSYNC`` (``deferred`` | ``sync``) and
``VL_EVIDENCE_FSYNC_DELAY`` (seconds, 0 < delay <= 60), read on first use, or by
:func:`configure` at any time. An fsync that fails in the background is a
:class:`~vl_jupyter.errors.VLWarning` naming the file (nobody is waiting to catch an
exception); in ``sync`` mode it is an ``OSError`` from the write, as before.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import warnings
from pathlib import Path

from ..errors import EvidenceError, VLWarning

MODES = ("deferred", "sync")
DEFAULT_DELAY_S = 1.0
MAX_DELAY_S = 60.0


def _fsync_path(path: str, directory: bool) -> None:
    """fsync ``path`` through a fresh descriptor (fsync acts on the inode, not the
    descriptor: dirty pages written through a closed one are flushed too)."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    if directory:
        flags |= getattr(os, "O_DIRECTORY", 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Durability:
    """The process's fsync policy and, in ``deferred`` mode, its queue and flusher."""

    def __init__(self) -> None:
        self._mode: str | None = None  # None: not configured yet (read the environment)
        self._delay = DEFAULT_DELAY_S
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._syncing = threading.Lock()  # held while a batch is being fsynced
        # insertion-ordered sets, synced in this order: files, the folders naming them,
        # then the index (so a synced index line never names a record not yet synced)
        self._files: dict[str, None] = {}
        self._dirs: dict[str, None] = {}
        self._last: dict[str, None] = {}
        self._due = 0.0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.synced = 0  # fsyncs run by the deferred path (for tests and benchmarks)
        self.errors: list[str] = []

    # -- configuration -------------------------------------------------------------
    @property
    def mode(self) -> str:
        if self._mode is None:
            self._from_env()
        return self._mode  # type: ignore[return-value]

    @property
    def delay(self) -> float:
        if self._mode is None:
            self._from_env()
        return self._delay

    def _from_env(self) -> None:
        mode = os.environ.get("VL_EVIDENCE_FSYNC", "").strip().lower() or "deferred"
        raw = os.environ.get("VL_EVIDENCE_FSYNC_DELAY", "").strip()
        try:
            self._set(mode, float(raw) if raw else DEFAULT_DELAY_S, "VL_EVIDENCE_FSYNC")
        except EvidenceError as err:  # a bad variable must not stop evidence being written
            warnings.warn(f"{err.message}; using sync (fsync in every write)", VLWarning, 3)
            self._mode, self._delay = "sync", DEFAULT_DELAY_S

    def _set(self, mode: str, delay: float, where: str) -> None:
        if mode not in MODES:
            raise EvidenceError(f"{where}={mode!r} is not one of {', '.join(MODES)}")
        if not 0 < delay <= MAX_DELAY_S:
            raise EvidenceError(
                f"fsync delay {delay!r} s is outside 0 < delay <= {MAX_DELAY_S:g} s "
                "(VL_EVIDENCE_FSYNC_DELAY)"
            )
        self._mode, self._delay = mode, float(delay)

    def configure(self, mode: str | None = None, delay: float | None = None) -> dict[str, object]:
        """Set the mode and/or delay; returns the policy now in force. Switching to
        ``sync`` first drains what is queued, so nothing stays behind unsynced."""
        new_mode = self.mode if mode is None else str(mode).strip().lower()
        self._set(new_mode, self.delay if delay is None else float(delay), "mode")
        if self._mode == "sync":
            self.flush()
        return self.describe()

    def describe(self) -> dict[str, object]:
        return {"mode": self.mode, "delay_s": self.delay if self.mode == "deferred" else 0.0}

    # -- the write path --------------------------------------------------------------
    def deferred(self) -> bool:
        """Whether the caller may queue its fsyncs instead of running them."""
        return self.mode == "deferred" and not self._closed

    def file(self, path: Path | str, fd: int | None = None, *, last: bool = False) -> None:
        """Make the data of ``path`` (open as ``fd``, if given) durable, now or soon;
        ``last``: after every other queued path (the index)."""
        if self.deferred():
            self._queue(str(path), self._last if last else self._files)
        elif fd is not None:
            os.fsync(fd)
        else:
            _fsync_path(str(path), False)

    def directory(self, path: Path | str) -> None:
        """Make the names created in folder ``path`` durable, now or soon."""
        if self.deferred():
            self._queue(str(path), self._dirs)
            return
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:  # a platform where folders cannot be opened: nothing to sync
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _queue(self, path: str, into: dict[str, None]) -> None:
        with self._lock:
            idle = not (self._files or self._dirs or self._last)
            into[path] = None
            if idle:
                self._due = time.monotonic() + self._delay
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="vl-evidence-fsync", daemon=True
                    )
                    self._thread.start()
                else:
                    self._wake.notify()

    def after_fork(self) -> None:
        """In a forked child: no flusher thread, fresh locks (the parent's flusher may
        have held one at the fork), and an empty queue (the parent syncs its own)."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._syncing = threading.Lock()
        self._files, self._dirs, self._last, self._thread = {}, {}, {}, None

    # -- draining ----------------------------------------------------------------------
    def pending(self) -> int:
        with self._lock:
            return len(self._files) + len(self._dirs) + len(self._last)

    def flush(self) -> int:
        """fsync everything queued so far, in this thread; returns how many paths.

        When it returns, every write queued before the call is durable (a batch the
        flusher thread was syncing meanwhile has finished too)."""
        with self._syncing:
            batch = self._take()
            return self._sync(batch)

    def _take(self) -> list[tuple[str, bool]]:
        with self._lock:
            batch = [(f, False) for f in self._files] + [(d, True) for d in self._dirs]
            batch += [(f, False) for f in self._last]
            self._files, self._dirs, self._last = {}, {}, {}
            return batch

    def _run(self) -> None:
        while True:
            with self._lock:
                while not (self._files or self._dirs or self._last):
                    self._wake.wait()
                while (left := self._due - time.monotonic()) > 0:
                    self._wake.wait(left)
            self.flush()

    def _sync(self, batch: list[tuple[str, bool]]) -> int:
        done = 0
        for path, directory in batch:
            try:
                _fsync_path(path, directory)
                done += 1
            except FileNotFoundError:
                continue  # replaced or removed since (a side file rewritten, a temp file)
            except OSError as exc:
                if directory:  # folders cannot be opened or fsynced everywhere (Windows)
                    continue
                why = f"evidence may not survive a power cut: fsync of {path} failed: {exc}"
                self.errors = [*self.errors[-99:], why]  # the newest 100
                warnings.warn(why, VLWarning, stacklevel=2)
        self.synced += done
        return done

    def close(self) -> None:
        """At interpreter exit: drain, then fsync inside every later write."""
        self.flush()
        self._closed = True


_policy = Durability()
atexit.register(_policy.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_policy.after_fork)


def policy() -> Durability:
    """The process-wide durability policy."""
    return _policy


def flush() -> int:
    """fsync every evidence write still queued (``deferred`` mode); returns how many
    paths were synced. Cheap when nothing is queued."""
    return _policy.flush()


def configure(mode: str | None = None, delay: float | None = None) -> dict[str, object]:
    """Choose ``deferred`` (fsync in the background within ``delay`` seconds) or
    ``sync`` (fsync inside every write); see the module docstring."""
    return _policy.configure(mode, delay)
