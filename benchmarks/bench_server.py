"""Benchmark the server's evidence listing: one page of a 10,000-record project.

Builds a valid, hash-chained store of N records (default 10,000; written directly, in
the store's own format, in about a second) in a temp dir, starts nothing, and times the
call behind ``GET /vl-jupyter/api/evidence`` (``Catalogue.page``) the way the sidebar
makes it:

- cold: the first page after the server starts (walks the root, reads the index);
- warm: a poll of an unchanged project (cached listing);
- filtered: ``status=fail`` over all records, and a deep page (offset 9,950);
- after an append: the next poll reads the appended lines (old path beside it: the
  by-seq map of the chain check rebuilt from every record, as it was before it grew in
  place; the listing and rows copies it also made are not re-created).

Prints the median of several runs of each beside the old path measured in the same run
(a full parse of the index on the first page; a pass over every record on each poll).
Targets at 100,000 records: < 50 ms cold first page, < 5 ms poll.
Usage: ``.venv/bin/python benchmarks/bench_server.py [N]`` (e.g. ``1e5``).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from vl_jupyter.evidence import EvidenceStore
from vl_jupyter.evidence._files import index_entry
from vl_jupyter.evidence._jsonable import record_hash
from vl_jupyter.evidence._record import GENESIS, SCHEMA, encode_record, format_created
from vl_jupyter.server import _stores


def build(root: Path, n: int) -> EvidenceStore:
    """A valid store of ``n`` enforce records (what ``append`` would write, without fsync)."""
    records = root / "records"
    records.mkdir(parents=True)
    start = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
    prev, lines = GENESIS, []
    for i in range(n):
        when = start + dt.timedelta(seconds=i)
        rid = when.strftime("%Y%m%dT%H%M%S%fZ") + f"-{i:08x}"
        status = ("pass", "warn", "fail")[i % 3]
        doc = {
            "schema": SCHEMA,
            "seq": i + 1,
            "id": rid,
            "kind": "enforce" if i % 4 else "telemetry",
            "created": format_created(when),
            "session": f"s{i // 10}",
            "summary": {"name": f"r{i}", "status": status, "passed": status == "pass",
                        "wall_s": 1.0, "peak_rss_bytes": 1, "energy_kwh": 0.0, "co2e_g": 0.0},
            "prev_hash": prev,
            "data": {"i": i},
        }  # fmt: skip
        doc["hash"] = prev = record_hash(doc)
        name = f"{i + 1:08d}_{rid}.json"
        (records / name).write_bytes(encode_record(doc))
        lines.append(json.dumps(index_entry(doc, name), separators=(",", ":")))
    (root / "index.jsonl").write_text("\n".join(lines) + "\n")
    return EvidenceStore(root)


def median_ms(fn, repeat: int = 15) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def old_page(catalogue: _stores.Catalogue, **kw) -> dict:
    """The page as it was computed before the poll cache: a pass over every record."""
    params = {"kind": None, "excluded": set(), "status": None, "session": None,
              "sync": None, "target": None, "offset": 0, "limit": 50, **kw}  # fmt: skip
    for store in catalogue.stores():
        store._filtered.clear()  # no cached pass: every record filtered again
    return catalogue._page(catalogue.stores(), *params.values())


def cold_ms(tmp: str, tail: bool) -> float:
    """A new Catalogue's first page (the server just started), median of 5."""
    runs = []
    saved = _stores.TAIL_MIN_BYTES
    _stores.TAIL_MIN_BYTES = saved if tail else 1 << 62  # the old path: a full read
    try:
        for _ in range(5):
            catalogue = _stores.Catalogue(tmp)
            t0 = time.perf_counter()
            page = catalogue.page(exclude_kind="sync", limit=50)
            runs.append((time.perf_counter() - t0) * 1000)
            assert len(page["records"]) == 50
            for thread in threading.enumerate():  # let the background listing finish
                if thread.name == "vl-listing":
                    thread.join()
    finally:
        _stores.TAIL_MIN_BYTES = saved
    return statistics.median(runs)


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = build(Path(tmp) / "project" / ".venturalitica", n)
        size = store.index_path.stat().st_size / 2**20
        print(f"built {n} records in {time.perf_counter() - t0:.1f} s (index {size:.1f} MiB)")
        catalogue = _stores.Catalogue(tmp)
        catalogue.page()
        for thread in threading.enumerate():
            if thread.name == "vl-listing":
                thread.join()
        catalogue.page()
        rows = [
            ("first page, cold (walk + read index)", cold_ms(tmp, True), cold_ms(tmp, False)),
            (
                "first page, warm poll (unchanged)",
                median_ms(lambda: catalogue.page(exclude_kind="sync", limit=50)),
                median_ms(lambda: old_page(catalogue, excluded={"sync"}), 7),
            ),
            (
                "status=fail, all records (repeat poll)",
                median_ms(lambda: catalogue.page(status="fail")),
                median_ms(lambda: old_page(catalogue, status="fail"), 7),
            ),
            (
                "deep page (offset n-50, repeat poll)",
                median_ms(lambda: catalogue.page(offset=n - 50)),
                median_ms(lambda: old_page(catalogue, offset=n - 50), 7),
            ),
        ]

        def after_append(old: bool = False):
            store.append("enforce", {}, summary={"status": "pass"})
            if old:  # the old path: the by-seq map of the chain check rebuilt in full
                for held in catalogue.stores():
                    held._by_seq = (None, {})
            t0, c0 = time.perf_counter(), time.process_time()
            catalogue.page(limit=50)
            cpu.append((time.process_time() - c0) * 1000)
            return (time.perf_counter() - t0) * 1000

        cpu: list[float] = []
        new_ms = statistics.median(after_append() for _ in range(9))
        new_cpu, cpu = statistics.median(cpu), []
        old_ms = statistics.median(after_append(old=True) for _ in range(9))
        rows.append(("first page after an append (median of 9)", new_ms, old_ms))
        rows.append(("  the same, CPU time (process_time)", new_cpu, statistics.median(cpu)))
        print(f"GET /vl-jupyter/api/evidence on {n:,} records (median, ms)")
        print(f"  {'':<40} {'new':>8} {'old path, same run':>20}")
        for label, ms, old in rows:
            print(f"  {label:<40} {ms:8.2f} {'' if old is None else f'{old:20.1f}'}")


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000)
