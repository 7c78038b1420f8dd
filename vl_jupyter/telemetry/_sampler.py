"""The background sampler: what has no counter (child processes, GPUs, system memory).

Each monitored block has a :class:`Sampler` (its own figures); one parked daemon thread per
process (``vl-monitor-sampler``, started with the first block) samples every armed
sampler: every ``interval`` seconds (0.1 s by default) while it has child processes or
GPUs to sample, and once a second (to look for new children and read system memory)
while it has none. Arming and disarming a sampler is a list operation, not a thread start
and join (those cost 0.3-0.5 ms of every monitored cell on a busy 2-core machine); the
thread holds nothing between blocks (no NVML session, no process handles) and wakes at
most once a second while no block is running. Listing child processes scans ``/proc``
(about 3 ms) where ``/proc/<pid>/task/*/children`` is missing, so the list is refreshed at
most once a second and the known children are sampled in between.

The first sample (children's starting CPU, own and system memory) is taken by ``start()``
itself, before the block's counters start, and the last by ``stop()``, after they stop:
a block shorter than one interval is never sampled by the thread at all. NVML is opened
(and first sampled) on the thread, so its start-up cost overlaps the user's code, unless
it is already known to be missing (then ``start()`` records that at no cost); ``stop()``
closes it, so no NVML session stays open after the block. The sampler measures its own
CPU time (``sampler_cpu_s``: the first and last samples plus its share of the thread) so
its overhead is on record.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import psutil

from ..errors import TelemetryError
from ._counters import process, read_meminfo, read_proc
from ._nvml import GpuProbe

CHILD_REFRESH_S = 1.0


class _Worker:
    """The one thread that samples every armed :class:`Sampler` of this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.armed: list[Sampler] = []
        self.thread: threading.Thread | None = None
        self.wakes_at = 0.0  # when the thread's current wait ends (monotonic)

    def arm(self, sampler: Sampler) -> None:
        with self.lock:
            self.armed.append(sampler)
            if self.thread is None:
                self.wakes_at = 0.0
                self.thread = threading.Thread(
                    target=self._run, name="vl-monitor-sampler", daemon=True
                )
                self.thread.start()
            elif sampler.next_at < self.wakes_at:  # else its next wake-up is soon enough
                self.cond.notify()

    def disarm(self, sampler: Sampler) -> None:
        with self.lock:
            if sampler in self.armed:
                self.armed.remove(sampler)
        if sampler.pid != os.getpid():  # forked mid-block: no thread here, and the
            sampler.armed = False  # parent's thread may have held ``busy`` at the fork
            return
        with sampler.busy:  # a sample the thread is taking of it right now ends first
            sampler.armed = False

    def _run(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                due = [s for s in self.armed if s.next_at <= now]
                if not due:
                    # idle: wake once a second, so arming a block never has to wake us
                    nxt = min([s.next_at for s in self.armed], default=now + CHILD_REFRESH_S)
                    self.wakes_at = min(nxt, now + CHILD_REFRESH_S)
                    self.cond.wait(self.wakes_at - now)
                    continue
            for sampler in due:
                sampler.tick()

    def after_fork(self) -> None:
        """In a forked child the thread is gone: start afresh (a sampler still armed in
        the child ends with its block as usual)."""
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.armed, self.thread = [], None


_WORKER = _Worker()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WORKER.after_fork)


def worker_thread() -> threading.Thread | None:
    """The process's sampler thread, once a block has started it (for tests)."""
    return _WORKER.thread


