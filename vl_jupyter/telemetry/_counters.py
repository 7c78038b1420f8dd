"""The kernel's own figures, from counters rather than samples: exact and nearly free.

* CPU time: ``psutil.Process().cpu_times()`` differences (user, system, and the reaped
  children's ``children_user``/``children_system``).
* Peak memory during the block: on Linux, writing ``5`` to ``/proc/self/clear_refs``
  resets the resident-set high-water mark and ``VmHWM`` in ``/proc/self/status`` reads it
  back, so the peak is the kernel's own, to the page, however short the spike. Where that
  is impossible (other systems, a refused write) the sampler's own-RSS samples stand in
  and the record says ``peak_rss_method: "sampled"``.

Resetting the mark is process-wide, so nested or concurrent blocks cooperate: before a
block resets it, every block still open folds the current mark into its own peak.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from typing import Any

import psutil

from . import _energy

_STATUS = "/proc/self/status"
_HWM = re.compile(rb"VmHWM:\s+(\d+) kB")
_lock = threading.Lock()
_open: list[Counters] = []
_proc: psutil.Process | None = None


def process() -> psutil.Process:
    """This process, as a cached psutil handle (creating one reads /proc)."""
    global _proc
    if _proc is None or not _proc.is_running():
        _proc = psutil.Process()
    return _proc


def read_hwm() -> int | None:
    """The resident-set high-water mark in bytes, or None where it cannot be read."""
    try:
        with open(_STATUS, "rb") as fh:
            found = _HWM.search(fh.read())
    except OSError:
        return None
    return int(found.group(1)) * 1024 if found else None


def reset_hwm() -> bool:
    """Reset the high-water mark to the current RSS; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


class Counters:
    """Counter readings at the start and end of one block."""

    def __init__(self, *, rapl: bool = True) -> None:
        self.use_rapl = rapl
        self.peak_seen = 0
        self.hwm_ok = False

    def start(self) -> None:
        proc = process()
        self.started_at = dt.datetime.now(dt.timezone.utc)
        with _lock:
            mark = read_hwm()
            for other in _open:
                other.peak_seen = max(other.peak_seen, mark or 0)
            self.hwm_ok = mark is not None and reset_hwm()
            _open.append(self)
        self.rss_start = proc.memory_info().rss
        self.rapl_start = _energy.rapl_read() if self.use_rapl else None
        self.busy_start = _busy() if self.rapl_start else None
        self.cpu_start = proc.cpu_times()
        self.t0 = time.perf_counter()

    def stop(self, sampled_peak: int = 0) -> dict[str, Any]:
        """The block's figures; ``sampled_peak`` is the sampler's largest own-RSS sample."""
        wall = time.perf_counter() - self.t0
        proc = process()
        cpu = proc.cpu_times()
        rss_end = proc.memory_info().rss
        with _lock:
            mark = read_hwm() if self.hwm_ok else None
            if self in _open:
                _open.remove(self)
        rapl_j = _energy.rapl_delta_j(self.rapl_start, _energy.rapl_read())
        busy = _busy() - self.busy_start if rapl_j is not None and self.busy_start else None
        if mark is not None:
            peak, method = max(mark, self.peak_seen, rss_end), "vmhwm"
        else:
            peak, method = max(sampled_peak, self.rss_start, rss_end), "sampled"
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
