"""The background sampler: what has no counter (child processes, GPUs, system memory).

One daemon thread per monitored block samples every ``interval`` seconds (0.1 s by
default) while there are child processes or GPUs to sample, and once a second (to look
for new children and read system memory) while there are none. Listing child processes
scans ``/proc`` (about 3 ms) where ``/proc/<pid>/task/*/children`` is missing, so the list
is refreshed at most once a second and the known children are sampled in between. The
first sample (children's starting CPU, own and system memory) is taken by ``start()``
itself, before the block's counters start, and the thread then sleeps until the next one:
a block shorter than one interval does not have the thread's first sample competing with
it for the interpreter. NVML is opened (and first sampled) and closed on the thread, so
its start-up cost overlaps the user's code. ``stop()`` joins the thread: nothing is left
running, and no NVML session stays open, after the block. The sampler measures its own
CPU time (``sampler_cpu_s``: the first sample plus the thread) so its overhead is on
record.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psutil

from ..errors import TelemetryError
from ._counters import process, read_proc
from ._nvml import GpuProbe

CHILD_REFRESH_S = 1.0


class Sampler:
    """Sample children, GPUs and system memory on a background thread until stopped."""

    def __init__(self, interval: float = 0.1, *, gpu: bool = True) -> None:
        if not interval > 0:
            raise TelemetryError(f"sampling interval must be positive, got {interval!r}")
        self.interval = float(interval)
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
        self._children: dict[int, psutil.Process] = {}
        self._baseline: dict[int, tuple[float, float]] = {}
        self._last_cpu: dict[int, tuple[float, float]] = {}
        self._refreshed = 0.0
        self._start_cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vl-monitor-sampler", daemon=True)

    def start(self) -> None:
        """Take the first sample here, then start the thread that takes the others."""
        t_cpu = time.thread_time()
        try:
            self._refresh(first=True)
            self._sample()  # GPUs are sampled on the thread, once NVML is open
        except Exception as exc:  # a sampler failure must never break the user's cell
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._start_cpu_s = time.thread_time() - t_cpu
        if self.error is None:
            self._thread.start()
        else:
            self.cpu_s = self._start_cpu_s

    def stop(self) -> None:
        """Stop sampling, take the final readings and join the thread."""
        self._stop.set()
        if self._thread.ident is not None:  # not started when the first sample failed
            self._thread.join()

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

    # -- the thread ----------------------------------------------------------------
    def _run(self) -> None:
        t_cpu = time.thread_time()
        try:
            if self.probe is not None:
                self.probe.open()
                if self.probe.nvml is not None:
                    self.probe.sample()  # the GPUs' first sample
            while not self._stop.wait(self._next_wait()):
                self._sample()
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
            self.cpu_s = self._start_cpu_s + time.thread_time() - t_cpu

    def _next_wait(self) -> float:
        """``interval`` while there is something to sample (children or a GPU); else sleep
        until the next child-list refresh, so an idle sampler wakes once a second."""
        if self._children or (self.probe is not None and self.probe.nvml is not None):
            return self.interval
        return max(self.interval, CHILD_REFRESH_S - (time.monotonic() - self._refreshed))

    def _refresh(self, first: bool = False) -> None:
        pids = child_pids(os.getpid())
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
        vm = psutil.virtual_memory()
        self.system_used_peak = max(self.system_used_peak, vm.used)
        self.system_total = vm.total
        if self.probe is not None and self.probe.nvml is not None:
            self.probe.sample()


def child_pids(root: int) -> list[int] | None:
    """Descendants of ``root`` from ``/proc/<pid>/task/<tid>/children`` (Linux 3.5+).

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
