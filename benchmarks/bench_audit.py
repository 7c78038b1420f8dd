"""Benchmark signing and auditor exports on a store of N signed enforce records.

Times, on a temp store built with the real ``append()`` (fsync stubbed out while building):

- ``append()`` of one enforce record unsigned vs signed (Ed25519 + DSSE envelope), median
  of 50, fsync included;
- ``vl-jupyter verify``'s signature pass (``signing.verify_signatures``) over the store;
- ``export("oscal")``, ``export("model-card")``, ``export("bundle")`` of the whole store
  (the bundle renders the Annex IV PDF with WeasyPrint);
- ``verify_bundle.py`` on the bundle in a subprocess (what an auditor runs).

Usage: ``.venv/bin/python benchmarks/bench_audit.py [N]`` (default 500; the PDF grows
with N, about a page per enforce record, so keep N modest on a shared machine).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).parent))
from bench_evidence import enforce_payload

from vl_jupyter import signing
from vl_jupyter.evidence import EvidenceStore
from vl_jupyter.export import export


def _payload(rng: random.Random, i: int) -> dict:
    data = enforce_payload(rng, i)
    for r in data.get("results", []):
        r.setdefault("status", "pass" if r.get("passed") else "fail")
    data.setdefault("policy", {"title": "bench policy", "version": "1", "sha256": "ab" * 32})
    data.setdefault("data", {"rows": 1000, "columns": [], "content_hash": "cd" * 32})
    return data


def _median_append(store: EvidenceStore, rng: random.Random, signer) -> float:
    times = []
    for i in range(50):
        data = _payload(rng, i)
        t = time.perf_counter()
        store.append("enforce", data, signer=signer)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(n: int) -> None:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VL_CONFIG_DIR"] = str(Path(tmp) / "config")
        signing.init_key("bench signer")
        root = Path(tmp) / ".venturalitica"
        store = EvidenceStore(root)
        with mock.patch("os.fsync"):
            for i in range(n):
                store.append("enforce", _payload(rng, i))
        print(f"store: {n} signed enforce records")
        unsigned = _median_append(store, rng, False)
        signed = _median_append(store, rng, None)
        print(f"append unsigned  {unsigned * 1e3:8.2f} ms (median of 50, fsync)")
        print(f"append signed    {signed * 1e3:8.2f} ms (+{(signed - unsigned) * 1e3:.2f} ms)")
        t = time.perf_counter()
        result = signing.verify_signatures(root)
        took = time.perf_counter() - t
        print(f"verify signatures {took:7.2f} s for {len(result['signed'])} signed records")
        for fmt in ("oscal", "model-card", "bundle"):
            t = time.perf_counter()
            out = export(fmt, Path(tmp) / fmt, evidence_dir=root)
            size = sum(p.stat().st_size for p in out.files)
            print(f"export {fmt:10} {time.perf_counter() - t:7.2f} s, {size / 2**20:.1f} MiB")
        bundle = Path(tmp) / "bundle" / "audit-bundle.zip"
        script = Path(tmp) / "verify_bundle.py"
        script.write_text(signing.standalone_source())
        t = time.perf_counter()
        run = subprocess.run([sys.executable, "-I", str(script), str(bundle)], capture_output=True)
        print(f"verify_bundle.py {time.perf_counter() - t:7.2f} s (exit {run.returncode})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
