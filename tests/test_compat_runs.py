"""The run layout Venturalítica users read: runs/<run_id>/, runs/latest, trace_<name>.json with
the code that ran, inputs/outputs hashes, bounded results.json and the run-close writers."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

import vl_jupyter as vl
from vl_jupyter import evidence
from vl_jupyter.errors import VLWarning
from vl_jupyter.notebook import load_ipython_extension, unload_ipython_extension

POLICY = """
vl-policy: 1
title: Balance
controls:
  - {id: balance, metric: class_imbalance, operator: gt, threshold: 0.3, inputs: {target: target}}
"""


def _policy(tmp_path: Path) -> Path:
    path = tmp_path / "balance.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def test_monitor_hashes_inputs_at_start_and_outputs_at_stop(tmp_path, evidence_dir):
    data = tmp_path / "train.csv"
    data.write_bytes(b"a,b\n1,2\n")
    model, absent = tmp_path / "model.bin", tmp_path / "never.bin"
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "s1").write_bytes(b"one")
    with vl.monitor(
        "train", inputs=[data, str(folder)], outputs=[model, absent], sample=False,
        evidence_dir=evidence_dir,
    ) as mon:  # fmt: skip
        data.write_bytes(b"changed during the block")  # the input hash is the one at start
        model.write_bytes(b"weights")
    artifacts = mon.result.data["artifacts"]
    first, shards = artifacts["inputs"]
    assert first["sha256"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert (first["size_bytes"], first["kind"], first["status"]) == (8, "file", "hashed")
    listing = f"s1\0{hashlib.sha256(b'one').hexdigest()}\n".encode()
    assert shards["kind"] == "directory" and shards["files"] == 1
    assert shards["sha256"] == hashlib.sha256(listing).hexdigest()
    out, missing = artifacts["outputs"]
    assert out["sha256"] == hashlib.sha256(b"weights").hexdigest() and out["size_bytes"] == 7
    assert missing == {
        "path": str(absent),
        "absolute_path": str(absent),
        "exists": False,
        "status": "missing",
    }
    trace = json.loads((evidence_dir / "runs" / "latest" / "trace_train.json").read_text())
    assert trace["artifacts"] == artifacts
    with pytest.raises(ValueError, match="takes a list of paths"):
        vl.monitor("x", inputs=3)


def test_trace_of_a_with_block_in_a_script_gives_file_and_line_range(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """\
            import vl_jupyter as vl

            with vl.monitor("fit", sample=False):
                x = 1
                y = x + 1
            print("done")
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(Path(vl.__file__).parents[1])}
    env.pop("VL_EVIDENCE_DIR", None)
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, check=True, timeout=60)
    runs = tmp_path / ".venturalitica" / "runs"
    trace = json.loads((runs / "latest" / "trace_fit.json").read_text())
    code = trace["code_context"]
    assert code["file"] == str(script) and code["kind"] == "block"
    assert (code["line_start"], code["line_end"]) == (3, 5)
    assert code["source"] == 'with vl.monitor("fit", sample=False):\n    x = 1\n    y = x + 1\n'
    assert "contextlib" not in json.dumps(trace)
    assert os.readlink(runs / "latest") == trace["run_id"]


def test_decorated_function_trace_covers_the_function(evidence_dir):
    @vl.monitor("decorated", sample=False, evidence_dir=evidence_dir)
    def train(n):
        return n * 2

    assert train(21) == 42
    code = json.loads((evidence_dir / "trace_decorated.json").read_text())["code_context"]
    assert code["function"].endswith("train") and code["kind"] == "function"
    assert code["line_end"] - code["line_start"] == 2 and code["file"] == __file__
    assert code["source"].strip().startswith("@vl.monitor(") and "return n * 2" in code["source"]


@pytest.fixture
def shell(evidence_dir, monkeypatch):
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(evidence_dir))
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    yield ip
    unload_ipython_extension(ip)


