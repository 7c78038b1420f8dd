"""The kernel's own figures, from counters rather than samples: exact and nearly free.

* CPU time: differences of the process's CPU counters (user, system, and the reaped
  children's ``children_user``/``children_system``): ``os.times()`` on Linux (the same
  clock-tick figures psutil parses out of ``/proc/self/stat``), ``psutil`` elsewhere.
* Peak memory during the block: on Linux, writing ``5`` to ``/proc/self/clear_refs``
  resets the resident-set high-water mark and ``VmHWM`` in ``/proc/self/status`` reads it
  back, so the peak is the kernel's own, to the page, however short the spike. Where that
  is impossible (other systems, a refused write) the sampler's own-RSS samples stand in
  and the record says ``peak_rss_method: "sampled"``. The end RSS and the mark come
  from one read of ``/proc/self/status``.

Resetting the mark is process-wide, so nested or concurrent blocks cooperate: before a
block resets it, every block still open folds the current mark into its own peak.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import threading
import time
from typing import Any

import psutil

from . import _energy

_STATUS = "/proc/self/status"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)  # absent on Windows (where /proc is too)
_HWM = re.compile(rb"VmHWM:\s+(\d+) kB")
_MEM_TOTAL = re.compile(rb"MemTotal:\s+(\d+) kB")
_MEM_AVAILABLE = re.compile(rb"MemAvailable:\s+(\d+) kB")
_hwm_ok: bool | None = None  # whether the last reset of the high-water mark worked
_RSS = re.compile(rb"VmRSS:\s+(\d+) kB")
_lock = threading.Lock()
_open: list[Counters] = []
_proc: psutil.Process | None = None
_proc_pid = 0
# On Linux ``os.times()`` is the same kernel figure psutil reads from /proc/self/stat
# (thread-group user/system time and the reaped children's, in clock ticks): one syscall
# instead of opening and parsing a file. Elsewhere psutil's own reading is kept.
_OS_TIMES = sys.platform.startswith("linux")


def process() -> psutil.Process:
    """This process, as a cached psutil handle (creating one reads /proc).

    Renewed after a fork (a new pid); our own process cannot otherwise stop running, so
    the handle is not re-checked with ``is_running()`` (another /proc read) on each use.
    """
    global _proc, _proc_pid
    pid = os.getpid()
    if _proc is None or _proc_pid != pid:
        _proc, _proc_pid = psutil.Process(pid), pid
    return _proc


def cpu_times() -> Any:
    """This process's (user, system, children_user, children_system) CPU seconds."""
    if _OS_TIMES:
        return os.times()
    return process().cpu_times()


def read_status() -> tuple[int | None, int | None]:
    """``(RSS, high-water mark)`` in bytes from one read of /proc/self/status.

    ``VmRSS`` is the figure psutil's ``memory_info().rss`` reads from /proc/self/statm
    (the same kernel counters, in kB rather than pages). Either is None where it cannot
    be read; the RSS then comes from psutil.
    """
    try:
        text = read_proc(_STATUS)
    except OSError:
        return None, None
    rss, hwm = _RSS.search(text), _HWM.search(text)
    return (
        int(rss.group(1)) * 1024 if rss else None,
        int(hwm.group(1)) * 1024 if hwm else None,
    )


def read_rss() -> int:
    """This process's resident set size in bytes."""
    rss = read_status()[0]
    return rss if rss is not None else process().memory_info().rss


def read_hwm() -> int | None:
    """The resident-set high-water mark in bytes, or None where it cannot be read."""
    return read_status()[1]


def reset_hwm() -> bool:
    """Reset the high-water mark to the current RSS; False where that is not possible."""
    global _hwm_ok
    _hwm_ok = False
    try:
        fd = os.open("/proc/self/clear_refs", os.O_WRONLY | _CLOEXEC)
    except OSError:
        return False
    try:
        os.write(fd, b"5")
    except OSError:
        return False
    finally:
        os.close(fd)
    _hwm_ok = True
    return True


def hwm_works() -> bool:
    """Whether the last block could reset the high-water mark (then the peak is the
    kernel's and the sampler need not sample our own RSS)."""
    return bool(_hwm_ok)


