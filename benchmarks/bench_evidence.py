"""Benchmark the evidence store: listing, verify and append on a 10,000-record store.

Builds a store of N records (default 10,000) with ~5 KB of realistic data each (an
``enforce`` result: a dozen controls with metric values, group counts and confidence
intervals) in a temp dir, then times:

- ``list(store.records())`` reading id/kind/created/summary of every record (median of
  several runs) against the naive peer measured in the same run: ``json.load`` of every
  record file (what listing would cost without the index);
- ``store.verify()`` (opens and re-hashes every record);
- ``store.append()`` on the full store (fsync included), median of 50.

Each figure is printed beside the old code path measured in the same run (the old
``records()``, which parsed the whole index, and the old ``verify()``, frozen in
``benchmarks/_baseline_verify.py``). Usage:
``.venv/bin/python benchmarks/bench_evidence.py [N] [--no-naive] [--v1]`` (N up to 1e5;
above 20,000 records the store is written directly, see ``build``; ``--v1`` also builds
the same records in the old ``vl_jupyter.evidence/1`` format and times verify() of it). The build uses the real
``append()`` with ``os.fsync`` stubbed out (durability is not what is measured there;
the append timing below runs with fsync).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from unittest import mock

import _baseline_verify  # the pre-checkpoint verify(), frozen for the same-run comparison

from vl_jupyter.evidence import EvidenceStore, _checkpoint, _files, _seek
from vl_jupyter.evidence._files import index_entry
from vl_jupyter.evidence._jsonable import record_hash, to_jsonable
from vl_jupyter.evidence._record import (
    GENESIS,
    SCHEMA,
    SCHEMA_V1,
    encode_record,
    format_created,
    record_from_entry,
)


def encode_v1(doc: dict) -> bytes:
    """A ``vl_jupyter.evidence/1`` record file, as append() wrote it before /2 (frozen)."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8") + b"\n"


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


def build(root: Path, n: int, *, fast: bool = False, schema: str = SCHEMA) -> EvidenceStore:
    """A store of ``n`` enforce records.

    Default: the real ``append()`` with ``os.fsync`` stubbed out. ``fast`` (benchmark only,
    for 100,000 records): the same bytes written directly -- record files and index lines
    in the store's own format, hash-chained, no lock, no fsync -- about 10x quicker;
    ``schema`` picks the record format it writes (``SCHEMA_V1``: the old one).
    """
    rng = random.Random(0)
    if not fast:
        store = EvidenceStore(root)
        with mock.patch("os.fsync"):
            for i in range(n):
                data = enforce_payload(rng, i)
                passed = sum(c["passed"] for c in data["controls"])
                store.append("enforce", data, summary={"passed": passed, "failed": 12 - passed})
        return store
    records = root / "records"
    records.mkdir(parents=True)
    start = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
    prev = GENESIS
    with open(root / "index.jsonl", "w", encoding="utf-8") as index:
        for i in range(n):
            when = start + dt.timedelta(seconds=i)
            rid = when.strftime("%Y%m%dT%H%M%S%fZ") + f"-{i:08x}"
            data = to_jsonable(enforce_payload(rng, i))
            passed = sum(c["passed"] for c in data["controls"])
            doc = {"schema": schema, "seq": i + 1, "id": rid, "kind": "enforce",
                   "created": format_created(when), "session": f"s{i // 10}",
                   "summary": {"passed": passed, "failed": 12 - passed},
                   "prev_hash": prev, "data": data}  # fmt: skip
            doc["hash"] = prev = record_hash(doc)
            name = f"{i + 1:08d}_{rid}.json"
            path = records / name
            path.write_bytes(encode_record(doc) if schema == SCHEMA else encode_v1(doc))
            path.chmod(0o444)
            entry = index_entry(doc, name)
            index.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
    return EvidenceStore(root)


def peak_mib(fn) -> tuple[float, object]:
    """Peak Python heap (tracemalloc) while ``fn`` runs, MiB."""
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1] / 2**20, out
    finally:
        tracemalloc.stop()


def timed(fn, repeat: int) -> tuple[float, object]:
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


def list_index(store: EvidenceStore) -> list:
    return [(r.id, r.kind, r.created, r.summary) for r in store.records()]


def list_index_old(store: EvidenceStore) -> list:
    """The old records(): parse the whole index, then walk it backwards."""
    rdir = store.records_dir
    return [
        (r.id, r.kind, r.created, r.summary)
        for r in (
            record_from_entry(e, rdir, checked=True)
            for e in reversed(_files.read_index(store.index_path))
        )
    ]


def newest_old(store: EvidenceStore):
    for entry in reversed(_files.read_index(store.index_path)):
        if entry["kind"] == "enforce":
            return record_from_entry(entry, store.records_dir, checked=True)
    return None


def get_old(store: EvidenceStore, record_id: str):
    """The old get(): a byte search of the whole index for the id."""
    entry = _files.find_entry(store.index_path, record_id)
    return record_from_entry(entry, store.records_dir)


def list_naive(store: EvidenceStore) -> list:
    rows = []
    for path in sorted(store.records_dir.glob("*.json"), reverse=True):
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        rows.append((doc["id"], doc["kind"], doc["created"], doc["summary"]))
    return rows


