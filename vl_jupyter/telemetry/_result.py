"""The result of one monitored block, and its one-line summary.

The summary is plain HTML (no widget, no script), so it survives saving, nbconvert
export and GitHub's renderer; ``text/plain`` carries the same line for terminals.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "n/a"
    sign, n = ("-" if n < 0 else ""), abs(float(n))
    # binary units, as the kernel counts memory (VmHWM is in KiB) and as the sidebar shows it
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024
    return f"{sign}{n:.1f} TiB"  # pragma: no cover


def fmt_seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.3g} ms"
    if s < 120:
        return f"{s:.2f} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


def _scaled(value: float, units: tuple[str, ...], base: str) -> str:
    """``value`` (in ``base``) with the largest of the decreasing ``units`` that fits."""
    for unit in units:
        if value >= 1 or unit == units[-1]:
            return f"{value:.3g} {unit}"
        value *= 1000
    return f"{value:.3g} {base}"  # pragma: no cover


def fmt_energy(kwh: float) -> str:
    return (
        _scaled(kwh, ("kWh", "Wh", "mWh", "µWh"), "kWh")
        if kwh >= 1
        else _scaled(kwh * 1000, ("Wh", "mWh", "µWh", "nWh"), "Wh")
    )


def fmt_co2(g: float) -> str:
    return _scaled(g, ("g", "mg", "µg", "ng"), "g")


@dataclass
class Telemetry:
    """What one ``monitor()`` block or ``%%vl_monitor`` cell measured.

    ``data`` is exactly the ``data`` of the evidence record (see docs/telemetry.md);
    the attributes below are shortcuts. ``evidence_id`` is None when recording failed
    (``recording_error`` says why) or was switched off.
    """

    data: dict[str, Any]
    evidence_id: str | None = None
    session: str | None = None
    trace_path: Path | None = None
    recording_error: str | None = field(default=None)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def success(self) -> bool:
        return bool(self.data["success"])

    def summary_line(self) -> str:
        """``train_v1: 1.23 s · peak 392.9 MiB (+381.6 MiB) · 3.1 Wh · 1.2 g CO2e (DEU)``."""
        d = self.data
        where = d["carbon_intensity_source"]
        where = where.split(":", 1)[1] if where.startswith("country:") else where
        parts = [
            fmt_seconds(d["wall_s"]),
            f"CPU {fmt_seconds(d['cpu_user_s'] + d['cpu_system_s'])}",
            f"peak {fmt_bytes(d['peak_rss_bytes'])} (+{fmt_bytes(max(0, d['peak_delta_bytes']))})",
            fmt_energy(d["energy_kwh"]),
            f"{fmt_co2(d['co2e_g'])} CO2e ({where.replace('_', ' ')})",
        ]
        for gpu in d["gpus"]:
            util = gpu.get("utilisation_mean_pct")
            util_text = f" {util:.0f}%" if util is not None else ""
            parts.append(f"GPU{gpu['index']} {gpu['name']}{util_text}")
        head = d["name"] if d["success"] else f"{d['name']} FAILED ({d['error']})"
        return f"{head}: " + " · ".join(parts)

    def _repr_html_(self) -> str:
        # the report's visual language: status edge, icon and word (vl_jupyter.display)
        from ..display import MUTED, STATUS_STYLE, banner

        status = "pass" if self.success else "fail"
        title = "vl_monitor telemetry" + (
            f", evidence {self.evidence_id}" if self.evidence_id else ""
        )
        mark = "" if self.success else f"{STATUS_STYLE['fail'].icon} "
        evidence = (
            f' <span style="color:{MUTED}">· evidence <code>{html.escape(self.evidence_id)}'
            "</code></span>"
            if self.evidence_id
            else ""
        )
        body = f"&#9201; {mark}{html.escape(self.summary_line())}{evidence}"
        return banner(status, body, css_class="vl-monitor", title=title)

    def __repr__(self) -> str:
        return f"<Telemetry {self.summary_line()}>"