def read_meminfo() -> tuple[int, int] | None:
    """``(used, total)`` system memory in bytes from one read of /proc/meminfo: used is
    ``MemTotal - MemAvailable``, what ``free`` and psutil (>= 6) report as used. None
    where the file or ``MemAvailable`` (Linux < 3.14) is missing: use psutil then."""
    try:
        text = read_proc("/proc/meminfo")
    except OSError:
        return None
    total, avail = _MEM_TOTAL.search(text), _MEM_AVAILABLE.search(text)
    if total is None or avail is None:
        return None
    total_b, avail_b = int(total.group(1)) * 1024, int(avail.group(1)) * 1024
    if not 0 < avail_b <= total_b:
        return None
    return total_b - avail_b, total_b


def read_proc(path: str) -> bytes:
    """A small /proc file, read with ``os.read``: no Python file object (half the cost)."""
    fd = os.open(path, os.O_RDONLY | _CLOEXEC)
    try:
        chunks = [os.read(fd, 65536)]
        while chunks[-1]:
            chunks.append(os.read(fd, 65536))
    finally:
        os.close(fd)
    return b"".join(chunks)


class Counters:
    """Counter readings at the start and end of one block."""

    def __init__(self, *, rapl: bool = True) -> None:
        self.use_rapl = rapl
        self.peak_seen = 0
        self.hwm_ok = False

    def start(self) -> None:
        self.started_at = dt.datetime.now(dt.timezone.utc)
        with _lock:
            if _open:  # fold the mark into every open block before resetting it
                mark = read_hwm()
                for other in _open:
                    other.peak_seen = max(other.peak_seen, mark or 0)
            # an unreadable VmHWM shows at stop (None there) and falls back to "sampled"
            self.hwm_ok = reset_hwm()
            _open.append(self)
        self.rss_start = read_rss()
        self.rapl_start = _energy.rapl_read() if self.use_rapl else None
        self.busy_start = _busy() if self.rapl_start else None
        self.cpu_start = cpu_times()
        self.t0 = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        """The block's figures. Without VmHWM the peak is the larger of the start and end
        RSS, method ``sampled``: the monitor then raises it to its sampler's largest
        sample (``Sampler.own_peak``), which these counters never see."""
        wall = time.perf_counter() - self.t0
        cpu = cpu_times()
        with _lock:
            rss_end, mark = read_status()
            if self in _open:
                _open.remove(self)
        if not self.hwm_ok:
            mark = None
        if rss_end is None:
            rss_end = process().memory_info().rss
        rapl_j = _energy.rapl_delta_j(self.rapl_start, _energy.rapl_read())
        busy = _busy() - self.busy_start if rapl_j is not None and self.busy_start else None
        if mark is not None:
            peak, method = max(mark, self.peak_seen, rss_end), "vmhwm"
        else:
            peak, method = max(self.rss_start, rss_end), "sampled"
        user = cpu.user - self.cpu_start.user
        system = cpu.system - self.cpu_start.system
        return {
            "started_at": self.started_at,
            "ended_at": dt.datetime.now(dt.timezone.utc),
            "wall_s": wall,
            "cpu_user_s": user,
            "cpu_system_s": system,
            "cpu_utilisation": (user + system) / wall if wall > 0 else None,
            "reaped_children_user_s": getattr(cpu, "children_user", 0.0)
            - getattr(self.cpu_start, "children_user", 0.0),
            "reaped_children_system_s": getattr(cpu, "children_system", 0.0)
            - getattr(self.cpu_start, "children_system", 0.0),
            "rss_start_bytes": self.rss_start,
            "rss_end_bytes": rss_end,
            "peak_rss_bytes": peak,
            "peak_delta_bytes": peak - self.rss_start,
            "peak_rss_method": method,
            "rapl_j": rapl_j,
            "system_busy_s": busy,
        }


def _busy() -> float:
    """CPU seconds spent busy by every process on the machine (for the RAPL share)."""
    t = psutil.cpu_times()
    return t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0)
