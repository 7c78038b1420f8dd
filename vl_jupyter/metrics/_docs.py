"""Render docs/metrics.md from the catalogue, so the documentation cannot drift from it.

    python -m vl_jupyter.metrics._docs > docs/metrics.md

A test compares the committed file with this output.
"""

from __future__ import annotations

from ._catalogue import CATALOGUE, MetricSpec

_CATEGORIES = {
    "fairness": "Fairness",
    "performance": "Performance",
    "regression": "Regression",
    "data_quality": "Data quality",
    "privacy": "Privacy",
}

_INTRO = """# Metric catalogue

Every key a policy may name. Generated from `vl_jupyter/metrics/_catalogue.py` by
`python -m vl_jupyter.metrics._docs`; do not edit by hand.

How to read it:
- **roles** are what the metric reads; a control binds each role to a variable or column
  (`inputs: {dimension: gender}`), and `enforce(...)` keywords bind variables to columns.
- Selection-rate metrics read the **prediction** when one is bound (the control declares
  `input:prediction`, or `prediction=` is passed) and the **target** otherwise, so one
  policy audits the raw data (`target="class"`) and the model (`target="prediction"`).
- **direction**: which way is better. A policy whose operator points the other way gets
  a warning when it is loaded.
- **oracle**: the third-party function our value equals (to 1e-9, checked in the tests).
  Where a per-group rate is undefined (a group with no actual positives for TPR), ours is
  an `error` with the reason, where fairlearn returns 0.
- **CI**: count metrics get a 95% interval (1,000 multinomial replicates of the per-group
  counts, seed 0 by default); regression metrics a normal-approximation interval of the
  group means; data-quality, privacy and `roc_auc` figures describe this exact data set
  and carry none (`group_size_min` too: it is a count).
- Group parameters, for every grouped metric: `min_group_size` (groups with fewer rows are
  excluded and listed in the result; a between-group metric needs two groups left) and
  `bins` (cut a numeric dimension: `4` equal-frequency bins or cut points `"25,60"` giving
  `<25`, `[25, 60)`, `>=60`). Missing values in a dimension form their own group
  `(missing)`, with a warning; missing values in a target, prediction or score column make
  the control an error.
"""


def _row(spec: MetricSpec) -> str:
    roles = ", ".join(spec.roles) or "—"
    if spec.optional_roles:
        roles += f" (+ {' or '.join(spec.optional_roles)})"
    params = ", ".join(f"`{p.name}`" for p in spec.params) or "—"
    aliases = ", ".join(f"`{a}`" for a in spec.aliases)
    lines = [
        f"### `{spec.key}`",
        "",
        spec.summary + (f" Aliases: {aliases}." if aliases else ""),
        "",
        "| formula | roles | direction | typical | params | oracle |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| `{spec.formula.replace('|', chr(92) + '|')}` | {roles} | {spec.direction} | `{spec.typical}` | {params} | "
        f"{('`' + spec.oracle + '`') if spec.oracle else '—'} |",
        "",
    ]
    if spec.note:
        lines += [spec.note, ""]
    return "\n".join(lines)


def render() -> str:
    parts = [_INTRO, f"{len(CATALOGUE)} keys.\n"]
    for category, title in _CATEGORIES.items():
        specs = sorted(
            (s for s in CATALOGUE.values() if s.category == category), key=lambda s: s.key
        )
        parts.append(f"## {title}\n")
        parts.extend(_row(s) for s in specs)
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
