"""The ``data`` of a ``telemetry`` evidence record, and the Venturalítica trace file.

Field names and units are documented in docs/telemetry.md; every figure that is an
estimate names its method beside it (``energy.cpu_method``, ``methods``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psutil

from . import _context
from ._sampler import CHILD_REFRESH_S, Sampler
from ._settings import Carbon


def build_data(
    *,
    name: str,
    label: str | None,
    exc: BaseException | None,
    figures: dict[str, Any],
    sampler: Sampler | None,
    interval: float,
    carbon: Carbon,
    pue: float,
    code: dict[str, Any],
    estimate: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """Assemble the record from the counters, the sampler and the energy model."""
    from ._energy import EnergyInputs

    live_user, live_system = sampler.children_cpu() if sampler else (0.0, 0.0)
    child_user = figures.pop("reaped_children_user_s") + live_user
    child_system = figures.pop("reaped_children_system_s") + live_system
    gpus = sampler.gpus if sampler else []
    gpu_status = (
        sampler.gpu_status
        if sampler
        else {"available": False, "reason": "no sampling (tracecollector or sample=False)"}
    )
    gpu_kwh = sum(g["energy_kwh"] or 0.0 for g in gpus)
    gpu_methods = sorted({g["energy_method"] for g in gpus if g["energy_method"]})
    children_peak = sampler.children_peak if sampler else None
    hw = _context.hardware()
    energy = estimate(
        EnergyInputs(
            wall_s=figures["wall_s"],
            cpu_s=figures["cpu_user_s"] + figures["cpu_system_s"] + child_user + child_system,
            logical_cores=hw["cpu_usable_cores"] or 1,
            cpu_model=hw["cpu_model"],
            mem_bytes=figures["peak_rss_bytes"] + (children_peak or 0),
            rapl_j=figures.pop("rapl_j"),
            system_busy_s=figures.pop("system_busy_s"),
            gpu_kwh=gpu_kwh,
            gpu_method="+".join(gpu_methods) or None,
        ),
        pue,
        carbon.g_per_kwh,
    )
    if sampler is not None and sampler.system_total:  # its last sample ended the block
        mem_used, mem_total = sampler.system_used_peak, sampler.system_total
    else:
        vm = psutil.virtual_memory()
        mem_used, mem_total = (sampler.system_used_peak if sampler else vm.used), vm.total
    data: dict[str, Any] = {
        "name": name,
        "label": label,
        "success": exc is None,
        "error": type(exc).__name__ if exc is not None else None,
        "error_message": str(exc)[:500] if exc is not None else None,
        **figures,
        "children_cpu_user_s": child_user,
        "children_cpu_system_s": child_system,
        "children_peak_rss_bytes": children_peak,
        "children_seen": len(sampler.children_seen) if sampler else None,
        "system_memory_used_peak_bytes": mem_used,
        "system_memory_total_bytes": mem_total,
        "gpus": gpus,
        "gpu_status": gpu_status,
        "energy_kwh": energy["total_kwh"],
        "co2e_g": energy["co2e_g"],
        "carbon_intensity_g_per_kwh": carbon.g_per_kwh,
        "carbon_intensity_source": carbon.source,
        "carbon_intensity_origin": carbon.origin,
        "country": carbon.country,
        "pue": pue,
        "energy": energy,
        "methods": {
            "peak_rss": figures["peak_rss_method"],
            "cpu_energy": energy["cpu_method"],
            "ram_energy": energy["ram_method"],
            "gpu_energy": energy["gpu_method"],
            "carbon_intensity": carbon.source,
        },
        "sampling": {
            "enabled": sampler is not None,
            "interval_s": interval if sampler else None,
            "child_refresh_s": CHILD_REFRESH_S if sampler else None,
            "samples": sampler.samples if sampler else 0,
            "sampler_cpu_s": sampler.cpu_s if sampler else 0.0,
            "error": sampler.error if sampler else None,
        },
        "code": code,
        "context": _context.context(gpus, gpu_status),
    }
    return data


#: The figures copied into the trace file; the evidence record holds everything.
TRACE_FIGURES = (
    "started_at",
    "ended_at",
    "wall_s",
    "cpu_user_s",
    "cpu_system_s",
    "cpu_utilisation",
    "children_cpu_user_s",
    "children_cpu_system_s",
    "peak_rss_bytes",
    "peak_delta_bytes",
    "children_peak_rss_bytes",
    "gpus",
    "energy_kwh",
    "co2e_g",
    "carbon_intensity_g_per_kwh",
    "carbon_intensity_source",
    "pue",
    "methods",
)


def trace_document(
    data: dict[str, Any], record_id: str, session: str, source: str | None
) -> dict[str, Any]:
    """``trace_<name>.json``: the Venturalítica SDK's fields first, then ours."""
    code = data["code"]
    return {
        "name": data["name"],
        "label": data["label"] or data["name"],
        "timestamp": data["started_at"],
        "duration_seconds": data["wall_s"],
        "success": data["success"],
        "code_context": {
            "file": code.get("file"),
            "line": code.get("line"),
            "function": code.get("function"),
            "notebook": code.get("notebook"),
            "source": source,
            "source_sha256": code.get("source_sha256"),
        },
        "error": data["error"],
        "error_message": data["error_message"],
        "session": session,
        "run_id": session,
        "evidence_id": record_id,
        "kind": "telemetry",
        "telemetry": {k: data[k] for k in TRACE_FIGURES},
    }
