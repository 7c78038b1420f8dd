"""Overhead of ``%%vl_monitor`` beside ``%%time`` and codecarbon's tracker, in one run.

    .venv/bin/python benchmarks/bench_monitor.py [--reps 200] [--busy-reps 5] [--spans]

Measures, in one in-process IPython shell, the median extra wall time of an empty cell
(``pass``) over the same cell without a magic, interleaved cell by cell so background
load hits both alike, and the variants round-robin, ``--chunk`` pairs at a time, so the
machine's drift over the run hits them alike too (run one after the other they differed
by up to 0.6 ms on this VM with identical code):

- ``%%vl_monitor`` with the evidence on disk, fsyncs deferred (the default) and
  synchronous (``VL_EVIDENCE_FSYNC=sync``), and on /dev/shm (no disk at all); each with
  the run writers other rooms register (the audit room's ``bom.json`` and OSCAL files,
  on by default since ``import vl_jupyter`` registers them) and without them (the
  telemetry alone);
- ``%%time`` (IPython's own cell timer) and codecarbon's ``OfflineEmissionsTracker``
  start/stop around the same cell (``pip install codecarbon``; skipped when absent);
- the extra time on a 1 s CPU-busy cell and the sampler thread's own CPU use.

``%%vl_monitor`` writes its trace and run files on the evidence store's deferred writer
once the cell is over (docs/evidence.md). So each variant prints three figures: the
cell's own overhead (what the user waits for; the deferred files are drained after it,
untimed, so they never land in the next pair), the wait for those files right after the
cell (what a next cell started at that instant would wait), and the per-cell extra of
cells run back to back (Run All), in which each cell's ``pre_run_cell`` waits for the
previous one's files: every byte the magic writes is paid for in that last figure.

``--spans`` adds where the time of a monitored empty cell goes (median microseconds per
phase, inclusive; instrumenting adds a few µs per span). The machine's load is printed:
figures from a loaded machine are upper bounds.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from vl_jupyter import evidence
from vl_jupyter.notebook import load_ipython_extension

# A fixed amount of work (not "until 1 s of CPU"): a monitor's own threads must show
# up as extra wall time, not shorten the loop.
BUSY = "for _ in range({n}):\n    pass"
EMPTY = "%%vl_monitor empty -q\npass"
N = 30_000_000


def calibrate(seconds: float = 1.0) -> int:
    """Loop iterations that take about ``seconds`` here."""
    n, code = 1_000_000, compile(BUSY.format(n=1_000_000), "<busy>", "exec")
    t0 = time.perf_counter()
    exec(code, {})
    return int(n * seconds / (time.perf_counter() - t0))


def run(shell: InteractiveShell, cell: str) -> tuple[float, float, float]:
    """Wall and main-thread CPU seconds of one cell, and the wall seconds of the wait for
    its deferred run files right after it (what a next cell started at once would wait;
    drained here, untimed, so that no cell's background writes land in the next one)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    with contextlib.redirect_stdout(io.StringIO()):  # %%time prints its figures
        result = shell.run_cell(cell, store_history=True)
    t1, c1 = time.perf_counter(), time.thread_time()
    evidence.drain_run_files()
    result.raise_error()
    return t1 - t0, c1 - c0, time.perf_counter() - t1


def pairs(shell: InteractiveShell, cell: str, reps: int) -> list[tuple[float, float, float]]:
    """``reps`` (wall, CPU, wait) differences of ``cell`` over a plain cell just before it."""
    out = []
    for _ in range(reps):
        plain = run(shell, "pass")
        magic = run(shell, cell)
        out.append((magic[0] - plain[0], magic[1] - plain[1], magic[2]))
    return out


def summarise(found: list[tuple[float, float, float]]) -> tuple[float, ...]:
    """Pairs from :func:`pairs` as ms: the median of the wall-time differences, their 25th
    percentile (what a less loaded machine approaches), the median of the main-thread CPU
    differences (which background load disturbs far less than wall time) and the median
    wait for the cell's deferred files just after it."""
    wall = [w for w, _, _ in found]
    return (
        statistics.median(wall) * 1000,
        statistics.quantiles(wall, n=4)[0] * 1000,
        statistics.median(c for _, c, _ in found) * 1000,
        statistics.median(a for _, _, a in found) * 1000,
    )


def run_all_ms(shell: InteractiveShell, cell: str, batch: int = 20) -> float:
    """Per-cell extra wall time of ``cell`` run back to back (Run All), in ms: ``batch``
    plain cells, then ``batch`` monitored ones; each monitored cell's deferred files are
    waited for by the next cell's ``pre_run_cell`` hook, and the last one's inside the
    timing, so every byte the magic writes is paid for here. (The caller takes the
    median over rounds.)"""
    took = []
    for body in ("pass", cell):
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(batch):
                shell.run_cell(body, store_history=True)
        evidence.drain_run_files()
        took.append(time.perf_counter() - t0)
    return (took[1] - took[0]) / batch * 1000


def configure_store(root: Path, mode: str, writers: bool) -> None:
    os.environ["VL_EVIDENCE_DIR"] = str(root / ".venturalitica")
    evidence.configure_durability(mode)
    if writers:
        import vl_jupyter.export as _  # noqa: F401  (registers the audit run writer)

        sys.modules["vl_jupyter.export"]._register_run_writer()
    else:
        evidence.unregister_run_writer("audit-files")


def bench_vl(shell: InteractiveShell, reps: int, chunk: int = 10) -> dict[str, tuple[float, ...]]:
    """Every variant's pairs, taken round-robin in chunks of ``chunk`` so that the
    machine's drift over the run (background flushes, a growing history) hits all alike."""
    from vl_jupyter.evidence import _durability

    places = [("disk", Path(tempfile.mkdtemp(dir=os.environ.get("BENCH_DISK_DIR"))))]
    if Path("/dev/shm").is_dir():
        places.append(("shm", Path(tempfile.mkdtemp(dir="/dev/shm"))))
    variants = [("time_magic", None, "deferred", False)]
    for label, base in places:
        for mode in ("deferred", "sync") if label == "disk" else ("deferred",):
            for writers in (True, False):
                key = f"{label}_{mode}_{'writers' if writers else 'telemetry'}"
                variants.append((key, base / key, mode, writers))
    found: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    run_all: dict[str, list[float]] = defaultdict(list)
    synced: dict[str, int] = defaultdict(int)
    for round_ in range(-1, max(1, reps // chunk)):  # round -1 warms every variant up
        for key, root, mode, writers in variants:
            cell = "%%time\npass" if root is None else EMPTY
            if root is not None:
                configure_store(root, mode, writers)
            before = _durability.policy().synced
            got = pairs(shell, cell, chunk if round_ >= 0 else 3)
            if round_ >= 0:
                found[key] += got
                if root is not None and round_ % 2 == 0:
                    run_all[key].append(run_all_ms(shell, cell, batch=chunk * 2))
            evidence.flush()
            synced[key] += _durability.policy().synced - before
    evidence.configure_durability("deferred")
    res: dict[str, tuple[float, ...]] = {}
    cells = {key: 3 + len(found[key]) + chunk * 2 * len(run_all[key]) for key in found}
    for key in found:
        res[key] = summarise(found[key])
        if run_all[key]:
            res[f"{key}_run_all"] = (statistics.median(run_all[key]),)
            res[f"{key}_fsyncs_per_cell"] = (synced[key] / cells[key],)
    return res


def bench_busy(shell: InteractiveShell, busy_reps: int) -> dict[str, float]:
    magic_busy = "%%vl_monitor busy -q\n" + BUSY
    pairs = [  # interleaved, so background load hits both sides alike
        (run(shell, BUSY.format(n=N))[0], run(shell, magic_busy.format(n=N))[0])
        for _ in range(busy_reps)
    ]
    recs = [r.data for r in evidence.records("telemetry") if r.data["name"] == "busy"]
    share = [r["sampling"]["sampler_cpu_s"] / r["wall_s"] * 100 for r in recs]
    return {
        "busy_plain_s": statistics.median(p for p, _ in pairs),
        "busy_overhead_pct": statistics.median((m - p) / p * 100 for p, m in pairs),
        "sampler_cpu_pct_of_core": statistics.median(share),
        "samples_per_busy_cell": statistics.median(r["sampling"]["samples"] for r in recs),
    }


def bench_codecarbon(reps: int) -> dict[str, Any] | None:
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError:
        return None
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    out = tempfile.mkdtemp()

    def tracked() -> None:
        tracker = OfflineEmissionsTracker(
            country_iso_code="DEU", output_dir=out, log_level="error", save_to_file=True
        )
        tracker.start()
        exec("pass", {})
        tracker.stop()

    t0 = time.perf_counter()
    tracked()
    first = time.perf_counter() - t0
    wall, cpu = [], []
    for _ in range(reps):
        took = []
        for fn in (lambda: exec("pass", {}), tracked):
            t0, c0 = time.perf_counter(), time.thread_time()
            fn()
            took.append((time.perf_counter() - t0, time.thread_time() - c0))
        wall.append(took[1][0] - took[0][0])
        cpu.append(took[1][1] - took[0][1])
    return {
        "first_tracker_s": first,
        "empty_overhead_ms": (
            statistics.median(wall) * 1000,
            statistics.quantiles(wall, n=4)[0] * 1000,
            statistics.median(cpu) * 1000,
        ),
    }


#: (module, attribute) of the phases ``--spans`` times, in the order a cell runs them.
SPANS = [
    ("vl_jupyter.notebook._monitor_magic", "parse_line"),
    ("vl_jupyter.notebook._monitor_magic", "MonitorMagics._compile"),
    ("vl_jupyter.telemetry._monitor", "_Run.start"),
    ("vl_jupyter.evidence", "open_run"),
    ("vl_jupyter.telemetry._sampler", "Sampler.start"),
    ("vl_jupyter.telemetry._counters", "Counters.start"),
    ("vl_jupyter.telemetry._monitor", "_Run.finish"),
    ("vl_jupyter.telemetry._counters", "Counters.stop"),
    ("vl_jupyter.telemetry._sampler", "Sampler.stop"),
    ("vl_jupyter.telemetry._code", "describe"),
    ("vl_jupyter.telemetry._monitor", "build_data"),
    ("vl_jupyter.evidence._store", "EvidenceStore.append"),
    ("vl_jupyter.evidence._store", "EvidenceStore._repair"),
    ("vl_jupyter.evidence._hooks", "seal"),
    ("vl_jupyter.evidence._files", "place_record"),
    ("vl_jupyter.evidence._files", "append_line"),
    ("vl_jupyter.evidence._store", "EvidenceStore.write_json"),
    ("vl_jupyter.telemetry._monitor", "_Run._close"),
    ("vl_jupyter.evidence._durability", "Durability.flush"),
    ("os", "fsync"),
]


def bench_spans(shell: InteractiveShell, reps: int) -> list[tuple[str, float, float]]:
    """Median µs per phase of a monitored empty cell (and how often it ran per cell)."""
    import importlib

    spent: dict[str, int] = defaultdict(int)
    calls: dict[str, int] = defaultdict(int)
    undo = []
    for module_name, attr in SPANS:
        owner = importlib.import_module(module_name)
        *outer, name = attr.split(".")
        for part in outer:
            owner = getattr(owner, part)
        real = getattr(owner, name)
        label = attr if module_name != "os" else "os.fsync"

        def timed(*a, _real=real, _label=label, **k):
            t0 = time.perf_counter_ns()
            try:
                return _real(*a, **k)
            finally:
                spent[_label] += time.perf_counter_ns() - t0
                calls[_label] += 1

        functools.update_wrapper(timed, real)
        setattr(owner, name, timed)
        undo.append((owner, name, real))
    per: dict[str, list[int]] = defaultdict(list)
    total = []
    try:
        for _ in range(reps):
            spent.clear()
            total.append(run(shell, EMPTY)[0])
            for label in spent:
                per[label].append(spent[label])
    finally:
        for owner, name, real in reversed(undo):
            setattr(owner, name, real)
    rows = [("whole cell (run_cell)", statistics.median(total) * 1e6, 1.0)]
    for _, attr in SPANS:
        label = attr if attr != "fsync" else "os.fsync"
        if per[label]:
            runs = per[label] + [0] * (reps - len(per[label]))
            rows.append((label, statistics.median(runs) / 1000, calls[label] / reps))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="empty cells per variant")
    parser.add_argument("--busy-reps", type=int, default=5, help="1 s busy cell pairs")
    parser.add_argument("--cc-reps", type=int, default=40, help="codecarbon start/stops")
    parser.add_argument("--spans", action="store_true", help="time each phase of a cell")
    parser.add_argument(
        "--chunk", type=int, default=10, help="pairs per variant before the next one's turn"
    )
    args = parser.parse_args()
    global N
    N = calibrate()
    shell = InteractiveShell.instance()
    load_ipython_extension(shell)
    load = os.getloadavg()
    vl = bench_vl(shell, args.reps, args.chunk)
    cc = bench_codecarbon(args.cc_reps)
    busy = bench_busy(shell, args.busy_reps) if args.busy_reps else None
    print(
        f"cpu: {os.cpu_count()} logical cores; load average {load[0]:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at end; {args.reps} empty cells per variant"
    )
    print(
        "empty cell overhead in ms, paired with a plain cell: wall median / wall 25th "
        "percentile / main-thread CPU median"
    )
    print("  %%time: {:.2f} / {:.2f} / {:.2f}".format(*vl["time_magic"][:3]))
    for key, value in vl.items():
        if key == "time_magic" or key.endswith(("_fsyncs_per_cell", "_run_all")):
            continue
        place, mode, what = key.split("_")
        where = {"disk": "evidence on disk", "shm": "evidence on /dev/shm"}[place]
        which = "with the audit run writer" if what == "writers" else "telemetry alone"
        fsyncs = vl[f"{key}_fsyncs_per_cell"][0]
        print(
            "  %%vl_monitor: {:.2f} / {:.2f} / {:.2f}".format(*value[:3])
            + f" ({where}, fsync {mode}, {which}; {fsyncs:.1f} background fsyncs per cell)"
        )
        print(
            f"      then {value[3]:.2f} ms of deferred run files still being written when "
            f"the cell returns; back to back (Run All) {vl[key + '_run_all'][0]:.2f} ms "
            "per cell, everything included"
        )
    if cc is None:
        print("codecarbon: not installed (pip install codecarbon) - peer skipped")
    else:
        print(f"codecarbon first OfflineEmissionsTracker start/stop: {cc['first_tracker_s']:.2f} s")
        print(
            "  codecarbon OfflineEmissionsTracker start/stop: {:.2f} / {:.2f} / {:.2f}".format(
                *cc["empty_overhead_ms"]
            )
        )
    if busy is not None:
        print(f"%%vl_monitor 1 s busy cell overhead: {busy['busy_overhead_pct']:.2f} %")
        print(
            f"sampler CPU use: {busy['sampler_cpu_pct_of_core']:.3f} % of one core "
            f"({busy['samples_per_busy_cell']:.0f} samples per 1 s cell)"
        )
    if args.spans:
        configure_store(Path(tempfile.mkdtemp()), "deferred", True)
        print(
            "where the time of one empty %%vl_monitor cell goes (disk, deferred, writers; "
            "write_json and _close run on the deferred writer's thread, after the cell):"
        )
        for label, us, n in bench_spans(shell, args.reps):
            print(f"  {us:8.1f} us  {label}" + (f"  ({n:.1f} calls/cell)" if n != 1 else ""))


if __name__ == "__main__":
    main()