class Sampler:
    """Sample children, GPUs and system memory in the background until stopped."""

    def __init__(self, interval: float = 0.1, *, gpu: bool = True, own_rss: bool = True) -> None:
        """``own_rss=False``: do not sample this process's RSS (the kernel's high-water
        mark gives the exact peak; ``own_peak`` then stays 0)."""
        if not interval > 0:
            raise TelemetryError(f"sampling interval must be positive, got {interval!r}")
        self.interval = float(interval)
        self.own_rss = own_rss
        self.probe = GpuProbe() if gpu else None
        self.samples = 0
        self.own_peak = 0
        self.children_peak = 0
        self.children_seen: set[int] = set()
        self.system_used_peak = 0
        self.system_total = 0
        self.error: str | None = None
        self.cpu_s = 0.0
        self.gpus: list[dict[str, Any]] = []
        self.armed = False  # sampled by the thread (between start() and stop())
        self.next_at = 0.0  # when the thread should sample next (monotonic)
        self.busy = threading.Lock()  # held while a sample of this sampler is taken
        self.pid = os.getpid()
        self._opened = False  # the GPU probe has been opened (it is, or is known missing)
        self._thread_cpu_s = 0.0
        self._children: dict[int, psutil.Process] = {}
        self._baseline: dict[int, tuple[float, float]] = {}
        self._last_cpu: dict[int, tuple[float, float]] = {}
        self._refreshed = 0.0
        self._start_cpu_s = 0.0

    def start(self) -> None:
        """Take the first sample here, then arm the thread to take the others."""
        t_cpu = time.thread_time()
        try:
            self._refresh(first=True)
            self._sample()  # GPUs are sampled on the thread, once NVML is open
            if self.probe is None or self.probe.known_missing():
                self._open_probe()  # nothing to start up: record why here
        except Exception as exc:  # a sampler failure must never break the user's cell
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._start_cpu_s = time.thread_time() - t_cpu
        if self.error is None:
            self.armed = True
            # NVML to open: at once, so its start-up overlaps the block
            self.next_at = time.monotonic() + (0.0 if not self._opened else self._next_wait())
            _WORKER.arm(self)
        else:
            self.cpu_s = self._start_cpu_s

    def stop(self) -> None:
        """Disarm, take the final readings here and close NVML."""
        if not self.armed:  # never armed: the first sample failed
            return
        _WORKER.disarm(self)
        t_cpu = time.thread_time()
        try:
            if self.error is None:
                if not self._opened:  # the block ended before the thread opened NVML
                    self._open_probe()
                self._refresh()
                self._sample()
        except Exception as exc:  # a sampler failure must never break the user's cell
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if self.probe is not None:
                try:
                    self.gpus = self.probe.close()
                except Exception as exc:
                    self.error = self.error or f"{type(exc).__name__}: {exc}"
            self.cpu_s = self._start_cpu_s + self._thread_cpu_s + time.thread_time() - t_cpu

    @property
    def gpu_status(self) -> dict[str, Any]:
        if self.probe is None:
            return {"available": False, "reason": "GPU sampling disabled"}
        return self.probe.status

    def children_cpu(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the children alive at the end, since the start."""
        user = system = 0.0
        for pid, (u, s) in self._last_cpu.items():
            u0, s0 = self._baseline.get(pid, (0.0, 0.0))
            user, system = user + max(0.0, u - u0), system + max(0.0, s - s0)
        return user, system

    # -- on the thread -------------------------------------------------------------
    def tick(self) -> None:
        """One turn of the thread for this sampler: open NVML first, then sample."""
        with self.busy:
            if not self.armed:
                return
            t_cpu = time.thread_time()
            try:
                if not self._opened:
                    self._open_probe()
                else:
                    self._sample()
                self.next_at = time.monotonic() + self._next_wait()
            except Exception as exc:  # a sampler failure must never break the user's cell
                self.error = f"{type(exc).__name__}: {exc}"
                self.next_at = float("inf")  # no more samples; stop() reports the error
            finally:
                self._thread_cpu_s += time.thread_time() - t_cpu

    def _open_probe(self) -> None:
        self._opened = True
        if self.probe is not None:
            self.probe.open()
            if self.probe.nvml is not None:
                self.probe.sample()  # the GPUs' first sample

    def _next_wait(self) -> float:
        """``interval`` while there is something to sample (children or a GPU); else sleep
        until the next child-list refresh, so an idle sampler wakes once a second."""
        if self._children or (self.probe is not None and self.probe.nvml is not None):
            return self.interval
        return max(self.interval, CHILD_REFRESH_S - (time.monotonic() - self._refreshed))

    def _refresh(self, first: bool = False) -> None:
        pids = child_pids(os.getpid(), own_threads()) if has_children() else []
        if pids is None:
            try:
                pids = [c.pid for c in process().children(recursive=True)]
            except psutil.Error:
                return
        known = self._children
        self._children = {}
        for pid in pids:
            if pid in known:
                self._children[pid] = known[pid]
                continue
            try:
                self._children[pid] = psutil.Process(pid)
            except psutil.Error:
                continue
        self._refreshed = time.monotonic()
        if first:  # children already running: count only what they do from now on
            for pid, child in self._children.items():
                self._baseline[pid] = _cpu(child) or (0.0, 0.0)
        self.children_seen.update(self._children)
        if self.probe is not None:
            self.probe.pids = {os.getpid(), *self._children}

    def _sample(self) -> None:
        if time.monotonic() - self._refreshed >= CHILD_REFRESH_S:
            self._refresh()
        self.samples += 1
        if self.own_rss:
            self.own_peak = max(self.own_peak, process().memory_info().rss)
        total = 0
        for pid, child in list(self._children.items()):
            try:
                with child.oneshot():
                    total += child.memory_info().rss
                    self._last_cpu[pid] = _cpu(child) or self._last_cpu.get(pid, (0.0, 0.0))
            except psutil.Error:  # it ended: reaped children are in our own counters
                self._children.pop(pid, None)
                self._last_cpu.pop(pid, None)
        self.children_peak = max(self.children_peak, total)
        mem = read_meminfo()  # one os.read; psutil parses every line into a dict
        if mem is None:
            vm = psutil.virtual_memory()
            mem = vm.used, vm.total
        self.system_used_peak = max(self.system_used_peak, mem[0])
        self.system_total = mem[1]
        if self.probe is not None and self.probe.nvml is not None:
            self.probe.sample()


# waitid's __WALL (Linux): children of any exit signal, not only those that send SIGCHLD;
# 0 where the peek is not available (then every block lists its children)
_WALL = 0x40000000
_LINUX = sys.platform.startswith("linux") and hasattr(os, "WNOWAIT")
_PEEK = os.WEXITED | os.WNOHANG | os.WNOWAIT | _WALL if _LINUX else 0


def has_children() -> bool:
    """False only when the kernel says this process has no child at all (``ECHILD``):
    one ``waitid`` that peeks (``WNOWAIT``: a finished child stays waitable for its
    ``Popen``) instead of reading every thread's children file (~30 µs). True when
    unsure (not Linux, or any other answer), so the full listing runs."""
    if not _PEEK:
        return True
    try:
        os.waitid(os.P_ALL, 0, _PEEK)
    except ChildProcessError:
        return False
    except OSError:
        return True
    return True


def own_threads() -> set[str]:
    """Native ids (as /proc names them) of this process's ``vl-*`` threads: vl_jupyter's
    own helpers (sampler, fsync flusher, deferred writer, ...), which start none of the
    user's processes, so their ``children`` files need not be read every block."""
    return {str(t.native_id) for t in threading.enumerate() if t.name.startswith("vl-")}


def child_pids(root: int, skip_tids: set[str] | frozenset[str] = frozenset()) -> list[int] | None:
    """Descendants of ``root`` from ``/proc/<pid>/task/<tid>/children`` (Linux 3.5+),
    leaving out the threads of ``root`` in ``skip_tids``.

    Reading those small files costs ~0.1 ms where ``psutil.children()`` scans all of
    ``/proc`` (~3 ms); None where the files do not exist, to fall back to psutil.
    """
    found: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            if pid == root:
                return None
            continue
        if pid == root and skip_tids:
            tids = [tid for tid in tids if tid not in skip_tids or tid == str(root)]
        for tid in tids:
            try:
                kids = [int(k) for k in read_proc(f"/proc/{pid}/task/{tid}/children").split()]
            except OSError:
                if pid == root and tid == str(root):
                    return None
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def _cpu(child: psutil.Process) -> tuple[float, float] | None:
    try:
        t = child.cpu_times()
    except psutil.Error:
        return None
    return t.user, t.system
