"""Tracker sync to MLflow on a temporary sqlite store: what is logged, read back with
MlflowClient; idempotence; the active run; the ledger; secrets; fast failure; CLI; magic."""

from __future__ import annotations

import io
import json
import socket
import time
from pathlib import Path

import pytest

from vl_jupyter import datasets, enforce, evidence, monitor
from vl_jupyter.cli import main
from vl_jupyter.errors import SyncError
from vl_jupyter.trackers import resolve_settings, sync, sync_status, targets

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

POLICY = datasets.policy_path("german_credit_model")
FAKE_WANDB_KEY = "wandb-fake-key-0123456789abcdef0123456789abcdef"
FAKE_MLFLOW_TOKEN = "mlflow-fake-token-9f8e7d6c5b4a39281706"


def make_evidence(root: Path, sessions: int = 2) -> list[str]:
    """``sessions`` monitored blocks, each with one enforce record inside; returns ids."""
    frame = datasets.load_german_credit(derived=True)
    frame["prediction"] = frame["class"].where(frame.index % 7 != 0, 3 - frame["class"])
    for i in range(sessions):
        with monitor(f"train{i}", evidence_dir=root, sample=False):
            enforce(
                frame,
                POLICY,
                target="class",
                prediction="prediction",
                gender="gender",
                age="age",
                n_boot=20,
                evidence_dir=root,
            )
    return [r.id for r in evidence.records(root=root)][::-1]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder as the working directory, with no tracker settings inherited."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "WANDB_PROJECT", "WANDB_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("VL_EVIDENCE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def store(project):
    root = project / ".venturalitica"
    make_evidence(root)
    return root


def client_for(project: Path) -> MlflowClient:
    return MlflowClient(resolve_settings(project_dir=project)["mlflow_tracking_uri"])


def all_artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path):
        found.extend(all_artifacts(client, run_id, item.path) if item.is_dir else [item.path])
    return found


def test_sync_logs_every_metric_param_tag_and_artifact(project, store):
    result = sync("mlflow")
    records = list(evidence.records(root=store))[::-1]
    pushed = [r for r in records if r.kind != "sync"]
    assert [s.record_id for s in result.synced] == [r.id for r in pushed]
    assert len(result.runs) == 2  # one run per evidence session
    client = client_for(project)
    uri = resolve_settings(project_dir=project)["mlflow_tracking_uri"]
    for run_info in result.runs:
        run = client.get_run(run_info["run_id"])
        exp = run.info.experiment_id
        assert run_info["url"] == f"{uri}/#/experiments/{exp}/runs/{run.info.run_id}"
        assert run.info.status == "FINISHED"
        mine = [r for r in pushed if r.id in run_info["records"]]
        enf = next(r for r in mine if r.kind == "enforce")
        tel = next(r for r in mine if r.kind == "telemetry")
        metrics, params, tags = run.data.metrics, run.data.params, run.data.tags
        for res in enf.data["results"]:
            cid = res["control_id"]
            assert metrics[f"vl.{cid}.value"] == pytest.approx(res["actual_value"])
            assert metrics[f"assurance.{cid}.score"] == (1.0 if res["passed"] else 0.0)
            assert f"vl.{cid}.passed" not in metrics  # one value, one name
            assert tags[f"vl.{cid}.status"] == res["status"]
        assert metrics["compliance_score"] == pytest.approx(enf.data["score"])
        assert metrics["vl.wall_s"] == pytest.approx(tel.data["wall_s"])
        assert metrics["vl.energy_kwh"] == pytest.approx(tel.data["energy_kwh"])
        assert metrics["vl.co2e_g"] == pytest.approx(tel.data["co2e_g"])
        assert metrics["vl.peak_rss_mb"] == pytest.approx(tel.data["peak_rss_bytes"] / 2**20)
        policy = enf.data["policy"]
        assert params["vl.policy.title"] == policy["title"] == "German credit model audit"
        assert params["vl.policy.version"] == policy["version"]
        assert params["vl.policy.hash"] == policy["sha256"]
        assert tags["vl.status"] == enf.data["status"] and tags["vl.source"] == "vl_jupyter"
        assert tags["vl.evidence.session"] == enf.session
        assert int(tags["vl.evidence.head_seq"]) >= max(r.seq for r in mine)
        anchor = next(r for r in records if r.seq == int(tags["vl.evidence.head_seq"]))
        assert tags["vl.evidence.head_hash"] == anchor.hash  # the external anchor
        files = set(all_artifacts(client, run.info.run_id))
        assert files == {
            f"vl_evidence/records/{enf.file}",
            f"vl_evidence/records/{tel.file}",
            "vl_evidence/results.json",
            "vl_evidence/control_keys.json",
            f"vl_evidence/trace_{tel.data['name']}.json",
            "policy_snapshot/german_credit_model.yaml",
            f"vl_evidence/{enf.data['policy']['text_file']}",  # the blob the record names
            "vl_evidence/report.html",
        }
        local = Path(client.download_artifacts(run.info.run_id, "", str(project / "dl" / exp)))
        assert (local / "vl_evidence/records" / enf.file).read_bytes() == enf.path.read_bytes()
        assert (
            local / "policy_snapshot/german_credit_model.yaml"
        ).read_text() == POLICY.read_text()
        blob = local / "vl_evidence" / enf.data["policy"]["text_file"]  # beside its record
        assert blob.read_bytes() == POLICY.read_bytes()
        results = json.loads((local / "vl_evidence/results.json").read_text())
        assert [r["control_id"] for r in results] == [r["control_id"] for r in enf.data["results"]]
        assert "power" in results[0]  # the Venturalítica results.json shape
        html = (local / "vl_evidence/report.html").read_text()
        assert "vl-report-table" in html and "<script" not in html and enf.id in html


