"""Tracker sync to W&B offline, read back by decoding the run's ``.wandb`` record log:
history, summary, config, the artifact manifest; the user's run is never finished."""

from __future__ import annotations

import json
import struct
import sys
import time
from pathlib import Path

import pytest

from vl_jupyter import evidence
from vl_jupyter.errors import SyncError
from vl_jupyter.trackers import sync

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2 as pb  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_sync_mlflow import FAKE_MLFLOW_TOKEN, FAKE_WANDB_KEY, _dead_url, make_evidence  # noqa: E402

pytestmark = pytest.mark.slow
BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_wandb(path: Path) -> list[pb.Record]:
    """Decode a ``.wandb`` file: a 7-byte header (``:W&B``, magic, version), then 32 KiB
    blocks of chunks, each ``crc32 (u32) | length (u16) | type (u8) | payload``; a record
    is one FULL chunk or FIRST, MIDDLE..., LAST; a block's last < 7 bytes are padding."""
    data = path.read_bytes()
    ident, magic, _version = struct.unpack("<4sHB", data[:7])
    assert (ident, magic) == (b":W&B", 0xBEE1)
    records, pos, parts = [], 7, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0:  # zero padding up to the next block
            pos += left
            continue
        payload = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (FULL, FIRST):
            parts = payload
        else:
            parts += payload
        if kind in (FULL, LAST):
            rec = pb.Record()
            rec.ParseFromString(parts)
            records.append(rec)
    return records


def decoded(records: list[pb.Record]) -> dict:
    out: dict = {"history": [], "summary": {}, "config": {}, "artifacts": [], "exit": 0}
    for rec in records:
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            out["history"].append(
                {i.nested_key[0] or i.key: json.loads(i.value_json) for i in rec.history.item}
            )
        elif kind == "summary":
            for u in rec.summary.update:
                keys = [u.key] if u.key else list(u.nested_key)
                node = out["summary"]
                for key in keys[:-1]:
                    node = (
                        node[key] if isinstance(node.get(key), dict) else node.setdefault(key, {})
                    )
                    if not isinstance(node, dict):
                        node = {}
                node[keys[-1]] = json.loads(u.value_json)
        elif kind == "config":
            for u in rec.config.update:
                out["config"][u.key] = json.loads(u.value_json)
        elif kind == "artifact":
            out["artifacts"].append(rec.artifact)
        elif kind == "exit":
            out["exit"] += 1
    return out


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_PROJECT", "WANDB_ENTITY", "VL_EVIDENCE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc login
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_file(url: str) -> Path:
    (found,) = Path(url).glob("*.wandb")
    return found


def finished_run(url: str, timeout_s: float = 30.0) -> dict:
    """The decoded run log once it is complete. wandb-core writes the log in its own
    process and may append the last records, ``exit`` last of all, after ``finish()`` has
    returned; on a busy machine that lag is seconds. So wait for the ``exit`` record (the
    end of a finished run's log) instead of reading whatever is on disk at that moment."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = decoded(read_wandb(run_file(url)))
        if got["exit"] or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_offline_sync_logs_metrics_summary_table_and_bundle(project):
    root = project / ".venturalitica"
    ids = make_evidence(root, sessions=1)
    result = sync("wandb")
    (run,) = result.runs
    assert Path(run["url"]).name.startswith("offline-run-")
    assert result.messages == [
        f"W&B ran offline (no API key): upload later with `wandb sync {run['url']}`"
    ]
    got = finished_run(run["url"])
    enf = next(evidence.records("enforce", root=root))
    tel = next(evidence.records("telemetry", root=root))
    rows = {h.get("vl.evidence_seq"): h for h in got["history"]}
    for res in enf.data["results"]:
        cid = res["control_id"]
        assert rows[enf.seq][f"vl.{cid}.value"] == pytest.approx(res["actual_value"])
        assert rows[enf.seq][f"assurance.{cid}.score"] == (1.0 if res["passed"] else 0.0)
        assert f"vl.{cid}.passed" not in got["summary"]  # one value, one name
        assert got["summary"][f"vl.{cid}.status"] == res["status"]
    assert rows[tel.seq]["vl.wall_s"] == pytest.approx(tel.data["wall_s"])
    assert got["summary"]["compliance_score"] == pytest.approx(enf.data["score"])
    # the anchor is the head before the sync wrote its intent and its ledger record
    done, intent = list(evidence.EvidenceStore(root).records())[:2]
    assert (intent.summary["state"], done.prev_hash) == ("intent", intent.hash)
    assert got["summary"]["vl.evidence.head_hash"] == intent.prev_hash
    assert got["config"]["vl.policy.hash"] == enf.data["policy"]["sha256"]
    assert got["summary"]["vl.controls"]["nrows"] == len(enf.data["results"])
    bundle = next(a for a in got["artifacts"] if a.name == "compliance-bundle")
    assert bundle.type == "evidence"
    paths = {e.path for e in bundle.manifest.contents}
    assert paths == {
        f"vl_evidence/records/{enf.file}",
        f"vl_evidence/records/{tel.file}",
        "vl_evidence/results.json",
        "vl_evidence/control_keys.json",
        f"vl_evidence/trace_{tel.data['name']}.json",
        "policy_snapshot/german_credit_model.yaml",
        f"vl_evidence/{enf.data['policy']['text_file']}",  # the blob the record names
        "vl_evidence/report.html",
    }
    assert got["exit"] == 1  # our own run is finished
    assert sorted(sync("wandb").skipped) == sorted(ids)


def test_the_users_active_run_is_used_and_not_finished(project):
    root = project / ".venturalitica"
    make_evidence(root, sessions=1)
    user = wandb.init(project="mine", mode="offline")
    try:
        result = sync("wandb")
        assert [r["run_id"] for r in result.runs] == [user.id]
        user.log({"accuracy": 0.75})  # still running
        assert wandb.run is user
    finally:
        user.finish()
    assert result.runs[0]["url"].endswith(user.id)
    got = finished_run(result.runs[0]["url"])
    assert got["exit"] == 1  # only the user's own finish
    assert any("accuracy" in h for h in got["history"])
    assert "compliance_score" in got["summary"]
    assert any(a.name == "compliance-bundle" for a in got["artifacts"])
    assert any(a.name == "policy_snapshot" and a.type == "policy" for a in got["artifacts"])


def test_no_secret_in_any_written_file(project, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_API_KEY", FAKE_WANDB_KEY)
    (project / ".env").write_text(f"MLFLOW_TRACKING_TOKEN={FAKE_MLFLOW_TOKEN}\n")
    make_evidence(project / ".venturalitica", sessions=1)
    result = sync("mlflow,wandb")
    for run in result.runs:  # every file wandb-core writes is on disk before the scan
        if run["target"] == "wandb":
            assert finished_run(run["url"])["exit"] == 1
    checked = 0
    for path in project.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name != ".env":
            payload = path.read_bytes()
            assert FAKE_WANDB_KEY.encode() not in payload, path
            assert FAKE_MLFLOW_TOKEN.encode() not in payload, path
            checked += 1
    assert checked > 20


def test_online_without_a_reachable_server_fails_fast(project, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", FAKE_WANDB_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", _dead_url())  # the W&B cloud, unreachable
    ids = make_evidence(project / ".venturalitica", sessions=1)
    started = time.monotonic()
    with pytest.raises(SyncError) as caught:
        sync("wandb")
    assert time.monotonic() - started < 10
    assert caught.value.target == "wandb" and caught.value.pending == ids
    assert "nothing is listening at 127.0.0.1:" in str(caught.value)
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert len(sync("wandb").synced) == 2  # later (here: offline) it goes through
