"""GPU figures through NVML, per device, for the duration of one monitored block.

The backend is any object with ``pynvml``'s function names: the real ``pynvml`` module of
NVIDIA's ``nvidia-ml-py`` (imported lazily, on the sampler thread, only when a block is
monitored) or :class:`~vl_jupyter.telemetry.FakeNvml` in tests. No package, no driver,
no device or a permission error gives ``{"available": False, "reason": ...}``, never an
exception. NVML is initialised when the block starts and shut down when it ends, so no
handle outlives the block. Energy: the device counter
(``nvmlDeviceGetTotalEnergyConsumption``, Volta and newer) -> ``nvml_energy``; otherwise
power samples integrated with the trapezoid rule -> ``nvml_power``.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

_override: Any = None
# Why NVML cannot be used, remembered for the rest of the process so that a machine
# without it pays nothing per block: the package is not installed, or its library or
# driver is missing. Installing the package or loading a driver needs a kernel restart
# to be seen; any other failure (no permission, no device) is retried every block.
_unavailable: str | None = None


def use_backend(backend: Any) -> None:
    """Use ``backend`` (an object with pynvml's API) instead of ``pynvml``; None restores."""
    global _override, _unavailable
    _override, _unavailable = backend, None


def _load() -> tuple[Any, str | None]:
    global _unavailable
    if _override is not None:
        return _override, None
    if _unavailable:
        return None, _unavailable
    try:
        import pynvml
    except ImportError:
        _unavailable = "nvidia-ml-py is not installed (pip install 'vl-jupyter[gpu]')"
        return None, _unavailable
    return pynvml, None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GpuProbe:
    """Open NVML, sample every device, and summarise per device when closed."""

    def __init__(self, pids: set[int] | None = None) -> None:
        self.nvml: Any = None
        self.status: dict[str, Any] = {"available": False, "reason": "not started"}
        self.pids = pids if pids is not None else {os.getpid()}
        self.devices: list[dict[str, Any]] = []
        self._handles: list[Any] = []

    def known_missing(self) -> bool:
        """Whether NVML is already known to be missing in this process (``open()`` then
        only records why, at no cost)."""
        return _override is None and _unavailable is not None

    def open(self) -> None:
        """Initialise NVML and read each device's name and starting energy counter."""
        global _unavailable
        nvml, reason = _load()
        if nvml is None:
            self.status = {"available": False, "reason": reason}
            return
        try:
            nvml.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, NoPermission
            name = type(exc).__name__
            self.status = {"available": False, "reason": f"NVML cannot start: {name}: {exc}"}
            if nvml is not _override and ("LibraryNotFound" in name or "DriverNotLoaded" in name):
                _unavailable = self.status["reason"]
            return
        self.nvml = nvml
        try:
            count = nvml.nvmlDeviceGetCount()
            driver = self._try(nvml.nvmlSystemGetDriverVersion)
            for index in range(count):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                self._handles.append(handle)
                self.devices.append(self._device(index, handle, driver))
        except Exception as exc:
            self.status = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
            self.close()
            return
        reason = None if count else "NVML found no GPU"
        self.status = {"available": bool(count), "reason": reason, "driver": _text(driver)}

    def _try(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:  # NVMLError_NotSupported, NoPermission, ...: that figure is absent
            return None

    def _device(self, index: int, handle: Any, driver: Any) -> dict[str, Any]:
        nvml = self.nvml
        mem = self._try(nvml.nvmlDeviceGetMemoryInfo, handle)
        energy = self._try(nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
        return {
            "index": index,
            "name": _text(self._try(nvml.nvmlDeviceGetName, handle)),
            "driver": _text(driver) if driver is not None else None,
            "memory_total_bytes": int(mem.total) if mem is not None else None,
            "_energy_start_mj": energy,
            "_t": [],
            "_util": [],
            "_mem": [],
            "_power_w": [],
            "_proc_mem": [],
        }

    def sample(self) -> None:
        """One sample of utilisation, memory, power and this process tree's GPU memory."""
        nvml, now = self.nvml, time.monotonic()
        for dev, handle in zip(self.devices, self._handles, strict=True):
            util = self._try(nvml.nvmlDeviceGetUtilizationRates, handle)
            mem = self._try(nvml.nvmlDeviceGetMemoryInfo, handle)
            power = self._try(nvml.nvmlDeviceGetPowerUsage, handle)  # milliwatts
            procs = self._try(nvml.nvmlDeviceGetComputeRunningProcesses, handle) or []
            dev["_t"].append(now)
            dev["_util"].append(util.gpu if util is not None else None)
            dev["_mem"].append(int(mem.used) if mem is not None else None)
            dev["_power_w"].append(power / 1000.0 if power is not None else None)
            used = [p.usedGpuMemory or 0 for p in procs if p.pid in self.pids]
            dev["_proc_mem"].append(sum(used) if used else None)

    def close(self) -> list[dict[str, Any]]:
        """Read the end energy counters, shut NVML down, return one summary per device."""
        nvml, self.nvml = self.nvml, None
        if nvml is None:
            return []
        try:
            return [
                self._summary(nvml, dev, h)
                for dev, h in zip(self.devices, self._handles, strict=True)
            ]
        finally:
            self._handles = []
            self._try(nvml.nvmlShutdown)

    def _summary(self, nvml: Any, dev: dict[str, Any], handle: Any) -> dict[str, Any]:
        end = self._try(nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
        start = dev["_energy_start_mj"]
        util = [u for u in dev["_util"] if u is not None]
        mem = [m for m in dev["_mem"] if m is not None]
        proc = [m for m in dev["_proc_mem"] if m is not None]
        power = [(t, p) for t, p in zip(dev["_t"], dev["_power_w"], strict=True) if p is not None]
        if start is not None and end is not None and end >= start:
            energy_j, method = (end - start) / 1000.0, "nvml_energy"
        elif len(power) >= 2:
            energy_j, method = _trapezoid(power), "nvml_power"
        else:
            energy_j, method = None, None
        return {
            "index": dev["index"],
            "name": dev["name"],
            "driver": dev["driver"],
            "samples": len(dev["_t"]),
            "utilisation_mean_pct": sum(util) / len(util) if util else None,
            "utilisation_max_pct": max(util) if util else None,
            "memory_peak_bytes": max(mem) if mem else None,
            "memory_total_bytes": dev["memory_total_bytes"],
            "process_memory_peak_bytes": max(proc) if proc else None,
            "power_mean_w": sum(p for _, p in power) / len(power) if power else None,
            "power_max_w": max(p for _, p in power) if power else None,
            "energy_kwh": energy_j / 3.6e6 if energy_j is not None else None,
            "energy_method": method,
        }


def _trapezoid(points: list[tuple[float, float]]) -> float:
    """Joules from (monotonic seconds, watts) samples."""
    return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in itertools.pairwise(points))
