"""The tracker registry: a toy tracker registered in one call syncs through the real engine
(ledger, idempotence, failure), and every place that names trackers reads the registry."""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter.cli import main
from vl_jupyter.errors import SyncError, TrackerSettingsError, UnknownTargetError
from vl_jupyter.trackers import (
    AnchorCheck,
    Group,
    TargetInfo,
    Tracker,
    Unavailable,
    register_tracker,
    resolve_settings,
    sync,
    sync_status,
    targets,
    tracker_names,
    unregister_tracker,
)

POLICY = """
apiVersion: v1
kind: Policy
metadata: {name: toy}
controls:
  - id: completeness
    metric: completeness
    threshold: 0.9
    operator: ">="
"""

#: What the toy tracker received, run id -> bundles (a real tracker would upload them).
LOGGED: dict[str, list] = {}


class ToyTarget:
    """The whole adapter of the docs' "How to add a tracker" example."""

    name = "toy"

    def __init__(self, settings, run=None):
        self.location = settings["toy_folder"]
        self.refuse = settings["toy_refuse"] == "yes"

    @contextmanager
    def env(self):
        yield

    def prepare(self):
        if self.refuse:
            raise Unavailable("the toy tracker refuses today")

    def group(self, records, ledger, force):
        return [Group(records)]  # one new run per sync

    def log(self, group, bundle, on_created):
        run_id = f"run{len(LOGGED) + 1}"
        on_created(run_id)
        LOGGED[run_id] = [bundle]
        return run_id, self.run_url(run_id)

    def intent_run(self, intent, run_id):
        return None

    def run_url(self, run_id):
        return f"toy://{self.location}/{run_id}"

    def close_run(self, run_id):
        pass

    def messages(self):
        return []


def toy_anchors(store, settings):
    """``verify --against toy``: the head each logged bundle carried."""
    out = AnchorCheck("toy", settings["toy_folder"])
    for run_id, bundles in LOGGED.items():
        tags = bundles[-1].tags
        out.add(store, run_id, tags["vl.evidence.head_seq"], tags["vl.evidence.head_hash"])
    return out


def toy_info(settings):
    return TargetInfo("toy", settings["toy_folder"], True, None, "memory")


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VL_EVIDENCE_DIR", raising=False)
    LOGGED.clear()
    register_tracker(
        "toy",
        ToyTarget,
        info=toy_info,
        settings={"toy_folder": "TOY_FOLDER", "toy_refuse": None},
        defaults=lambda folder, name, env: {"toy_folder": str(folder), "toy_refuse": "no"},
        request_settings=("toy_folder",),
        anchors=toy_anchors,
    )
    yield tmp_path
    unregister_tracker("toy")


def _evidence(root: Path) -> list[str]:
    policy = root.parent / "toy.yaml"
    policy.write_text(POLICY)
    vl.enforce(pd.DataFrame({"x": [1, 2, None, 4]}), policy, evidence_dir=root, name="first")
    vl.enforce(pd.DataFrame({"x": [1, 2, 3, 4]}), policy, evidence_dir=root, name="second")
    return [r.id for r in vl.evidence.records(root=root)]


def test_toy_tracker_syncs_through_the_real_engine(toy):
    root = toy / ".venturalitica"
    ids = _evidence(root)
    assert isinstance(ToyTarget({"toy_folder": "x", "toy_refuse": "no"}), Tracker)
    assert tracker_names() == ("mlflow", "wandb", "toy")

    result = sync("toy", evidence_dir=root)
    assert [r["run_id"] for r in result.runs] == ["run1"]
    assert sorted(s.record_id for s in result.synced) == sorted(ids)
    bundle = LOGGED["run1"][0]
    assert bundle.tags["vl.evidence.head_seq"] == "2"
    assert {k for k in bundle.latest() if k.endswith(".completeness.value")}
    status = sync_status(root)
    assert {rid: list(t) for rid, t in status.items()} == {rid: ["toy"] for rid in ids}
    assert status[ids[0]]["toy"]["url"] == f"toy://{toy}/run1"

    again = sync("toy", evidence_dir=root)  # idempotent: the ledger says both went
    assert again.runs == [] and sorted(again.skipped) == sorted(ids)
    assert list(LOGGED) == ["run1"]


def test_toy_tracker_settings_are_resolved_and_its_failure_leaves_records_pending(toy, monkeypatch):
    root = toy / ".venturalitica"
    ids = _evidence(root)
    monkeypatch.setenv("TOY_FOLDER", "/elsewhere")
    resolved = resolve_settings()
    assert resolved["toy_folder"] == "/elsewhere" and resolved["toy_refuse"] == "no"
    assert [t.name for t in targets()] == ["mlflow", "wandb", "toy"]
    with pytest.raises(TrackerSettingsError, match=r"unknown tracker setting\(s\) \['toy_x'\]"):
        resolve_settings({"toy_x": 1})

    with pytest.raises(SyncError) as caught:
        sync("toy", evidence_dir=root, settings={"toy_refuse": "yes"})
    assert str(caught.value) == (
        "cannot sync to toy at /elsewhere: the toy tracker refuses today; 2 record(s) left "
        "pending (fix the cause and sync again: nothing is lost)"
    )
    assert sorted(caught.value.pending) == sorted(ids) and LOGGED == {}


def test_the_cli_and_the_server_checks_read_the_registry(toy):
    from vl_jupyter.server._jobs import check_settings, check_target

    root = toy / ".venturalitica"
    _evidence(root)
    out = io.StringIO()
    assert main(["sync", "--to", "toy", "--evidence-dir", str(root), "--no-progress"], out) == 0
    assert list(LOGGED) == ["run1"]
    assert check_target("mlflow,toy") == "mlflow,toy"

    out = io.StringIO()
    assert main(["verify", "--against", "toy", "--evidence-dir", str(root)], out) == 0
    assert f"anchors in toy at {toy}: OK\n  ok run run1: seq 2 hash " in out.getvalue()
    LOGGED["run1"][0].tags["vl.evidence.head_hash"] = "0" * 64  # the tracker disagrees
    out = io.StringIO()
    assert main(["verify", "--against", "toy", "--evidence-dir", str(root)], out) == 1
    assert f"anchors in toy at {toy}: MISMATCH\n  problem run run1: it anchors seq 2" in (
        out.getvalue()
    )
    assert check_settings({"toy_folder": "here"}) == {"toy_folder": "here"}


def test_unknown_targets_name_the_registered_ones():
    with pytest.raises(UnknownTargetError) as caught:
        sync("neptune")
    assert caught.value.code == "UNKNOWN_TARGET" and isinstance(caught.value, ValueError)
    assert str(caught.value) == ("unknown sync target neptune; use mlflow, wandb or mlflow,wandb")
    with pytest.raises(UnknownTargetError, match="unknown tracker 'neptune': use mlflow or wandb"):
        vl.trackers.check_anchors("neptune")


def test_a_registration_is_checked():
    fake = dict(info=toy_info, defaults=lambda f, n, e: {})
    with pytest.raises(ValueError, match=r"setting keys must start with 'bad_': \['other'\]"):
        register_tracker("bad", ToyTarget, settings={"other": None}, **fake)
    with pytest.raises(ValueError, match="lower-case identifier, got 'Bad Name'"):
        register_tracker("Bad Name", ToyTarget, settings={}, **fake)
    assert tracker_names() == ("mlflow", "wandb")
