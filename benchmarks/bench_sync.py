"""Tracker sync to a local ``mlflow server``: 100 evidence records, batched vs unbatched.

    .venv/bin/python benchmarks/bench_sync.py [--sessions 50]

Starts ``mlflow server`` on 127.0.0.1 (sqlite backend, proxied artifacts, in a temporary
folder), writes ``2 x sessions`` evidence records (one monitored block with one
``enforce`` inside per session), then measures:

* ``vl_jupyter.trackers.sync("mlflow")``: one run per session, ``log_batch`` for metrics,
  params and tags, one ``log_artifacts`` per run, the ledger record appended;
* a re-sync (nothing to do: ledger only);
* the peer: the same bundles logged with one call per metric, param, tag and file
  (``log_metric``, ``log_param``, ``set_tag``, ``log_artifact``), as a naive
  integration would, into runs of another experiment.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    cmd = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", "1"]
    cmd += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    cmd += ["--artifacts-destination", str(folder / "artifacts")]
    log = open(folder / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env, start_new_session=True)
    started = time.perf_counter()
    while time.perf_counter() - started < 120:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                print(f"mlflow server up in {time.perf_counter() - started:.1f} s at {url}")
                return proc, url
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("mlflow server did not start")


def make_records(root: Path, sessions: int) -> None:
    import vl_jupyter as vl

    frame = vl.datasets.load_german_credit(derived=True)
    frame["prediction"] = frame["class"].where(frame.index % 7 != 0, 3 - frame["class"])
    policy = vl.datasets.policy_path("german_credit_model")
    for i in range(sessions):
        with vl.monitor(f"block{i}", evidence_dir=root, sample=False):
            vl.enforce(
                frame,
                policy,
                target="class",
                prediction="prediction",
                gender="gender",
                age="age",
                n_boot=50,
                evidence_dir=root,
            )


def unbatched(url: str, root: Path) -> tuple[float, int]:
    """The peer: one HTTP call per metric, param, tag and artifact file."""
    from mlflow import MlflowClient

    from vl_jupyter.evidence import EvidenceStore
    from vl_jupyter.trackers import _bundle

    store = EvidenceStore(root)
    records = [r for r in store.records() if r.kind != "sync"][::-1]
    by_session: dict[str, list] = {}
    for rec in records:
        by_session.setdefault(rec.session, []).append(rec)
    client = MlflowClient(url)
    exp = client.create_experiment("unbatched-peer")
    calls = 0
    started = time.perf_counter()
    for group in by_session.values():
        bundle = _bundle.build(store, group, anchor=store.head(), secrets=[])
        run_id = client.create_run(exp).info.run_id
        for m in bundle.metrics:
            client.log_metric(run_id, m.key, m.value, m.timestamp_ms, m.step)
        for k, v in bundle.params.items():
            client.log_param(run_id, k, v)
        for k, v in bundle.tags.items():
            client.set_tag(run_id, k, v)
        with tempfile.TemporaryDirectory() as tmp:
            folder = bundle.write(Path(tmp))
            for rel in bundle.files:
                parent = str(Path(rel).parent)
                client.log_artifact(run_id, str(folder / rel), None if parent == "." else parent)
        client.set_terminated(run_id)
        calls += 3 + len(bundle.metrics) + len(bundle.params) + len(bundle.tags) + len(bundle.files)
    return time.perf_counter() - started, calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50, help="sessions (2 records each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vl-bench-sync-") as tmp:
        folder = Path(tmp)
        proc, url = start_server(folder)
        try:
            os.chdir(folder)
            os.environ["MLFLOW_TRACKING_URI"] = url
            root = folder / ".venturalitica"
            make_records(root, args.sessions)
            n = 2 * args.sessions
            import mlflow  # noqa: F401  (import cost is not the sync's)

            from vl_jupyter.trackers import sync

            started = time.perf_counter()
            result = sync("mlflow", progress=False)
            ours = time.perf_counter() - started
            assert len(result.synced) == n, result
            started = time.perf_counter()
            again = sync("mlflow", progress=False)
            resync = time.perf_counter() - started
            assert again.synced == [] and len(again.skipped) == n
            peer, calls = unbatched(url, root)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
    print(f"records: {n} in {len(result.runs)} runs")
    print(f"sync (batched):   {ours:6.2f} s total, {1000 * ours / n:6.1f} ms per record")
    print(f"re-sync (no-op):  {resync:6.2f} s total, {1000 * resync / n:6.1f} ms per record")
    print(
        f"unbatched peer:   {peer:6.2f} s total, {1000 * peer / n:6.1f} ms per record, "
        f"{calls} calls"
    )
    print(f"peer / ours:      {peer / ours:6.1f}x")


if __name__ == "__main__":
    main()
