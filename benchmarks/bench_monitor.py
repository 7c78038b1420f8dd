"""Overhead of ``%%vl_monitor`` against codecarbon's OfflineEmissionsTracker, one run.

    .venv/bin/python benchmarks/bench_monitor.py [--reps 40]

Measures, in one in-process IPython shell: the median extra wall time of an empty cell
with the magic (evidence written to disk, fsync included, and to /dev/shm to show the
disk's share), the extra time on a 1 s CPU-busy cell, and the sampler thread's own CPU
use; then codecarbon's ``OfflineEmissionsTracker`` start/stop around the same cells
(needs ``pip install codecarbon``; skipped with a note when absent).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell

from vl_jupyter import evidence
from vl_jupyter.notebook import load_ipython_extension

# A fixed amount of work (not "until 1 s of CPU"): a monitor's own threads must show
# up as extra wall time, not shorten the loop.
BUSY = "for _ in range({n}):\n    pass"


def calibrate(seconds: float = 1.0) -> int:
    """Loop iterations that take about ``seconds`` here."""
    n, code = 1_000_000, compile(BUSY.format(n=1_000_000), "<busy>", "exec")
    t0 = time.perf_counter()
    exec(code, {})
    return int(n * seconds / (time.perf_counter() - t0))


N = 30_000_000
MAGIC_BUSY = "%%vl_monitor busy -q\n" + BUSY


def timed(shell: InteractiveShell, cell: str, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        result = shell.run_cell(cell, store_history=True)
        out.append(time.perf_counter() - t0)
        result.raise_error()
    return out


def timed_fn(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def med_ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


def bench_vl(shell: InteractiveShell, reps: int, busy_reps: int) -> dict[str, float]:
    res: dict[str, float] = {}
    for label, root in (("disk", Path(tempfile.mkdtemp())), ("shm", None)):
        if root is None:
            if not Path("/dev/shm").is_dir():
                continue
            root = Path(tempfile.mkdtemp(dir="/dev/shm"))
        os.environ["VL_EVIDENCE_DIR"] = str(root / ".venturalitica")
        timed(shell, "%%vl_monitor warm -q\npass", 3)
        plain = timed(shell, "pass", reps)
        magic = timed(shell, "%%vl_monitor empty -q\npass", reps)
        res[f"empty_overhead_ms_{label}"] = med_ms(magic) - med_ms(plain)
    pairs = [  # interleaved, so background load hits both sides alike
        (timed(shell, BUSY.format(n=N), 1)[0], timed(shell, MAGIC_BUSY.format(n=N), 1)[0])
        for _ in range(busy_reps)
    ]
    res["busy_plain_s"] = statistics.median(p for p, _ in pairs)
    res["busy_overhead_pct"] = statistics.median((m - p) / p * 100 for p, m in pairs)
    recs = [r.data for r in evidence.records("telemetry") if r.data["name"] == "busy"]
    share = [r["sampling"]["sampler_cpu_s"] / r["wall_s"] * 100 for r in recs]
    res["sampler_cpu_pct_of_core"] = statistics.median(share)
    res["samples_per_busy_cell"] = statistics.median(r["sampling"]["samples"] for r in recs)
    return res


def bench_codecarbon(reps: int, busy_reps: int) -> dict[str, float] | None:
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError:
        return None
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    out = tempfile.mkdtemp()

    def tracked(code: str) -> None:
        tracker = OfflineEmissionsTracker(
            country_iso_code="DEU", output_dir=out, log_level="error", save_to_file=True
        )
        tracker.start()
        exec(code, {})
        tracker.stop()

    first = timed_fn(lambda: tracked("pass"), 1)[0]
    plain = timed_fn(lambda: exec("pass", {}), reps)
    empty = timed_fn(lambda: tracked("pass"), reps)
    pairs = [
        (
            timed_fn(lambda: exec(BUSY.format(n=N), {}), 1)[0],
            timed_fn(lambda: tracked(BUSY.format(n=N)), 1)[0],
        )
        for _ in range(busy_reps)
    ]
    return {
        "first_tracker_s": first,
        "empty_overhead_ms": med_ms(empty) - med_ms(plain),
        "busy_overhead_pct": statistics.median((m - p) / p * 100 for p, m in pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--busy-reps", type=int, default=5)
    args = parser.parse_args()
    global N
    N = calibrate()
    shell = InteractiveShell.instance()
    load_ipython_extension(shell)
    vl = bench_vl(shell, args.reps, args.busy_reps)
    cc = bench_codecarbon(max(5, args.reps // 4), args.busy_reps)
    print(f"cpu: {os.cpu_count()} logical cores; reps: {args.reps} empty, {args.busy_reps} busy")
    print(
        f"%%vl_monitor empty cell overhead, median: {vl['empty_overhead_ms_disk']:.2f} ms "
        f"(evidence on disk, fsync'd)"
    )
    if "empty_overhead_ms_shm" in vl:
        print(
            f"%%vl_monitor empty cell overhead, median: {vl['empty_overhead_ms_shm']:.2f} ms "
            "(evidence on /dev/shm: measurement cost without the disk)"
        )
    print(f"%%vl_monitor 1 s busy cell overhead: {vl['busy_overhead_pct']:.2f} %")
    print(
        f"sampler CPU use: {vl['sampler_cpu_pct_of_core']:.3f} % of one core "
        f"({vl['samples_per_busy_cell']:.0f} samples per 1 s cell)"
    )
    if cc is None:
        print("codecarbon: not installed (pip install codecarbon) - peer skipped")
        return
    print(f"codecarbon first OfflineEmissionsTracker start/stop: {cc['first_tracker_s']:.2f} s")
    print(
        f"codecarbon empty cell overhead, median: {cc['empty_overhead_ms']:.2f} ms "
        f"(ratio to %%vl_monitor on disk: {cc['empty_overhead_ms'] / vl['empty_overhead_ms_disk']:.1f}x)"
    )
    print(f"codecarbon 1 s busy cell overhead: {cc['busy_overhead_pct']:.2f} %")


if __name__ == "__main__":
    main()
