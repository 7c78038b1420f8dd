"""Where the carbon intensity and the PUE come from: argument, session, environment, default.

A figure of CO2e is only as good as the carbon intensity behind it, so the location is
never guessed: without an explicit country or intensity the world average is used and the
record says ``world_average``. Resolution order, first found wins:

1. the arguments of this ``monitor()`` call (or ``%%vl_monitor`` options);
2. the session settings made with :func:`configure` (or ``%vl_monitor_config``);
3. the environment: ``VL_COUNTRY``, ``VL_CARBON_INTENSITY`` (g/kWh), ``VL_PUE``;
4. the world average, 475 g/kWh, and a PUE of 1.0.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from importlib import resources

from ..errors import TelemetryError, close_matches

#: IEA Global Energy & CO2 Status Report 2019, the figure codecarbon also uses.
WORLD_AVERAGE_G_PER_KWH = 475.0

_session: dict[str, object] = {}


@dataclass(frozen=True)
class Carbon:
    """The carbon intensity used for one record, and where it came from."""

    g_per_kwh: float
    source: str  # "country:DEU", "explicit", "env", "world_average"
    country: str | None = None
    origin: str = "default"  # "argument", "session", "env", "default"


@functools.lru_cache(maxsize=1)
def intensity_table() -> dict[str, tuple[str, float, int]]:
    """ISO alpha-3 code -> (country name, g CO2e/kWh, year), from the shipped CSV."""
    path = resources.files("vl_jupyter") / "data" / "carbon_intensity.csv"
    with path.open(encoding="utf-8") as fh:
        return {
            row["iso_code"].upper(): (
                row["country"],
                float(row["g_co2e_per_kwh"]),
                int(row["year"]),
            )
            for row in csv.DictReader(fh)
        }


def country_intensity(code: str) -> tuple[str, float]:
    """``(ISO code, g/kWh)`` for an ISO 3166-1 alpha-3 code; ValueError naming close matches."""
    table = intensity_table()
    key = str(code).strip().upper()
    if key in table:
        return key, table[key][1]
    names = {name.upper(): iso for iso, (name, _, _) in table.items()}
    if key in names:  # a full country name is accepted too
        return names[key], table[names[key]][1]
    near = close_matches(key, list(table), n=3, cutoff=0.6)
    near += [names[n] for n in close_matches(key, list(names), n=3, cutoff=0.6)]
    hint = ", ".join(f"{iso} ({table[iso][0]})" for iso in dict.fromkeys(near))
    raise TelemetryError(
        f"unknown country code {code!r}: no carbon intensity for it"
        + (f"; close matches: {hint}" if hint else "; use an ISO 3166-1 alpha-3 code like DEU")
    )


def _positive(value: object, what: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TelemetryError(f"{what} must be a number, got {value!r}") from None
    if not number > 0:
        raise TelemetryError(f"{what} must be positive, got {value!r}")
    return number


def check_pue(value: object) -> float:
    """A PUE (power usage effectiveness) must be a number >= 1 (1.0 = no overhead)."""
    pue = _positive(value, "PUE")
    if pue < 1.0:
        raise TelemetryError(f"PUE must be at least 1.0 (1.0 means no overhead), got {value!r}")
    return pue


def configure(
    *,
    country: str | None = None,
    carbon_intensity: float | None = None,
    pue: float | None = None,
    reset: bool = False,
) -> dict[str, object]:
    """Set session-wide defaults for every later ``monitor()``; returns the settings.

    >>> configure(country="DEU", pue=1.2)
    {'country': 'DEU', 'pue': 1.2}
    >>> configure(reset=True)
    {}

    ``reset=True`` clears earlier settings first. Values are checked now, so a typo in a
    country code fails here rather than in every monitored cell.
    """
    if reset:
        _session.clear()
    if country is not None and carbon_intensity is not None:
        raise TelemetryError("give a country or a carbon intensity, not both")
    if country is not None:
        _session.pop("carbon_intensity", None)
        _session["country"] = country_intensity(country)[0]
    if carbon_intensity is not None:
        _session.pop("country", None)
        _session["carbon_intensity"] = _positive(carbon_intensity, "carbon intensity")
    if pue is not None:
        _session["pue"] = check_pue(pue)
    return dict(_session)


def resolve_carbon(country: str | None = None, carbon_intensity: float | None = None) -> Carbon:
    """The carbon intensity for one record, following the module's resolution order."""
    if country is not None and carbon_intensity is not None:
        raise TelemetryError("give a country or a carbon intensity, not both")
    layers = (
        ("argument", country, carbon_intensity),
        ("session", _session.get("country"), _session.get("carbon_intensity")),
        ("env", os.environ.get("VL_COUNTRY") or None, os.environ.get("VL_CARBON_INTENSITY")),
    )
    for origin, code, value in layers:
        if value not in (None, ""):
            source = "env" if origin == "env" else "explicit"
            return Carbon(_positive(value, "carbon intensity"), source, None, origin)
        if code:
            iso, g = country_intensity(str(code))
            return Carbon(g, f"country:{iso}", iso, origin)
    return Carbon(WORLD_AVERAGE_G_PER_KWH, "world_average", None, "default")


def resolve_pue(pue: float | None = None) -> float:
    """The PUE for one record: argument, session, ``VL_PUE``, else 1.0."""
    for value in (pue, _session.get("pue"), os.environ.get("VL_PUE") or None):
        if value is not None:
            return check_pue(value)
    return 1.0
