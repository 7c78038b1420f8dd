"""``vl.load_sample("loan")`` and ``vl.quickstart("loan")``: the SDK's first minute, offline.

The Venturalítica SDK fetches UCI dataset 144 (German credit) over the network and looks
for its policy in a samples checkout. Here both ship with the package, so the same two
calls work on a machine without internet: ``load_sample("loan")`` is the data as UCI
publishes it (``Attribute1`` ... ``Attribute20``, ``class``: 1 good, 2 bad risk), and
``quickstart("loan")`` enforces ``policies/loan.oscal.yaml`` (the SDK's OSCAL dialect)
on it with the SDK's bindings, inside ``monitor("quickstart_loan")``, and returns the
Report.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: scenario -> what the SDK's quickstart binds, and the policy that ships for it
SCENARIOS: dict[str, dict[str, Any]] = {
    "loan": {
        "description": "Credit scoring fairness: bias in loan approvals (UCI German credit)",
        "policy": "loan.oscal",
        "bindings": {"target": "class", "gender": "Attribute9", "age": "Attribute13"},
    }
}
_ALIASES = {"german_credit": "loan", "credit": "loan"}


def _scenario(name: str) -> str:
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in SCENARIOS:
        raise ValueError(
            f"no sample {name!r}; known: {', '.join(sorted(SCENARIOS))} "
            "(the SDK's other scenarios live in its samples repository)"
        )
    return key


def list_scenarios() -> dict[str, str]:
    """Scenario name -> description (the SDK's ``vl.list_scenarios()``)."""
    return {name: s["description"] for name, s in SCENARIOS.items()}


def load_sample(name: str = "loan", verbose: bool = False) -> pd.DataFrame:
    """The sample data of scenario ``name`` (``"loan"``: 1000 rows, 21 columns)."""
    _scenario(name)
    from . import ATTRIBUTION, load_german_credit

    frame = load_german_credit()
    if verbose:
        print(f"[vl_jupyter] loaded {len(frame)} rows: {ATTRIBUTION}")
    return frame


def quickstart(scenario: str = "loan", verbose: bool = True, **options: Any) -> Any:
    """Enforce the scenario's shipped policy on its sample data; return the Report.

    ``options`` go to :func:`vl_jupyter.enforce` (``evidence_dir=``, ``ci=``...).
    """
    key = _scenario(scenario)
    config = SCENARIOS[key]
    from .. import enforce
    from ..telemetry import monitor
    from . import policy_path

    frame = load_sample(key, verbose=verbose)
    evidence_dir = options.get("evidence_dir")
    with monitor(f"quickstart_{key}", evidence_dir=evidence_dir, sample=False, gpu=False):
        report = enforce(frame, policy_path(config["policy"]), **config["bindings"], **options)
    if verbose:
        print(repr(report))
        for r in report:
            value = "n/a" if r.actual_value is None else f"{r.actual_value:.3f}"
            print(f"  {r.status.upper():5} {r.control_id}: {value} ({r.operator} {r.threshold:g})")
    return report
