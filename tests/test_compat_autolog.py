"""Zero-friction logging: enforce inside the user's MLflow run / wandb.run logs into it at once,
through the sync engine (ledger updated); one setting turns it off; a dead tracker only warns."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import vl_jupyter as vl
from vl_jupyter.errors import VLWarning
from vl_jupyter.trackers import _autolog, autolog, resolve_settings, sync, sync_status

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_sync_mlflow import _dead_url  # noqa: E402

POLICY = vl.datasets.policy_path("german_credit_data")
pytestmark = pytest.mark.slow  # each test starts MLflow on sqlite (2-5 s here)


@pytest.fixture
def project(tmp_path, monkeypatch, german):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "VL_EVIDENCE_DIR", "VL_AUTOLOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_autolog, "_warned", set())
    autolog(None)
    mlflow.set_tracking_uri(resolve_settings(project_dir=tmp_path)["mlflow_tracking_uri"])
    yield tmp_path
    autolog(None)
    if mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def check(german):
    return vl.enforce(german, POLICY, target="class", gender="gender", age="age", n_boot=50)


def test_enforce_in_an_active_mlflow_run_logs_into_it_once(project, german):
    with mlflow.start_run() as active:
        report = check(german)
        run = MlflowClient().get_run(active.info.run_id)
        assert run.info.status == "RUNNING"  # the user's run, left running
    metrics = run.data.metrics
    for r in report:
        assert metrics[f"vl.{r.control_id}.value"] == pytest.approx(r.actual_value)
        assert metrics[f"assurance.{r.control_id}.score"] == (1.0 if r.passed else 0.0)
    assert metrics["compliance_score"] == pytest.approx(report.score)
    status = sync_status()[report.evidence_id]["mlflow"]
    assert status["run_id"] == active.info.run_id
    later = sync("mlflow")  # nothing is logged twice
    assert report.evidence_id in later.skipped
    assert report.evidence_id not in {s.record_id for s in later.synced}


def test_one_setting_turns_it_off(project, german, monkeypatch):
    monkeypatch.setenv("VL_AUTOLOG", "0")
    with mlflow.start_run() as active:
        report = check(german)
    assert MlflowClient().get_run(active.info.run_id).data.metrics == {}
    assert report.evidence_id not in sync_status()
    monkeypatch.delenv("VL_AUTOLOG")
    previous = autolog(False)  # the call's setting wins over the environment
    assert previous is None and _autolog.enabled() is False
    with mlflow.start_run() as second:
        check(german)
    assert MlflowClient().get_run(second.info.run_id).data.metrics == {}
    with pytest.raises(TypeError):
        autolog("yes")


def test_a_dead_tracker_warns_once_and_the_record_stays_pending(project, german):
    live = mlflow.get_tracking_uri()
    with mlflow.start_run():
        mlflow.set_tracking_uri(_dead_url())
        try:
            started = time.monotonic()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                first, second = check(german), check(german)
            assert time.monotonic() - started < 15
        finally:
            mlflow.set_tracking_uri(live)
    told = [
        w for w in caught if issubclass(w.category, VLWarning) and "not logged" in str(w.message)
    ]
    assert len(told) == 1
    assert "stays pending: vl.sync('mlflow') logs it later" in str(told[0].message)
    assert first.evidence_id and second.evidence_id  # enforce returned, evidence written
    assert vl.evidence.get(first.evidence_id).kind == "enforce"
    assert first.evidence_id not in sync_status() and second.evidence_id not in sync_status()


def test_runs_of_our_own_are_named_after_the_notebook_and_policy(project, german, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(project / "credit_audit.ipynb"))
    with vl.monitor("fit", sample=False) as mon:
        check(german)
    result = sync("mlflow")
    run = MlflowClient().get_run(result.runs[0]["run_id"])
    assert run.info.run_name == "credit_audit · German credit data audit"
    assert run.data.tags["vl.evidence.session"] == mon.result.session  # the id, still there


def test_enforce_never_imports_a_tracker(tmp_path):
    code = (
        "import sys, vl_jupyter as vl\n"
        "df = vl.datasets.load_german_credit(derived=True)\n"
        "vl.enforce(df, vl.datasets.policy_path('german_credit_data'), target='class',"
        " gender='gender', age='age', n_boot=20)\n"
        "print(sorted(m for m in ('mlflow', 'wandb', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(vl.__file__).parents[1])},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_enforce_in_a_wandb_run_logs_into_it_and_leaves_it_running(tmp_path, monkeypatch, german):
    wandb = pytest.importorskip("wandb")
    for name in ("WANDB_API_KEY", "WANDB_PROJECT", "WANDB_ENTITY", "VL_EVIDENCE_DIR", "VL_AUTOLOG"):
        monkeypatch.delenv(name, raising=False)
    for name, sub in (("WANDB_DIR", ""), ("WANDB_DATA_DIR", "d"), ("WANDB_CACHE_DIR", "c")):
        monkeypatch.setenv(name, str(tmp_path / sub))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.chdir(tmp_path)
    user = wandb.init(project="mine", mode="offline")
    try:
        report = check(german)
        assert wandb.run is user  # never finished by us
        status = sync_status()[report.evidence_id]["wandb"]
        assert status["run_id"] == user.id
        assert report.evidence_id in sync("wandb").skipped
    finally:
        user.finish()


def test_a_disabled_wandb_run_is_not_called_synced(tmp_path, monkeypatch, german):
    wandb = pytest.importorskip("wandb")
    monkeypatch.delenv("VL_EVIDENCE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    run = wandb.init(mode="disabled")
    try:
        assert "wandb" not in _autolog.active_runs()
        report = check(german)
        assert report.evidence_id not in sync_status()  # pending, not falsely "synced"
    finally:
        run.finish()
