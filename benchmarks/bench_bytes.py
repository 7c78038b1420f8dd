"""Bytes added to ``.venturalitica/`` per ``enforce()`` call, by file, beside the old layout.

Two policies: the German credit policy (``vl.datasets.policy_path("german_credit_data")``,
1,000 rows) and the 16-control loan policy of issue 12 (``benchmarks/loan.py``, ``--rows``
rows). For each, ``--calls`` enforce calls inside one ``monitor()`` run, each on a new
batch (so every call adds new results, as a loop over batches does), are written twice in
the same process: by the package's writer ("new") and by the frozen copy of the writer
before policy blobs (``benchmarks/_baseline_record.py``, "old": the policy text inline in
every record, results files indented). Sizes are taken before the first call and after
each one; a call's bytes are the growth of each file it touches, so the blob, written by
the first call only, is shown both averaged over the calls and as the last call's cost.
What the run's close adds once (the telemetry record, traces, BOM/OSCAL run files) is a
row of its own. Both stores are verified, and the two ``results.json`` are checked to
hold the same entries (but for the record ids): the SDK user reads the same thing.
(``bom.json`` lists the distributions the process had imported, so the second run of a
process lists a few more: that difference is not the writer's.)

Usage: ``.venv/bin/python benchmarks/bench_bytes.py --calls 20`` (``--calls 3 --rows
5000`` for a smoke test). Prints a table per policy, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import _baseline_record
import loan

import vl_jupyter as vl
from vl_jupyter.enforcement import _record

CATEGORIES = (
    "record",
    "index line",
    "results.json",
    "runs/<id>/results.json",
    "policies/ (blobs)",
    "traces",
)


def category(rel: str) -> str | None:
    """Which row a file of the store counts in (None: not evidence, e.g. the lock)."""
    parts = rel.split("/")
    name = parts[-1]
    if rel == "index.jsonl":
        return "index line"
    if parts[0] == "records":
        return None if name.startswith(".") else "record"
    if rel == "results.json":
        return "results.json"
    if parts[0] == "runs" and name == "results.json":
        return "runs/<id>/results.json"
    if parts[0] == "policies":
        return None if name.startswith(".") else "policies/ (blobs)"
    if name.startswith("trace_"):
        return "traces"
    if name.startswith(".") or rel == "runs/latest":
        return None
    return f"runs/<id>/{name}" if parts[0] == "runs" else name  # the run writers' files


def sizes(root: Path) -> dict[str, int]:
    out = dict.fromkeys(CATEGORIES, 0)
    for base, _, names in os.walk(root):
        for name in names:
            full = Path(base) / name
            if full.is_symlink():
                continue
            which = category(full.relative_to(root).as_posix())
            if which is not None:
                out[which] = out.get(which, 0) + full.stat().st_size
    return out


@contextmanager
def writer(old: bool):
    """Use the frozen pre-blob record writer for the calls inside (enforce imports
    ``record_report`` from its module at each call)."""
    saved = _record.record_report
    if old:
        _record.record_report = _baseline_record.record_report
    try:
        yield
    finally:
        _record.record_report = saved


def run(root: Path, calls: int, call: Callable[[int, Path], Any], old: bool) -> dict[str, Any]:
    """``calls`` enforce calls in one monitored run; the sizes after each."""
    steps = []
    with writer(old), vl.monitor("bench_bytes", evidence_dir=root, sample=False, gpu=False):
        steps.append(sizes(root))
        for i in range(calls):
            call(i, root)
            steps.append(sizes(root))
    closed = sizes(root)
    result = vl.evidence.verify(root, full=True)
    assert result.ok, result.problems
    return {"steps": steps, "closed": closed}


def record_parts(root: Path) -> dict[str, int]:
    """Bytes of each ``data`` field in the newest enforce record (compact JSON)."""
    rec = next(vl.evidence.records(kind="enforce", root=root))
    return {
        k: len(json.dumps(v, ensure_ascii=False, separators=(",", ":")))
        for k, v in rec.data.items()
    }


_FLOAT = re.compile(r"-?\d+\.\d+(?:[eE]-?\d+)?")


def inside_results(root: Path) -> dict[str, int]:
    """What repeats inside the newest enforce record's results, in compact JSON bytes:
    the per-group tables, the data digest copied into each result, the bindings and CI
    blocks, and what rounding every float to 6 significant digits would save."""
    rec = next(vl.evidence.records(kind="enforce", root=root))
    results = rec.data["results"]

    def size(value: Any) -> int:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    out = {"results": size(results)}
    for key in ("groups", "bindings", "ci", "partition_digest"):
        out[f"metadata.{key}"] = sum(size(r["metadata"].get(key)) + len(key) + 3 for r in results)
    floats = _FLOAT.findall(json.dumps(results, separators=(",", ":")))
    out["floats"] = sum(map(len, floats))
    out["floats rounded to 6 digits would save"] = sum(
        len(f) - len(repr(float(f"{float(f):.6g}"))) for f in floats
    )
    return out


def results_without_ids(root: Path) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in e.items() if k != "evidence_id"}
        for e in json.loads((root / "results.json").read_bytes())
    ]


def compare(label: str, calls: int, call: Callable[[int, Path], Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vl-bench-bytes-") as tmp:
        old_root, new_root = (
            Path(tmp) / "old" / ".venturalitica",
            Path(tmp) / "new" / ".venturalitica",
        )
        old = run(old_root, calls, call, old=True)
        new = run(new_root, calls, call, old=False)
        same = results_without_ids(old_root) == results_without_ids(new_root)
        assert same, "results.json differs in content between the layouts"
        parts_old, parts_new = record_parts(old_root), record_parts(new_root)
        inside = inside_results(new_root)
    rows: dict[str, dict[str, float]] = {}
    extra = sorted((set(old["closed"]) | set(new["closed"])) - set(CATEGORIES))
    o = [dict.fromkeys(extra, 0) | s for s in [*old["steps"], old["closed"]]]
    n = [dict.fromkeys(extra, 0) | s for s in [*new["steps"], new["closed"]]]
    for cat in [*CATEGORIES, *extra]:
        rows[cat] = {
            "old_per_call": (o[-2][cat] - o[0][cat]) / calls,
            "new_per_call": (n[-2][cat] - n[0][cat]) / calls,
            "old_last_call": o[-2][cat] - o[-3][cat],
            "new_last_call": n[-2][cat] - n[-3][cat],
            "old_run_close": o[-1][cat] - o[-2][cat],
            "new_run_close": n[-1][cat] - n[-2][cat],
        }
    total = {k: sum(r[k] for r in rows.values()) for k in next(iter(rows.values()))}
    print(f"\n{label}: {calls} enforce calls in one monitored run")
    print(f"{'file':<40} {'old B/call':>11} {'new B/call':>11} {'change':>8}   "
          f"{'old last':>9} {'new last':>9}   {'old close':>9} {'new close':>9}")  # fmt: skip
    for cat, r in [*rows.items(), ("total", total)]:
        if not any(r.values()):
            continue
        change = (
            f"{(r['new_per_call'] - r['old_per_call']) / r['old_per_call']:+.0%}"
            if r["old_per_call"]
            else ""
        )
        print(
            f"{cat:<40} {r['old_per_call']:11.0f} {r['new_per_call']:11.0f} {change:>8}   "
            f"{r['old_last_call']:9.0f} {r['new_last_call']:9.0f}   "
            f"{r['old_run_close']:9.0f} {r['new_run_close']:9.0f}"
        )
    print("(B/call: averaged over the calls; last: the last call alone; close: added once")
    print(" when the run closes: its telemetry record, traces, BOM and OSCAL files)")
    text = parts_old.get("policy", 0) - parts_new.get("policy", 0)
    print(
        "record's data fields, new layout: "
        + ", ".join(f"{k} {v}" for k, v in sorted(parts_new.items(), key=lambda kv: -kv[1])[:6])
        + f" (policy was {parts_old.get('policy')}: {text} B of text moved to the blob)"
    )
    print("in the new record's results (kept, see docs/benchmarks.md): "
          + ", ".join(f"{k} {v} B" for k, v in inside.items()))  # fmt: skip
    return {"calls": calls, "rows": rows, "total": total, "record_fields_new": parts_new,
            "record_fields_old": parts_old, "inside_results": inside}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="enforce calls per run (>= 2)")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the loan data")
    parser.add_argument("--only", choices=("german", "loan"), help="one policy only")
    args = parser.parse_args(argv)
    if args.calls < 2:
        parser.error("--calls must be at least 2 (the last call's cost needs one before it)")
    warnings.simplefilter("ignore")  # the results-file bound and similar notes
    out: dict[str, Any] = {}
    if args.only in (None, "german"):
        german = vl.datasets.load_german_credit(derived=True)
        policy = vl.datasets.policy_path("german_credit_data")

        def german_call(i: int, root: Path) -> None:
            batch = german.sample(frac=0.9, random_state=i)
            vl.enforce(batch, policy, target="class", gender="gender", age="age", evidence_dir=root)

        out["german"] = compare(
            "german-credit policy (1,000 rows, 90% batches)", args.calls, german_call
        )
    if args.only in (None, "loan"):
        frames = {}

        def loan_call(i: int, root: Path) -> None:
            if i not in frames:
                frames.clear()
                frames[i] = loan.make_loan(args.rows, seed=i)
            vl.enforce(frames[i], loan.POLICY, target="target", prediction="prediction",
                       evidence_dir=root)  # fmt: skip

        out["loan"] = compare(f"16-control loan policy ({args.rows:,} rows, a new seed each call)",
                              args.calls, loan_call)  # fmt: skip
    print(json.dumps({k: {"calls": v["calls"], "total": v["total"]} for k, v in out.items()}))
    return out


if __name__ == "__main__":
    main()
