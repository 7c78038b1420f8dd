"""Energy of one monitored block: CPU, RAM and GPU in kWh, each with the method behind it.

Methods, best first (docs/telemetry.md gives each one's known error):

* CPU ``rapl``: the package energy counters in ``/sys/class/powercap/intel-rapl:*``,
  scaled by this process tree's share of all busy CPU time during the block.
* CPU ``tdp_x_utilisation``: the model's TDP (``data/cpu_tdp.csv``) x CPU seconds used /
  logical cores visible; the counters make it exact in time, the TDP makes it approximate.
* CPU ``constant``: the same with an assumed 85 W package when the model is not listed.
* RAM ``constant``: 0.375 W per GB (codecarbon's figure) of the process tree's peak memory.
* GPU ``nvml_energy`` / ``nvml_power``: see ``_nvml.py``.
"""

from __future__ import annotations

import csv
import functools
import glob
import re
from dataclasses import dataclass
from importlib import resources

DEFAULT_CPU_TDP_W = 85.0
RAM_W_PER_GB = 0.375
J_PER_KWH = 3.6e6
_RAPL_GLOB = "/sys/class/powercap/intel-rapl:[0-9]*"
_NOISE = re.compile(r"\((R|TM|tm|r)\)|\bCPU\b|\bProcessor\b|@.*$|\b\d+-Core\b", re.I)


@functools.lru_cache(maxsize=1)
def _tdp_table() -> dict[str, float]:
    path = resources.files("vl_jupyter") / "data" / "cpu_tdp.csv"
    table: dict[str, float] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:  # a few upstream rows are malformed ("27.29.5"): skip them
                table[_norm(row["Name"])] = float(row["TDP"])
            except (TypeError, ValueError):
                continue
    return table


def _norm(name: str) -> str:
    return " ".join(_NOISE.sub(" ", name).split()).lower()


@functools.lru_cache(maxsize=8)
def cpu_tdp(model: str) -> tuple[float | None, str | None]:
    """``(watts, matched table name)`` for a CPU model string, or ``(None, None)``.

    Matches the model after dropping "(R)", "(TM)", "CPU", "@ 2.90GHz" and the like:
    exactly, else the longest table name that the model contains as whole words (so
    "Intel Xeon Platinum 8375C" never matches a bare "Xeon"). A generic model string such
    as a VM's "AMD EPYC" matches nothing: better no TDP than a wrong one.
    """
    table = _tdp_table()
    key = _norm(model)
    if not key:
        return None, None
    if key in table:
        return table[key], key
    best = max(
        (n for n in table if len(n.split()) >= 2 and re.search(rf"(^| ){re.escape(n)}( |$)", key)),
        key=len,
        default=None,
    )
    return (table[best], best) if best else (None, None)


@functools.lru_cache(maxsize=1)
def rapl_zones() -> tuple[str, ...]:
    """The RAPL package zones (hardware: listed once per process; read every block)."""
    return tuple(sorted(glob.glob(_RAPL_GLOB)))


def rapl_read() -> dict[str, int] | None:
    """Package energy counters in microjoules, or None when RAPL cannot be read."""
    values: dict[str, int] = {}
    for zone in rapl_zones():
        try:
            with open(f"{zone}/energy_uj") as fh:
                values[zone] = int(fh.read())
        except (OSError, ValueError):
            return None  # unreadable (usually permissions): do not mix partial packages
    return values or None


def rapl_delta_j(start: dict[str, int] | None, end: dict[str, int] | None) -> float | None:
    """Joules between two RAPL readings, handling counter wrap-around."""
    if not start or not end or start.keys() != end.keys():
        return None
    total = 0
    for zone, before in start.items():
        after = end[zone]
        if after < before:
            try:
                with open(f"{zone}/max_energy_range_uj") as fh:
                    after += int(fh.read())
            except (OSError, ValueError):
                return None
        total += after - before
    return total / 1e6


@dataclass
class EnergyInputs:
    """What the energy model needs, all measured elsewhere."""

    wall_s: float
    cpu_s: float  # kernel + children, user + system
    logical_cores: int
    cpu_model: str
    mem_bytes: int  # kernel peak + children peak
    rapl_j: float | None = None
    system_busy_s: float | None = None  # all processes' CPU time, for the RAPL share
    gpu_kwh: float = 0.0
    gpu_method: str | None = None


def estimate(inp: EnergyInputs, pue: float, g_per_kwh: float) -> dict[str, object]:
    """CPU, RAM and GPU energy (kWh), their methods, the PUE-scaled total and the CO2e."""
    tdp, matched = cpu_tdp(inp.cpu_model)
    cpu_extra: dict[str, object] = {}
    if inp.rapl_j is not None and inp.system_busy_s:
        share = min(1.0, inp.cpu_s / inp.system_busy_s)
        cpu_kwh, cpu_method = inp.rapl_j * share / J_PER_KWH, "rapl"
        cpu_extra = {"rapl_package_j": inp.rapl_j, "process_share": share}
    else:
        watts = tdp if tdp is not None else DEFAULT_CPU_TDP_W
        cpu_method = "tdp_x_utilisation" if tdp is not None else "constant"
        cpu_kwh = watts * inp.cpu_s / max(1, inp.logical_cores) / J_PER_KWH
        cpu_extra = {"cpu_tdp_w": watts, "cpu_tdp_model": matched}
    ram_kwh = RAM_W_PER_GB * inp.mem_bytes / 1e9 * inp.wall_s / J_PER_KWH
    it_kwh = cpu_kwh + ram_kwh + inp.gpu_kwh
    total = it_kwh * pue
    return {
        "cpu_kwh": cpu_kwh,
        "cpu_method": cpu_method,
        **cpu_extra,
        "ram_kwh": ram_kwh,
        "ram_method": "constant",
        "ram_w_per_gb": RAM_W_PER_GB,
        "gpu_kwh": inp.gpu_kwh,
        "gpu_method": inp.gpu_method,
        "it_kwh": it_kwh,
        "pue": pue,
        "total_kwh": total,
        "co2e_g": total * g_per_kwh,
    }