def test_resync_creates_nothing_and_force_relogs_into_the_same_run(project, store):
    first = sync("mlflow")
    client = client_for(project)
    exp = client.get_experiment_by_name(project.name)
    assert len(client.search_runs([exp.experiment_id])) == 2
    again = sync("mlflow")
    assert again.synced == [] and sorted(again.skipped) == sorted(s.record_id for s in first.synced)
    assert len(client.search_runs([exp.experiment_id])) == 2
    forced = sync("mlflow", force=True)
    assert {r["run_id"] for r in forced.runs} == {r["run_id"] for r in first.runs}
    assert len(client.search_runs([exp.experiment_id])) == 2
    # a new record of an already-synced session goes to that session's run
    session = first.runs[0]["records"][0]
    sid = evidence.get(session, root=store).session
    with evidence.session(sid):
        evidence.append("review", {"decision": "accept", "by": "auditor"}, root=store)
    later = sync("mlflow")
    assert [r["run_id"] for r in later.runs] == [first.runs[0]["run_id"]]
    assert len(client.search_runs([exp.experiment_id])) == 2


def test_ledger_is_evidence_and_sync_status_reads_it(project, store):
    result = sync("mlflow", ids=None)
    status = sync_status(store)
    assert set(status) == {s.record_id for s in result.synced}
    one = status[result.synced[0].record_id]["mlflow"]
    assert one["run_id"] == result.synced[0].run_id and one["url"] == result.synced[0].url
    assert one["location"].startswith("sqlite:///") and one["synced_at"].endswith("Z")
    ledger = list(evidence.records("sync", root=store))
    # per run: an intent written before logging, then the record of what was logged
    states = sorted(r.summary.get("state", "logged") for r in ledger)
    assert states == ["intent", "intent", "logged", "logged"] and evidence.verify(store).ok
    # sync records are never pushed as evidence themselves
    assert all(s.record_id not in {r.id for r in ledger} for s in result.synced)
    assert sync("mlflow", ids=[r.id for r in ledger]).synced == []


def test_only_the_given_ids_are_synced(project, store):
    ids = [r.id for r in evidence.records("enforce", root=store)]
    result = sync("mlflow", ids=ids[:1])
    assert [s.record_id for s in result.synced] == ids[:1]


def test_an_active_run_on_the_main_thread_receives_the_evidence(project, store):
    mlflow.set_tracking_uri(resolve_settings(project_dir=project)["mlflow_tracking_uri"])
    try:
        with mlflow.start_run() as active:
            mlflow.log_param("model", "logreg")
            result = sync("mlflow")
            assert {r["run_id"] for r in result.runs} == {active.info.run_id}
            assert mlflow.active_run().info.run_id == active.info.run_id  # still running
            run = MlflowClient().get_run(active.info.run_id)
            assert run.info.status == "RUNNING" and run.data.params["model"] == "logreg"
            assert "compliance_score" in run.data.metrics
    finally:
        mlflow.set_tracking_uri(None)


