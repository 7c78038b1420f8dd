"""Tracker sync against a real ``mlflow server`` on 127.0.0.1, started by the test session:
read-back, the server killed mid-sync and restarted, two processes syncing at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from vl_jupyter import evidence
from vl_jupyter.errors import SyncError
from vl_jupyter.trackers import sync

pytest.importorskip("mlflow")
from mlflow import MlflowClient

sys.path.insert(0, str(Path(__file__).parent))
from test_sync_mlflow import all_artifacts, make_evidence

pytestmark = pytest.mark.slow


def logged(root) -> list:
    """The ledger's records of logged groups (not the intents written before logging)."""
    return [r for r in evidence.records("sync", root=root) if r.summary.get("state") != "intent"]


@pytest.fixture(scope="session")
def server(mlflow_server):
    """The session's ``mlflow server`` (tests/conftest.py), shared with other sync tests."""
    return mlflow_server


@pytest.fixture
def project(tmp_path, monkeypatch, server):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "VL_EVIDENCE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    return tmp_path


def test_server_roundtrip_links_and_no_new_run_on_resync(project, server):
    root = project / ".venturalitica"
    make_evidence(root, sessions=1)
    result = sync("mlflow")
    client = MlflowClient(server.url)
    (run_info,) = result.runs
    run = client.get_run(run_info["run_id"])
    exp = run.info.experiment_id
    assert run_info["url"] == f"{server.url}/#/experiments/{exp}/runs/{run.info.run_id}"
    assert run.data.metrics["compliance_score"] > 0 and run.data.params["vl.policy.title"]
    files = all_artifacts(client, run.info.run_id)
    assert (
        "policy_snapshot/german_credit_model.yaml" in files and "vl_evidence/report.html" in files
    )
    assert sync("mlflow").synced == []
    assert len(client.search_runs([exp])) == 1


def test_server_killed_mid_sync_then_recovery(project, server):
    root = project / ".venturalitica"
    ids = make_evidence(root, sessions=3)

    def kill_after_first_run(done: int, total: int) -> None:
        if done == 2:  # the first session's two records are logged and in the ledger
            server.kill()

    started = time.monotonic()
    try:
        with pytest.raises(SyncError) as caught:
            sync("mlflow", progress=kill_after_first_run)
        elapsed = time.monotonic() - started
        err = caught.value
        assert elapsed < 10, elapsed
        assert err.target == "mlflow" and err.pending == ids[2:]
        assert str(err).startswith(f"cannot sync to mlflow at {server.url}: ")
        assert "4 record(s) left pending" in str(err)
        assert [s.record_id for s in err.result.synced] == ids[:2]
        assert len(logged(root)) == 1
    finally:
        server.start()
    later = sync("mlflow")
    assert [s.record_id for s in later.synced] == ids[2:]
    assert sorted(later.skipped) == sorted(ids[:2])
    client = MlflowClient(server.url)
    exp = client.get_experiment_by_name(project.name)
    runs = client.search_runs([exp.experiment_id])
    # one run per session: the run the dying sync created is reused, not duplicated
    assert len(runs) == 3
    assert sorted(r.data.tags["vl.evidence.session"] for r in runs) == sorted(
        {evidence.get(i, root=root).session for i in ids}
    )


SYNC_SCRIPT = """
import sys, vl_jupyter.trackers as t
r = t.sync("mlflow", evidence_dir=sys.argv[1], progress=False)
print(len(r.synced), len(r.skipped))
"""


def test_two_processes_syncing_at_once_log_once(project, server):
    root = project / ".venturalitica"
    make_evidence(root, sessions=2)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SYNC_SCRIPT, str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=project,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    counts = sorted(tuple(map(int, out.split()[-2:])) for out, _ in outs)
    assert counts == [(0, 4), (4, 0)]  # one pushed everything, the other found it done
    client = MlflowClient(server.url)
    exp = client.get_experiment_by_name(project.name)
    assert len(client.search_runs([exp.experiment_id])) == 2
    assert len(logged(root)) == 2
