"""Benchmark ``enforce()`` called many times inside one monitored run (one session).

A notebook loop that enforces a policy on every batch, inside one ``monitor()`` block,
writes ``runs/<run_id>/results.json`` and ``.venturalitica/results.json`` on every call.
If those files accumulated every call's results, each call would read and rewrite a
growing file (quadratic in the number of calls). This measures the per-call time of the
first and last ten calls and the files' sizes after ``--calls`` calls: half of the calls
re-check the same batch (the same results, which replace their earlier entry), half check
new batches (new entries), so both paths of the run file are exercised.

Usage: ``.venv/bin/python benchmarks/bench_run_results.py --calls 300`` (``--calls 30``
for a smoke test). Prints one JSON object; it never fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import vl_jupyter as vl


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="enforce calls in the run")
    args = parser.parse_args(argv)
    german = vl.datasets.load_german_credit(derived=True)
    policy = vl.datasets.policy_path("german_credit_data")
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="vl-bench-runs-") as tmp:
        root = Path(tmp) / ".venturalitica"
        warnings.simplefilter("ignore")
        with vl.monitor("bench_loop", evidence_dir=root, sample=False, gpu=False) as mon:
            for i in range(args.calls):
                # even calls: the same batch again; odd calls: a new batch
                batch = german if i % 2 == 0 else german.sample(frac=0.9, random_state=i)
                start = time.perf_counter()
                vl.enforce(
                    batch, policy, target="class", gender="gender", age="age",
                    n_boot=100, evidence_dir=root,
                )  # fmt: skip
                times.append(time.perf_counter() - start)
        run_dir = root / "runs" / mon.result.session
        run_file = run_dir / "results.json"
        top = root / "results.json"
        out = {
            "calls": args.calls,
            "first10_mean_s": round(statistics.mean(times[:10]), 4),
            "last10_mean_s": round(statistics.mean(times[-10:]), 4),
            "run_results_bytes": run_file.stat().st_size if run_file.exists() else None,
            "run_results_entries": len(json.loads(run_file.read_text()))
            if run_file.exists()
            else None,
            "top_results_bytes": top.stat().st_size if top.exists() else None,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
