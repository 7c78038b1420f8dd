"""The store's exclusive lock: ``fcntl.flock`` on ``<root>/.lock``, re-entrant per thread.

Between processes the kernel's ``flock`` serialises writers, and releases the lock when
a holder dies (a killed writer never leaves the store locked). Inside one process a
``threading.RLock`` per store comes first: ``flock`` locks belong to an open file, so
two threads of one process must not share one, and a caller that holds ``store.lock()``
(to read-modify-write a side file) may call ``append()`` without deadlocking itself.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import EvidenceLockedError

LOCK_TIMEOUT_S = 60.0

_guard = threading.Lock()
_locks: dict[str, _StoreLock] = {}
_held = threading.local()  # how many store locks this thread holds (any store, any mode)


def held_by_this_thread() -> bool:
    """Whether the calling thread holds any store's lock, exclusive or shared (either
    keeps another thread of this process out of that store's exclusive lock, so it must
    not wait for a thread that may need one)."""
    return getattr(_held, "depth", 0) > 0


@contextmanager
def _counted() -> Iterator[None]:
    """Count the block as one more lock this thread holds (:func:`held_by_this_thread`)."""
    _held.depth = getattr(_held, "depth", 0) + 1
    try:
        yield
    finally:
        _held.depth -= 1


class _StoreLock:
    def __init__(self) -> None:
        self.rlock = threading.RLock()
        self.depth = 0  # only touched by the thread holding ``rlock``
        self.fd: int | None = None
        self.pid = 0


def _for(path: Path) -> _StoreLock:
    key = str(path)
    with _guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = _StoreLock()
        return lock


@contextmanager
def exclusive(lock_path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the inter-process exclusive lock on ``lock_path`` for the block."""
    state = _for(lock_path)
    if not state.rlock.acquire(timeout=timeout):
        raise EvidenceLockedError(
            f"timed out after {timeout:.0f} s waiting for the evidence lock held by another "
            "thread of this process",
            file=str(lock_path),
        )
    try:
        if state.depth and state.pid != os.getpid():  # inherited through fork: not ours
            state.depth, state.fd = 0, None
        if state.depth == 0:
            state.fd = _acquire(lock_path, timeout)
            state.pid = os.getpid()
        state.depth += 1
        try:
            with _counted():
                yield
        finally:
            state.depth -= 1
            if state.depth == 0 and state.fd is not None:
                fd, state.fd = state.fd, None
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
    finally:
        state.rlock.release()


def _acquire(lock_path: Path, timeout: float) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
    try:
        fd = os.open(lock_path, flags, 0o644)
    except FileNotFoundError:  # a new store: its folder first (not on every acquisition)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, flags, 0o644)
    _wait(fd, fcntl.LOCK_EX, lock_path, timeout)
    return fd


def _wait(fd: int, mode: int, lock_path: Path, timeout: float) -> None:
    """flock ``fd`` in ``mode``, polling until ``timeout``; closes ``fd`` on failure."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise EvidenceLockedError(
                    f"timed out after {timeout:.0f} s waiting for the evidence lock",
                    file=str(lock_path),
                    hint="another process is writing evidence; if none is, the file "
                    "system may not support flock (network file systems)",
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        except BaseException:
            os.close(fd)
            raise


@contextmanager
def shared(lock_path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Shared lock for readers (``verify``): no writer can append while it is held.

    A thread that already holds the exclusive lock keeps it (no self-deadlock). Skipped
    when the lock file does not exist (a store on read-only media is still verifiable).
    """
    state = _for(lock_path)
    with state.rlock, _counted():  # the rlock alone keeps this process's writers out
        if state.depth and state.pid == os.getpid():
            yield
            return
        try:
            fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            yield
            return
        _wait(fd, fcntl.LOCK_SH, lock_path, timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
