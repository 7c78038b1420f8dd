"""Benchmark reading policies: ordinary files by size, and the hostile ones of issue 9.

Measured (wall time and peak traced memory of ``load_policy``, best of ``--repeat``):

- an ordinary native policy of ``--controls`` controls (default 9,999, ~3.9 MB: just under
  the 4 MiB / 10,000-control limits), and the same count as a props-dialect
  assessment plan;
- the 1.3 KB-class "billion laughs" (nine anchors, each repeating the previous nine
  times: 10**9 leaves once expanded), plain and inside an OSCAL assessment plan;
- a 50 MB file (sparse on disk): refused from its size before a byte is read;
- ``bins: 1000000000`` in a control: the control loads unevaluable, nothing is binned.

Usage: ``.venv/bin/python benchmarks/bench_policy.py [--controls N] [--repeat R]``
(``--controls 1000 --repeat 1`` is a smoke test). Targets are reported as PASS/MISS; the
benchmark never fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_policy_limits import OSCAL_LAUGHS, billion_laughs

from vl_jupyter.errors import PolicyError, VLWarning
from vl_jupyter.policy import load_policy


def measure(source, repeat: int) -> tuple[float, float, str]:
    """(best seconds, peak MiB, outcome) of loading ``source``."""
    best, peak, outcome = float("inf"), 0.0, ""
    for _ in range(repeat):
        tracemalloc.start()
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VLWarning)
                policy = load_policy(source)
            outcome = f"{len(policy)} controls, {len(policy.problems)} unevaluable"
        except PolicyError as exc:
            outcome = f"PolicyError: {exc.message[:70]}"
        best = min(best, time.perf_counter() - start)
        peak = max(peak, tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return best, peak, outcome


def native(n: int) -> str:
    line = "  - {{id: c{}, metric: class_imbalance, operator: gt, threshold: 0.5, description: '{}'}}\n"
    return "vl-policy: 1\ncontrols:\n" + "".join(line.format(i, "x" * 300) for i in range(n))


def assessment_plan(n: int) -> str:
    req = (
        "        - control-id: c{}\n          props:\n"
        "            - {{name: metric_key, value: disparate_impact}}\n"
        "            - {{name: threshold, value: '0.8'}}\n"
        "            - {{name: operator, value: gt}}\n"
        "            - {{name: 'input:dimension', value: gender}}\n"
    )
    head = "assessment-plan:\n  control-implementations:\n    - implemented-requirements:\n"
    return head + "".join(req.format(i) for i in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controls", type=int, default=9_999)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.yaml"
        with big.open("wb") as fh:
            fh.truncate(50 * 2**20)
        bins = (
            "vl-policy: 1\ncontrols:\n  - {id: b, metric: group_size_min, operator: ge, "
            "threshold: 30, inputs: {dimension: age}, params: {bins: 1000000000}}\n"
        )
        cases = [
            (f"native, {args.controls:,} controls", native(args.controls), 10.0),
            (f"assessment plan, {args.controls:,} controls", assessment_plan(args.controls), 10.0),
            ("billion laughs (plain)", billion_laughs(), 0.05),
            ("billion laughs (in OSCAL)", OSCAL_LAUGHS, 0.05),
            ("50 MB file", big, 0.05),
            ("bins: 1000000000", bins, 0.05),
        ]
        print(f"{'case':40} {'bytes':>12} {'best s':>9} {'peak MiB':>9}  target  outcome")
        for name, source, target in cases:
            size = source.stat().st_size if isinstance(source, Path) else len(source.encode())
            seconds, peak, outcome = measure(source, args.repeat)
            verdict = "PASS" if seconds <= target else "MISS"
            print(
                f"{name:40} {size:>12,} {seconds:>9.4f} {peak:>9.1f}  "
                f"{verdict} <={target:g}s  {outcome}"
            )


if __name__ == "__main__":
    main()