def test_notebook_cell_traces_give_the_cell_never_our_magic(shell, evidence_dir, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/credit.ipynb")
    assert shell.run_cell("%%vl_monitor cellrun -q\nx = 41\nx + 1").result == 42
    evidence.drain_run_files()  # what the next cell would wait for (written after this one)
    cell = json.loads((evidence_dir / "trace_cellrun.json").read_text())["code_context"]
    assert cell["kind"] == "notebook_cell" and cell["cell_source"] == "x = 41\nx + 1\n"
    assert cell["notebook"] == "/home/me/credit.ipynb" and cell["file"] is None
    shell.run_cell("import vl_jupyter as vl\nwith vl.monitor('inwith', sample=False):\n    y = 2")
    inwith = json.loads((evidence_dir / "trace_inwith.json").read_text())["code_context"]
    assert inwith["kind"] == "notebook_cell"
    assert inwith["cell_source"].startswith("import vl_jupyter as vl\nwith vl.monitor('inwith'")
    assert "vl_jupyter" not in str(inwith["file"]) and "contextlib" not in str(inwith["file"])


def test_runs_latest_points_at_the_newest_run_and_falls_back_to_a_file(
    tmp_path, evidence_dir, monkeypatch, german
):
    policy = _policy(tmp_path)
    with vl.monitor("first", sample=False, evidence_dir=evidence_dir) as one:
        report = vl.enforce(german, policy, target="class", ci=False, evidence_dir=evidence_dir)
    with vl.monitor("second", sample=False, evidence_dir=evidence_dir) as two:
        pass
    latest = evidence_dir / "runs" / "latest"
    assert latest.is_symlink() and os.readlink(latest) == two.result.session
    assert evidence.latest_run(evidence_dir) == two.result.session
    run_one = evidence_dir / "runs" / one.result.session
    # the run-close writer of vl_jupyter.export adds the run's BOM and OSCAL (docs/audit.md)
    audit = ["assessment-results.oscal.json", "bom.json"]
    audit += ["poam.oscal.json"] if any(r.status in ("fail", "error") for r in report) else []
    assert sorted(p.name for p in run_one.iterdir()) == sorted(
        ["results.json", "trace_first.json", *audit]
    )

    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks are not allowed here")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    with vl.monitor("third", sample=False, evidence_dir=evidence_dir) as three:
        pass
    assert not latest.is_symlink() and latest.read_text() == three.result.session + "\n"
    assert evidence.latest_run(evidence_dir) == three.result.session


def test_results_files_replace_repeats_and_stay_bounded(
    tmp_path, evidence_dir, monkeypatch, german
):
    policy = _policy(tmp_path)
    monkeypatch.setenv("VL_RESULTS_MAX", "3")

    def check(frame):
        return vl.enforce(frame, policy, target="class", ci=False, evidence_dir=evidence_dir)

    with vl.evidence.session("loop") as sid, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = check(german)
        again = check(german.copy())  # the same check: replaces the first entry
        run_file = evidence_dir / "runs" / sid / "results.json"
        assert [r["evidence_id"] for r in json.loads(run_file.read_text())] == [again.evidence_id]
        later = [check(german.iloc[: 900 - 10 * i]) for i in range(4)]
    entries = json.loads(run_file.read_text())
    assert [e["evidence_id"] for e in entries] == [r.evidence_id for r in later[-3:]]
    top = json.loads((evidence_dir / "results.json").read_text())
    assert top == entries
    dropped = [w for w in caught if "keeps the newest 3 results" in str(w.message)]
    assert len(dropped) == 2  # once per file (the run's and the folder's)
    assert first.evidence_id != again.evidence_id
    # another writer's change is read back, not overwritten from memory
    outside = [{"control_id": "theirs", "result_key": "k-theirs"}]
    run_file.write_text(json.dumps(outside), encoding="utf-8")
    with vl.evidence.session("loop"):
        last = check(german)
    assert [e["control_id"] for e in json.loads(run_file.read_text())] == ["theirs", "balance"]
    assert json.loads(run_file.read_text())[-1]["evidence_id"] == last.evidence_id


def test_registered_run_writers_are_called_at_close(tmp_path, evidence_dir, german):
    policy = _policy(tmp_path)
    seen = []

    def bom(folder, context):
        (folder / "bom.json").write_text("{}", encoding="utf-8")
        seen.append((folder.name, context["name"], [r["control_id"] for r in context["results"]]))

    def broken(folder, context):
        raise RuntimeError("boom")

    evidence.register_run_writer("test-bom", bom)
    evidence.register_run_writer("test-broken", broken)
    try:
        with (
            pytest.warns(VLWarning, match="run writer 'test-broken' failed .*boom"),
            vl.monitor("closing", sample=False, evidence_dir=evidence_dir) as mon,
        ):
            vl.enforce(german, policy, target="class", ci=False, evidence_dir=evidence_dir)
    finally:
        evidence.unregister_run_writer("test-bom")
        evidence.unregister_run_writer("test-broken")
    assert seen == [(mon.result.session, "closing", ["balance"])]
    seen.clear()
    evidence.register_run_writer("test-bom", bom)
    try:
        with vl.monitor("outer", sample=False, evidence_dir=evidence_dir) as outer:
            with vl.monitor("inner", sample=False, evidence_dir=evidence_dir) as inner:
                pass
            assert seen == []  # the inner block closed, the run did not
    finally:
        evidence.unregister_run_writer("test-bom")
    assert inner.result.session == outer.result.session
    assert seen == [(outer.result.session, "outer", [])]  # once, when the run closes
    assert (evidence_dir / "runs" / mon.result.session / "bom.json").is_file()
