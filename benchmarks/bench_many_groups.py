"""enforce() on a dimension with very many groups: the bootstrap cap, before and after.

One demographic-parity control over a string dimension with ``--groups`` distinct values on
``--rows`` rows, with the default 1,000-replicate intervals. Prints the wall time, the
process CPU time and the peak of traced (numpy and Python) memory, for the shipped cap
(no interval above ``MAX_CI_GROUPS`` groups, with a note) and, with ``--uncapped``, for
the same call with the cap lifted (what it cost before). The uncapped run at 100,000
groups needs about 6 GB; size it to the machine.

    python benchmarks/bench_many_groups.py --rows 200000 --groups 20000 --uncapped
    python benchmarks/bench_many_groups.py --rows 1000000 --groups 100000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

import vl_jupyter as vl
from vl_jupyter.metrics import _bootstrap

POLICY = {
    "vl-policy": 1,
    "title": "many groups",
    "controls": [
        {
            "id": "dp",
            "metric": "demographic_parity_diff",
            "operator": "lt",
            "threshold": 0.1,
            "inputs": {"dimension": "group"},
        }
    ],
}


def make_data(rows: int, groups: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"group": rng.integers(0, groups, rows).astype(str), "y": rng.integers(0, 2, rows)}
    )


def run(df: pd.DataFrame) -> dict[str, object]:
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    result = vl.enforce(df, POLICY, target="y", evidence=False)["dp"]
    out = {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "peak_mib": tracemalloc.get_traced_memory()[1] / 2**20,
        "ci": result.metadata["ci"] and (result.ci[0], result.ci[1]),
        "note": result.metadata.get("ci_note", ""),
    }
    tracemalloc.stop()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--uncapped", action="store_true", help="also run with the cap lifted")
    args = parser.parse_args(argv)
    df = make_data(args.rows, args.groups)
    variants = [("capped", _bootstrap.MAX_CI_GROUPS, _bootstrap.MAX_CI_DRAWS)]
    if args.uncapped:
        variants.append(("uncapped", 10**12, 10**15))
    print(f"{args.rows:,} rows, {df['group'].nunique():,} groups, 1,000 replicates")
    for name, max_groups, max_draws in variants:
        saved = _bootstrap.MAX_CI_GROUPS, _bootstrap.MAX_CI_DRAWS
        _bootstrap.MAX_CI_GROUPS, _bootstrap.MAX_CI_DRAWS = max_groups, max_draws
        try:
            m = run(df)
        finally:
            _bootstrap.MAX_CI_GROUPS, _bootstrap.MAX_CI_DRAWS = saved
        print(
            f"  {name:9s} wall {m['wall_s']:.2f} s  cpu {m['cpu_s']:.2f} s  "
            f"peak {m['peak_mib']:.0f} MiB  ci {m['ci']}  {m['note']}"
        )


if __name__ == "__main__":
    main()
