"""The enforcement magics in an in-process IPython shell (fast checks of parsing and results)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from vl_jupyter import Report, evidence
from vl_jupyter.datasets import policy_path
from vl_jupyter.notebook import load_ipython_extension, unload_ipython_extension
from vl_jupyter.notebook._shared_magic import policy_source, split_line

AUDIT = "--policy german_credit_data --target class gender=gender age=age --no-ci"


@pytest.fixture
def shell(evidence_dir, monkeypatch, german):
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(evidence_dir))
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    ip.user_ns["df"] = german
    yield ip
    ip.user_ns.pop("df", None)
    unload_ipython_extension(ip)


def test_split_line_keeps_expressions_whole():
    assert split_line("df.assign(prediction = m.predict(X[['a', 'b']])) --name 'a b' g=x") == [
        "df.assign(prediction = m.predict(X[['a', 'b']]))",
        "--name",
        "a b",
        "g=x",
    ]
    assert split_line('x --name "model v2 (reweighed)" --tag \'[a]\'') == [
        "x", "--name", "model v2 (reweighed)", "--tag", "[a]",
    ], "a quoted string is unquoted even when it holds brackets"  # fmt: skip
    with pytest.raises(UsageError, match="unbalanced bracket"):
        split_line("df[(1]")


def test_policy_names_resolve_to_shipped_policies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert policy_source("german_credit_model") == policy_path("german_credit_model")
    (tmp_path / "german_credit_model").write_text("vl-policy: 1")  # a file wins over a name
    assert str(policy_source("german_credit_model")) == "german_credit_model"
    assert policy_source("other.yaml") == "other.yaml"


def test_returns_the_report_and_records_one_enforce(shell, evidence_dir):
    result = shell.run_cell(f"report = %vl_enforce df {AUDIT} --name first\nreport")
    assert isinstance(result.result, Report) and result.result.name == "first"
    (rec,) = evidence.records("enforce", root=evidence_dir)
    assert rec.id == result.result.evidence_id
    bare = shell.run_cell(f"%vl_enforce df {AUDIT}")
    assert isinstance(bare.result, Report)  # shown by IPython: Out[n] and _
    assert shell.run_cell(f"%vl_enforce df {AUDIT};").result is None
    assert shell.run_cell(f"%vl_enforce df {AUDIT} --no-evidence -q").result is None
    assert len(list(evidence.records("enforce", root=evidence_dir))) == 3


def test_options_reach_enforce(shell):
    res = shell.run_cell(
        "r = %vl_enforce df.assign(prediction=df['class']) --policy german_credit_model "
        "--target class --prediction prediction gender=gender age=age --phase validation "
        "--min-group-size 40 --pos-label 1 --no-evidence --no-ci\nr"
    )
    report = res.result
    assert report.phase == "validation" and report.evidence_id is None
    assert report.bindings["prediction"] == "prediction"
    assert report["accuracy"].actual_value == 1.0
    assert report["odds-by-age"].metadata["params"]["min_group_size"] == 40


def test_intersections_and_conflicts(shell):
    res = shell.run_cell(
        "%%vl_enforce df --target class --no-ci --no-evidence\n"
        "vl-policy: 1\ncontrols:\n  - {id: x, metric: group_size_min, operator: ge, threshold: 1,"
        " inputs: {dimension: who}}"
    )
    assert res.result["x"].status == "error"  # 'who' is not bound: an error row, not a crash
    res = shell.run_cell(f"%vl_enforce df {AUDIT} target=age")
    assert "'target' is bound twice (class and age)" in str(res.error_in_exec)
    res = shell.run_cell("%%vl_enforce df --policy german_credit_data\nvl-policy: 1")
    assert "drop --policy" in str(res.error_in_exec)
    res = shell.run_cell("%%vl_enforce df\n\n")
    assert "write the policy (YAML) in the cell body" in str(res.error_in_exec)


def test_blocking_control_shows_the_report_then_stops(shell, evidence_dir):
    res = shell.run_cell(
        "%vl_enforce df.assign(prediction=(df['gender'] == 'male').astype(int)) "
        "--policy german_credit_model --target class --prediction prediction "
        "gender=gender age=age --no-ci"
    )
    assert type(res.error_in_exec) is UsageError
    assert "blocking control(s) did not pass: approvals-by-gender (fail)" in str(res.error_in_exec)
    assert len(list(evidence.records("enforce", root=evidence_dir))) == 1  # evidence first


def test_policy_and_evidence_magics_return_when_assigned(shell, evidence_dir):
    res = shell.run_cell("p = %vl_policy german_credit_data -q\np")
    assert res.result.title == "German credit data audit"
    assert shell.run_cell("%vl_policy german_credit_data").result is None  # shown once
    shell.run_cell(f"%vl_enforce df {AUDIT} -q;")
    res = shell.run_cell("recs = %vl_evidence --last 5 --kind enforce -q\nrecs")
    assert [r.kind for r in res.result] == ["enforce"]
    res = shell.run_cell("%vl_evidence --last 0")
    assert str(res.error_in_exec) == "--last must be at least 1, got 0"


def test_review_option_opens_the_panel(shell, capsys):
    res = shell.run_cell(f"r = %vl_enforce df {AUDIT} --review\nr")
    assert isinstance(res.result, Report) and res.error_in_exec is None
    out = capsys.readouterr().out
    assert "approvals-by-age (fail): no decision yet" in out and "VBox(" not in out
    assert "Review panel (interactive: needs a running kernel)" in out