def test_no_secret_is_written_anywhere(project, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", FAKE_WANDB_KEY)
    (project / ".env").write_text(f"MLFLOW_TRACKING_TOKEN={FAKE_MLFLOW_TOKEN}\n")
    root = project / ".venturalitica"
    make_evidence(root, sessions=1)
    # a careless producer puts a secret into evidence: the uploaded copies are redacted
    evidence.append("note", {"text": f"token {FAKE_MLFLOW_TOKEN}"}, root=root)
    result = sync("mlflow")
    assert len(result.synced) == 3
    import os

    assert "MLFLOW_TRACKING_TOKEN" not in os.environ  # .env is scoped to the sync
    uploaded = [p for p in (project / "mlartifacts").rglob("*") if p.is_file()]
    assert uploaded
    for path in uploaded:
        text = path.read_bytes()
        assert FAKE_WANDB_KEY.encode() not in text and FAKE_MLFLOW_TOKEN.encode() not in text
    for path in root.rglob("*"):
        if path.is_file() and path.name != next(evidence.records("note", root=root)).file:
            assert FAKE_MLFLOW_TOKEN.encode() not in path.read_bytes(), path
            assert FAKE_WANDB_KEY.encode() not in path.read_bytes(), path
    db = (project / "mlflow.db").read_bytes()
    assert FAKE_WANDB_KEY.encode() not in db and FAKE_MLFLOW_TOKEN.encode() not in db
    assert all(FAKE_WANDB_KEY not in v for v in resolve_settings().values() if v)


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_dead_server_fails_fast_and_leaves_records_pending(project, store):
    ids = [r.id for r in evidence.records(root=store)][::-1]
    dead = _dead_url()
    started = time.monotonic()
    with pytest.raises(SyncError) as caught:
        sync("mlflow", settings={"mlflow_tracking_uri": dead})
    assert time.monotonic() - started < 10
    err = caught.value
    assert err.target == "mlflow" and err.pending == ids and err.code == "SYNC_FAILED"
    host = dead.removeprefix("http://")
    assert str(err).startswith(
        f"cannot sync to mlflow at {dead}: nothing is listening at {host} (connection refused);"
    )
    assert "4 record(s) left pending" in str(err)
    assert list(evidence.records("sync", root=store)) == []
    assert len(sync("mlflow").synced) == 4  # a reachable tracker later: all go


def test_targets_answers_within_seconds_even_for_a_dead_server(project):
    started = time.monotonic()
    found = {t.name: t for t in targets({"mlflow_tracking_uri": _dead_url()})}
    assert time.monotonic() - started < 3.5
    assert found["mlflow"].mode == "server" and not found["mlflow"].reachable
    assert found["mlflow"].reason.startswith("nothing is listening at 127.0.0.1:")
    assert found["wandb"].mode == "offline" and found["wandb"].reachable
    local = {t.name: t for t in targets()}["mlflow"]
    assert local.reachable and local.mode == "sqlite"


def test_settings_precedence(project, monkeypatch):
    (project / "vl_jupyter.yaml").write_text(
        "trackers:\n  mlflow_experiment: from-config\n  wandb_project: cfg-project\n"
    )
    (project / ".env").write_text("export WANDB_PROJECT='from-dotenv'\n")
    got = resolve_settings()
    assert got["mlflow_experiment"] == "from-config" and got["wandb_project"] == "from-dotenv"
    assert got["mlflow_tracking_uri"] == f"sqlite:///{project / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    assert resolve_settings()["mlflow_experiment"] == "from-env"
    assert resolve_settings({"mlflow_experiment": "explicit"})["mlflow_experiment"] == "explicit"
    assert resolve_settings()["wandb_mode"] == "offline"  # no API key anywhere
    with pytest.raises(ValueError, match="unknown tracker setting"):
        resolve_settings({"wandb_key": "x"})


def test_cli_sync_exit_codes(project, store, capsys):
    out = io.StringIO()
    assert main(["sync", "--to", "mlflow", "--json"], out=out) == 0
    done = json.loads(out.getvalue())
    assert len(done["synced"]) == 4 and len(done["runs"]) == 2
    out = io.StringIO()
    assert main(["sync", "--to", "mlflow"], out=out) == 0
    assert "synced 0 record(s) to 0 run(s), 4 already synced" in out.getvalue()
    code = main(["sync", "--to", "mlflow", "--tracking-uri", _dead_url()], out=io.StringIO())
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot sync to mlflow at http://127.0.0.1:")
    assert main(["sync", "--to", "neptune"], out=io.StringIO()) == 2


def test_magic_syncs_and_shows_errors_as_one_line(project, store):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    from vl_jupyter.notebook import load_ipython_extension, unload_ipython_extension

    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    try:
        result = ip.run_line_magic("vl_sync", "mlflow")  # the magics keep no .result
        assert len(result.synced) == 4
        assert "sqlite:///" in result._repr_html_()
        assert ip.run_line_magic("vl_sync", "mlflow -q") is None
        with pytest.raises(UsageError, match=r"^cannot sync to mlflow at http://") as caught:
            ip.run_line_magic("vl_sync", f"mlflow --tracking-uri {_dead_url()}")
        assert "\n" not in str(caught.value)
        with pytest.raises(UsageError, match="unknown sync target"):
            ip.run_line_magic("vl_sync", "neptune")
    finally:
        unload_ipython_extension(ip)