def main(n: int = 10_000, naive: bool = True, v1: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = build(Path(tmp) / ".venturalitica", n, fast=n > 20_000)
        build_s = time.perf_counter() - t0
        files = list(store.records_dir.iterdir())
        avg_kb = sum(p.stat().st_size for p in files) / len(files) / 1024
        index_mb = store.index_path.stat().st_size / 1e6
        print(
            f"store: {n} records, {avg_kb:.1f} KB/record, index {index_mb:.1f} MB, "
            f"built in {build_s:.1f} s"
        )
        print(f"{'operation':<44} {'new':>10} {'old (same run)':>16}")

        def row(label: str, new_s: float, old_s: float | None, unit: str = "ms") -> None:
            scale = 1e3 if unit == "ms" else 1.0
            old = f"{old_s * scale:14.1f} {unit}" if old_s is not None else f"{'':>16}"
            print(f"{label:<44} {new_s * scale:8.1f} {unit} {old}")

        t_list, rows = timed(lambda: list_index(store), 5)
        t_list_old, rows_old = timed(lambda: list_index_old(store), 5)
        assert rows == rows_old and len(rows) == n
        row(f"list(records()) x{n} (median of 5)", t_list, t_list_old)
        if naive:
            t_naive, listed = timed(lambda: list_naive(store), 1)
            assert len(listed) == n and rows[0][0] == listed[0][0]
            row("  peer: json.load of every record file", t_naive, None)
        t_first, first = timed(lambda: next(store.records(kind="enforce")), 7)
        t_first_old, first_old = timed(lambda: newest_old(store), 7)
        assert first.id == first_old.id
        row("newest record (median of 7)", t_first, t_first_old)
        t_head, _ = timed(store.head, 7)
        row("head() (median of 7)", t_head, None)
        middle = rows[n // 2][0]
        t_get, got = timed(lambda: store.get(middle).data, 7)
        t_get_old, got_old = timed(lambda: get_old(store, middle).data, 7)
        assert got == got_old
        row("get(id).data, middle record (median of 7)", t_get, t_get_old)
        unknown = middle[:-8] + "ffffffff"
        t_miss1, _ = timed(lambda: _seek.find_entry(store.index_path, unknown), 1)
        t_miss, _ = timed(lambda: _seek.find_entry(store.index_path, unknown), 7)
        t_miss_old, _ = timed(lambda: _files.find_entry(store.index_path, unknown), 7)
        row("get(unknown id), first in the process", t_miss1, t_miss_old)
        row("get(unknown id), later (median of 7)", t_miss, t_miss_old)

        (store.root / ".verified.json").unlink(missing_ok=True)
        t_full, result = timed(lambda: store.verify(full=True), 1)
        assert result.ok and result.checked == n, result
        t_old, old = timed(lambda: _baseline_verify.verify_store(store), 1)
        assert old.ok and old.checked == n
        row(f"verify(full=True) x{n}", t_full, t_old, "s")
        m_full, _ = peak_mib(lambda: store.verify(full=True))
        m_old, _ = peak_mib(lambda: _baseline_verify.verify_store(store))
        print(f"{'  peak Python heap (tracemalloc), MiB':<44} {m_full:8.1f}    {m_old:14.1f}")
        # the checkpoint covers records older than its racy window (2 s): wait it out
        time.sleep(
            max(0.0, _checkpoint.RACY_NS / 1e9 - (time.time() - store.index_path.stat().st_mtime))
        )
        store.verify(full=True)
        for i, data in enumerate(enforce_payload(random.Random(5), k) for k in range(10)):
            store.append("enforce", data, summary={"passed": i})
        t_inc, inc = timed(store.verify, 1)
        assert inc.ok and inc.checked == n + 10
        row("verify() after 10 appends (from checkpoint)", t_inc, t_old, "s")

        if v1:  # the same records in the old /1 format, verified by the new code
            old_store = build(Path(tmp) / "v1" / ".venturalitica", n, fast=True, schema=SCHEMA_V1)
            t_v1, res_v1 = timed(lambda: old_store.verify(full=True), 1)
            assert res_v1.ok and res_v1.checked == n
            row(f"verify(full=True) x{n}, /1 records", t_v1, None, "s")

        rng = random.Random(1)
        payloads = [enforce_payload(rng, i) for i in range(50)]
        runs = []
        for data in payloads:
            t0 = time.perf_counter()
            store.append("enforce", data, summary={"passed": 1})
            runs.append(time.perf_counter() - t0)
        print(
            f"append() on {n} records: median {statistics.median(runs) * 1e3:.2f} ms, "
            f"max {max(runs) * 1e3:.2f} ms (50 appends, fsyncs "
            f"{os.environ.get('VL_EVIDENCE_FSYNC') or 'deferred (the default)'})"
        )
        print(f"platform: {sys.platform}, python {sys.version.split()[0]}, cpus {os.cpu_count()}")


if __name__ == "__main__":
    main(
        int(float(sys.argv[1])) if len(sys.argv) > 1 and sys.argv[1][0].isdigit() else 10_000,
        "--no-naive" not in sys.argv,
        "--v1" in sys.argv,
    )
