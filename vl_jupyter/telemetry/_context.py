"""Context of a telemetry record: hardware, software, notebook and the code measured.

A figure without its machine cannot be compared or reproduced, so every record carries
the CPU model and cores, RAM, GPU models and driver, OS, Python and package versions
(shared with enforcement through ``vl_jupyter._context``), the notebook path and a hash
of the measured source. Hardware is read once per process.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import sys
from pathlib import Path
from typing import Any

import psutil

from .. import environment


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU model name as the OS reports it ("" when unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


@functools.lru_cache(maxsize=1)
def hardware() -> dict[str, Any]:
    """CPU model, physical and logical cores, total RAM (cached per process)."""
    try:
        affinity = len(psutil.Process().cpu_affinity() or [])
    except (AttributeError, psutil.Error):
        affinity = 0
    return {
        "cpu_model": cpu_model(),
        "cpu_physical_cores": psutil.cpu_count(logical=False),
        "cpu_logical_cores": psutil.cpu_count(logical=True),
        "cpu_usable_cores": affinity or psutil.cpu_count(logical=True),
        "ram_total_bytes": psutil.virtual_memory().total,
    }


def notebook_path() -> str | None:
    """The notebook this kernel runs, when the front end tells us (else None).

    Jupyter Server sets ``JPY_SESSION_NAME`` in the kernel's environment; VS Code puts
    ``__vsc_ipynb_file__`` in the user namespace.
    """
    shell = _shell()
    if shell is not None:
        vsc = shell.user_ns.get("__vsc_ipynb_file__")
        if vsc:
            return str(vsc)
    return os.environ.get("JPY_SESSION_NAME") or None


def execution_count() -> int | None:
    """The ``In [n]`` number of the cell being run, in an IPython kernel.

    IPython increments ``execution_count`` before running a cell, so the running cell is
    one less (what its displayhook calls ``prompt_count``).
    """
    shell = _shell()
    count = getattr(shell, "execution_count", None) if shell is not None else None
    return max(0, count - 1) if isinstance(count, int) else None


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()
    except Exception:
        return None


def source_hash(source: str | None) -> str | None:
    """``sha256:<hex>`` of the measured source, so a reviewer can tie figures to code."""
    if source is None:
        return None
    return "sha256:" + hashlib.sha256(source.encode("utf-8")).hexdigest()


def default_name(fallback: str = "block") -> str:
    """A name from the notebook and cell (``train_cell12``), else ``fallback``."""
    count = execution_count()
    if count is None:
        return fallback
    path = notebook_path()
    stem = Path(path).stem if path else "cell"
    return f"{stem}_cell{count}" if path else f"cell{count}"


def context(gpus: list[dict[str, Any]], gpu_status: dict[str, Any]) -> dict[str, Any]:
    """The full context block of one record."""
    return {
        "hardware": {
            **hardware(),
            "gpus": [{"index": g["index"], "name": g["name"]} for g in gpus],
            "gpu_driver": gpu_status.get("driver"),
        },
        "software": environment.software(),
        "notebook": notebook_path(),
        "working_directory": str(Path.cwd()),
        "pid": os.getpid(),
    }
