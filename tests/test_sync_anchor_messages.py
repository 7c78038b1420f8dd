"""``verify --against mlflow`` holds the store against the head hashes the tracker keeps;
the messages a user reads are one sentence per cause and never act on the terminal."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket

import pytest

from vl_jupyter import evidence
from vl_jupyter.cli import _safe, main
from vl_jupyter.errors import SyncError
from vl_jupyter.trackers import sync

ESC = "\x1b"


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_EXPERIMENT_NAME",
        "VL_EVIDENCE_DIR",
        "WANDB_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fill(root, n=3, value=0):
    for i in range(n):
        evidence.append("review", {"i": i, "v": value}, root=root, session="s1",
                        summary={"decision": "accept_risk"})  # fmt: skip


@pytest.mark.slow
def test_verify_against_mlflow_catches_a_rewritten_chain(project):
    pytest.importorskip("mlflow")
    root = project / ".venturalitica"
    uri = f"sqlite:///{project}/mlflow.db"
    out = io.StringIO()
    _fill(root)
    # nothing synced yet: no anchor is not a pass
    assert main(["verify", "--against", "mlflow", "--tracking-uri", uri], out=out) == 2
    assert "none found (sync the store first)" in out.getvalue()
    sync("mlflow", settings={"mlflow_tracking_uri": uri})
    out = io.StringIO()
    assert main(["verify", "--against", "mlflow", "--tracking-uri", uri], out=out) == 0
    assert "anchors in mlflow at sqlite:///" in out.getvalue() and ": OK" in out.getvalue()
    assert "seq 3 hash" in out.getvalue() and "matches" in out.getvalue()
    # rewrite the whole chain (every hash recomputed, the ledger dropped): verify() alone
    # sees a perfect store; the tracker's anchor does not
    shutil.rmtree(root)
    _fill(root, value=1)
    assert evidence.verify(root=root).ok
    out = io.StringIO()
    assert main(["verify", "--against", "mlflow", "--tracking-uri", uri, "--json"], out=out) == 1
    doc = json.loads(out.getvalue())
    assert doc["ok"] is True and doc["against"]["ok"] is False
    (anchor,) = doc["against"]["anchors"]
    assert anchor["seq"] == 3 and "the chain was rewritten after that sync" in anchor["message"]
    # a shortened chain: the anchored seq is gone
    shutil.rmtree(root)
    _fill(root, n=2)
    out = io.StringIO()
    assert main(["verify", "--against", "mlflow", "--tracking-uri", uri], out=out) == 1
    assert "it anchors seq 3, but the store ends at seq 2: records were deleted" in out.getvalue()


def test_verify_against_wandb_offline_says_why_it_cannot(project, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    _fill(project / ".venturalitica", 1)
    out = io.StringIO()
    assert main(["verify", "--against", "wandb"], out=out) == 2
    assert "W&B is offline here" in out.getvalue()


def test_a_dead_tracker_is_one_plain_sentence(project):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _fill(project / ".venturalitica", 1)
    uri = f"http://127.0.0.1:{port}"
    with pytest.raises(SyncError) as info:
        sync("mlflow,wandb", settings={"mlflow_tracking_uri": uri, "wandb_mode": "disabled"})
    assert str(info.value) == (
        f"cannot sync to mlflow at {uri}: nothing is listening at 127.0.0.1:{port} "
        "(connection refused); cannot sync to wandb at -/"
        f"{project.name}: wandb_mode is 'disabled': nothing would be logged; 1 record(s) "
        "left pending (fix the cause and sync again: nothing is lost)"
    )
    assert "Errno" not in str(info.value) and str(info.value).count("left pending") == 1


@pytest.mark.slow
def test_the_wandb_offline_message_names_the_real_reason(project, monkeypatch):
    pytest.importorskip("wandb")
    _fill(project / ".venturalitica", 1)
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    result = sync("wandb", settings={"wandb_mode": "offline"})
    (message,) = result.messages
    assert message.startswith("W&B ran offline (wandb_mode is offline): upload later with")
    assert "no API key" not in message


def test_terminal_escapes_in_user_text_are_shown_not_obeyed():
    painted = f"{ESC}[32m✔ PASS{ESC}[0m \u202eevil\x07"
    assert _safe(painted) == "\\x1b[32m✔ PASS\\x1b[0m \\u202eevil\\x07"
    assert _safe("line one\n\tline two") == "line one\n\tline two"


def test_the_cli_never_prints_an_escape_from_a_policy_or_a_store(project, tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        'title: "Audit \\e[32m all green \\e[0m"\nversion: "1"\ncontrols:\n'
        '  - id: "acc\\e[2K"\n    metric: accuracy\n    operator: ">"\n    threshold: 0.5\n'
        "    inputs: {target: target, prediction: prediction}\n"
    )
    out = io.StringIO()
    assert main(["policy", str(policy)], out=out) == 0
    text = out.getvalue() + capsys.readouterr().err
    assert ESC not in text, text
    assert text.startswith("Audit \\x1b[32m all green \\x1b[0m v1 (native, 1 controls")
    assert "  acc\\x1b[2K " in text
    # a file name in records/ quoted by verify
    root = project / ".venturalitica"
    _fill(root, 1)
    (root / "records" / f"x{ESC}[32mOK.json").write_text("{}")
    out = io.StringIO()
    assert main(["verify", "--evidence-dir", str(root)], out=out) == 1
    assert ESC not in out.getvalue() and "\\x1b[32mOK.json" in out.getvalue()
    assert os.path.exists(root / "records" / f"x{ESC}[32mOK.json")
