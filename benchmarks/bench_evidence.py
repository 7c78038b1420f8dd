"""Benchmark the evidence store: listing, verify and append on a 10,000-record store.

Builds a store of N records (default 10,000) with ~5 KB of realistic data each (an
``enforce`` result: a dozen controls with metric values, group counts and confidence
intervals) in a temp dir, then times:

- ``list(store.records())`` reading id/kind/created/summary of every record (median of
  several runs) against the naive peer measured in the same run: ``json.load`` of every
  record file (what listing would cost without the index);
- ``store.verify()`` (opens and re-hashes every record);
- ``store.append()`` on the full store (fsync included), median of 50.

Usage: ``.venv/bin/python benchmarks/bench_evidence.py [N]``. The build uses the real
``append()`` with ``os.fsync`` stubbed out (durability is not what is measured there;
the append timing below runs with fsync).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from vl_jupyter.evidence import EvidenceStore


def enforce_payload(rng: random.Random, i: int) -> dict:
    """~5 KB: what one enforce() call with 12 controls records."""
    controls = []
    for c in range(12):
        groups = {f"group_{g}": rng.randint(20, 500) for g in range(4)}
        value = rng.random()
        controls.append(
            {
                "control_id": f"ctrl-{c:02d}-fairness",
                "description": "Approval rates across groups follow the four-fifths rule.",
                "metric_key": "disparate_impact",
                "threshold": 0.8,
                "operator": "gt",
                "actual_value": value,
                "passed": value > 0.8,
                "severity": "high",
                "power": {
                    "n": sum(groups.values()),
                    "groups": groups,
                    "ci_low": value - rng.random() / 10,
                    "ci_high": value + rng.random() / 10,
                    "ci_level": 0.95,
                    "method": "bootstrap",
                    "n_boot": 1000,
                    "seed": i,
                },
            }
        )
    return {"policy": "lending.oscal.yaml", "dataset": {"rows": 1000 + i}, "controls": controls}


def build(root: Path, n: int) -> EvidenceStore:
    store = EvidenceStore(root)
    rng = random.Random(0)
    with mock.patch("os.fsync"):
        for i in range(n):
            data = enforce_payload(rng, i)
            passed = sum(c["passed"] for c in data["controls"])
            store.append("enforce", data, summary={"passed": passed, "failed": 12 - passed})
    return store


def timed(fn, repeat: int) -> tuple[float, object]:
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


def list_index(store: EvidenceStore) -> list:
    return [(r.id, r.kind, r.created, r.summary) for r in store.records()]


def list_naive(store: EvidenceStore) -> list:
    rows = []
    for path in sorted(store.records_dir.glob("*.json"), reverse=True):
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        rows.append((doc["id"], doc["kind"], doc["created"], doc["summary"]))
    return rows


def main(n: int = 10_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = build(Path(tmp) / ".venturalitica", n)
        build_s = time.perf_counter() - t0
        files = list(store.records_dir.iterdir())
        avg_kb = sum(p.stat().st_size for p in files) / len(files) / 1024
        index_mb = store.index_path.stat().st_size / 1e6
        print(
            f"store: {n} records, {avg_kb:.1f} KB/record, index {index_mb:.1f} MB, built in {build_s:.1f} s"
        )

        t_list, rows = timed(lambda: list_index(store), 7)
        t_naive, naive = timed(lambda: list_naive(store), 3)
        assert len(rows) == len(naive) == n and rows[0][0] == naive[0][0]
        print(f"list(records()) x{n}:   {t_list * 1e3:8.1f} ms (median of 7)")
        print(f"naive json.load x{n}:   {t_naive * 1e3:8.1f} ms (median of 3)")
        print(f"  -> index listing is {t_naive / t_list:.1f}x faster than the naive peer")

        t_first, _ = timed(lambda: next(store.records(kind="enforce")), 7)
        print(f"newest record only:     {t_first * 1e3:8.1f} ms")
        t_get, _ = timed(lambda: store.get(rows[n // 2][0]).data, 7)
        print(f"get(id).data (middle):  {t_get * 1e3:8.1f} ms")

        t_verify, result = timed(store.verify, 3)
        assert result.ok, result
        print(f"verify() x{n}:          {t_verify * 1e3:8.1f} ms (median of 3)")

        rng = random.Random(1)
        payloads = [enforce_payload(rng, i) for i in range(50)]
        runs = []
        for data in payloads:
            t0 = time.perf_counter()
            store.append("enforce", data, summary={"passed": 1})
            runs.append(time.perf_counter() - t0)
        print(
            f"append() on {n} records: median {statistics.median(runs) * 1e3:.2f} ms, "
            f"max {max(runs) * 1e3:.2f} ms (50 appends, fsync on)"
        )
        print(f"platform: {sys.platform}, python {sys.version.split()[0]}, cpus {os.cpu_count()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
