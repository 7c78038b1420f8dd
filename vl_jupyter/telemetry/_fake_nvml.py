"""A fake NVML with pynvml's function names, so every GPU code path runs without a GPU.

>>> from vl_jupyter.telemetry import FakeGpu, FakeNvml, use_gpu_backend
>>> fake = FakeNvml([FakeGpu("NVIDIA H100", energy_counter=True)])
>>> use_gpu_backend(fake)     # every later monitor() reads this GPU
>>> use_gpu_backend(None)     # back to pynvml

Errors raised are the real ``pynvml`` error classes when nvidia-ml-py is installed (they
import without a driver), else stand-ins with the same names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


class NVMLError(Exception):
    """Stand-in for ``pynvml.NVMLError`` when nvidia-ml-py is not installed."""


def nvml_error(name: str) -> type[Exception]:
    """The pynvml error class ``name`` (e.g. ``NVMLError_NotSupported``), or a stand-in."""
    try:
        import pynvml

        return getattr(pynvml, name)
    except (ImportError, AttributeError):
        return type(name, (NVMLError,), {})


@dataclass
class FakeGpu:
    """One fake device. ``energy_counter=False`` makes the energy call unsupported."""

    name: str = "Fake GPU"
    energy_counter: bool = True
    power_w: float = 100.0
    utilisation_pct: int = 50
    memory_used_bytes: int = 2 * 1024**3
    memory_total_bytes: int = 16 * 1024**3
    process_memory_bytes: int = 1024**3
    energy_mj: float = 1_000_000.0
    fail_calls: set[str] = field(default_factory=set)  # function names that raise NoPermission


class FakeNvml:
    """Fake ``pynvml`` module. The energy counter advances by power x time per call.

    ``init_error`` (an exception instance) makes ``nvmlInit`` fail. ``inits`` and
    ``shutdowns`` count calls, so tests can check that no NVML session is left open.
    """

    def __init__(
        self, gpus: list[FakeGpu] | None = None, *, init_error: Exception | None = None
    ) -> None:
        self.gpus = list(gpus or [])
        self.init_error = init_error
        self.inits = 0
        self.shutdowns = 0
        self.driver = "550.54.15"
        self.step_s = 0.1  # simulated seconds between two energy readings

    @property
    def open_sessions(self) -> int:
        return self.inits - self.shutdowns

    def _gpu(self, handle: Any, call: str) -> FakeGpu:
        if self.open_sessions <= 0:
            raise nvml_error("NVMLError_Uninitialized")()
        gpu = self.gpus[handle]
        if call in gpu.fail_calls:
            raise nvml_error("NVMLError_NoPermission")()
        return gpu

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._gpu(index, "nvmlDeviceGetHandleByIndex")
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self._gpu(handle, "nvmlDeviceGetName").name

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        gpu = self._gpu(handle, "nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=gpu.utilisation_pct, memory=gpu.utilisation_pct // 2)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        gpu = self._gpu(handle, "nvmlDeviceGetMemoryInfo")
        free = gpu.memory_total_bytes - gpu.memory_used_bytes
        return SimpleNamespace(total=gpu.memory_total_bytes, used=gpu.memory_used_bytes, free=free)

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return int(self._gpu(handle, "nvmlDeviceGetPowerUsage").power_w * 1000)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        gpu = self._gpu(handle, "nvmlDeviceGetTotalEnergyConsumption")
        if not gpu.energy_counter:
            raise nvml_error("NVMLError_NotSupported")()
        gpu.energy_mj += gpu.power_w * self.step_s * 1000
        return int(gpu.energy_mj)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        gpu = self._gpu(handle, "nvmlDeviceGetComputeRunningProcesses")
        return [SimpleNamespace(pid=os.getpid(), usedGpuMemory=gpu.process_memory_bytes)]
