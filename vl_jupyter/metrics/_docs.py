"""Render docs/metrics.md from the catalogue, so the documentation cannot drift from it.

    python -m vl_jupyter.metrics._docs > docs/metrics.md
    python -m vl_jupyter.metrics._docs --schema   # the metric list of policy/schema.json

Tests compare the committed files with this output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ._catalogue import CATALOGUE, SDK_REGISTRY_KEYS, MetricSpec, canonical_key

_CATEGORIES = {
    "fairness": "Fairness",
    "performance": "Performance",
    "regression": "Regression",
    "scores": "Per-case scores (segmentation, imaging)",
    "data_quality": "Data quality",
    "privacy": "Privacy",
    "dataset": "Dataset heuristics",
    "drift": "Drift against a baseline (see docs/monitoring.md)",
    "not_computed": "Keys that resolve to an error",
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
  counts, seed 0 by default, the multiclass metrics included); regression and per-case
  score metrics a normal-approximation interval of the group means; data-quality, privacy
  and dataset figures, the `max_*` scores and `roc_auc` describe this exact data set and
  carry none (`group_size_min` too: it is a count).
- Group parameters, for every grouped metric: `min_group_size` (groups with fewer rows are
  excluded and listed in the result; a between-group metric needs two groups left) and
  `bins` (cut a numeric dimension: `4` equal-frequency bins or cut points `"25,60"` giving
  `<25`, `[25, 60)`, `>=60`). Missing values in a dimension form their own group
  `(missing)`, with a warning; missing values in a target, prediction or score column make
  the control an error.
- **SDK meaning**: what the Venturalítica SDK (0.8.1) computes under the same key or an
  alias, where the key is one of its registry's 56 (the table at the end maps every one).
  A policy read from an SDK dialect gets the SDK's parameter defaults where its stored
  numbers depend on them (`disparate_impact`: `min_group_size: 5`).
- **Keys that resolve to an error** are names other tools use for something that cannot be
  computed honestly here; a control naming one loads, and its result is an `error` saying
  why, so the report cannot pass on it.

## How to add a metric

A metric is one entry in `vl_jupyter/metrics/_catalogue.py`; the evaluator, the policy
reader, the policy JSON Schema's metric list and this page all read it.

1. Write the computation. From a count table (per group, how many rows fall in each
   target/prediction cell): a function in `_formulas.py` taking the table with a leading
   replicate axis and returning `(value per replicate, per-group values)`; the point
   estimate and the bootstrap interval then come from the same code. Anything else: a
   function of the metric being measured in `_frame_metrics.py` (or `_score_metrics.py`
   for per-group means) returning a `Measurement`.
2. Add `_add(MetricSpec(key, category, summary, formula, direction, typical, roles,
   statistic, params, ..., compute=...))`. A member of a family (a per-group rate compared
   as a difference, ratio, min or max) is one row of the `_FAMILY` table instead, e.g.
   `("false_negative_rate_ratio", "fnr", "ratio", "Lowest group FNR over the highest.",
   "gt 0.8", (), "")`. A frame metric, for instance:

   ```python
   _add(MetricSpec(
       "sample_adequacy_ratio", "data_quality", "Rows over the rows deemed adequate.",
       "n / required_rows", "higher", "ge 1", (), "frame",
       (Param("required_rows", "int", None, "rows deemed adequate (required)", minimum=1),),
       compute=FM.sample_adequacy_ratio,
   ))
   ```

   Optional fields say the rest: `aliases`, `oracle`, `note`, `sdk` (what the
   Venturalítica SDK computes under the name), `sdk_defaults` (parameter defaults for
   policies from its dialects), `operator_notes` (a warning when the operator suggests
   another tool's meaning), `companions` (another reading of the same count table,
   reported in the result's details), `unsupported` (the key resolves to an error with
   this reason).
3. Test it: against its fairlearn or scikit-learn `oracle` in `tests/test_metrics_oracle.py`
   (a test fails while an oracle is named and not compared), or against a value computed
   by hand from its formula in `tests/test_metrics_registry.py`.
4. `make docs` regenerates this page and the metric list of `vl_jupyter/policy/schema.json`
   (`python -m vl_jupyter.metrics._docs > docs/metrics.md` and `... _docs --schema`); the
   tests say when either is stale.
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
    if spec.unsupported:
        lines += [f"Result: `error`, reason: {spec.unsupported}.", ""]
    if spec.sdk:
        lines += [f"SDK meaning: {spec.sdk}", ""]
    return "\n".join(lines)


def _sdk_table() -> str:
    lines = [
        "## The Venturalítica SDK's registry keys",
        "",
        f"All {len(SDK_REGISTRY_KEYS)} keys of the SDK's `METRIC_REGISTRY` resolve here.",
        "",
        "| SDK key | here | computed | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for key in SDK_REGISTRY_KEYS:
        ours = canonical_key(key)
        assert ours is not None, f"SDK key {key} does not resolve"
        spec = CATALOGUE[ours]
        computed = "no: an `error` result with the reason" if spec.unsupported else "yes"
        name = f"`{ours}`" if ours == key else f"`{ours}` (alias)"
        same = spec.sdk.startswith(("Same", "The same"))
        meaning = "—" if spec.unsupported else "same" if same else "differs (see the entry)"
        lines.append(f"| `{key}` | {name} | {computed} | {meaning} |")
    return "\n".join(lines) + "\n"


def render() -> str:
    unlisted = {s.category for s in CATALOGUE.values()} - set(_CATEGORIES)
    assert not unlisted, f"metric categories without a section: {sorted(unlisted)}"
    parts = [_INTRO, f"{len(CATALOGUE)} keys.\n"]
    for category, title in _CATEGORIES.items():
        specs = sorted(
            (s for s in CATALOGUE.values() if s.category == category), key=lambda s: s.key
        )
        parts.append(f"## {title}\n")
        parts.extend(_row(s) for s in specs)
    parts.append(_sdk_table())
    return "\n".join(parts).rstrip() + "\n"


def metric_names() -> list[str]:
    """Every key and alias a policy may write, sorted: the schema's metric enum."""
    return sorted({*CATALOGUE, *(a for s in CATALOGUE.values() for a in s.aliases)})


def write_schema_enum(path: Path) -> None:
    """Rewrite only the metric enum of the policy JSON Schema at ``path``, keeping the
    rest of the file (and its layout) as it is."""
    text = path.read_text(encoding="utf-8")
    anchor = text.index('"description": "A metric key or alias')
    start = text.index('"enum": [', anchor)
    end = text.index("]", start) + 1
    indent = " " * 8
    names = ",\n".join(indent + json.dumps(n, ensure_ascii=False) for n in metric_names())
    updated = text[:start] + '"enum": [\n' + names + "\n" + " " * 6 + "]" + text[end:]
    json.loads(updated)  # still a JSON document
    path.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--schema"]:
        write_schema_enum(Path(__file__).resolve().parents[1] / "policy" / "schema.json")
    else:
        print(render(), end="")
