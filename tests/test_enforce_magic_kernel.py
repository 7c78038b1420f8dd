"""%vl_enforce, %%vl_enforce, %vl_policy and %vl_evidence through a real kernel (nbclient):
what the user sees, once, and no traceback for a user mistake."""

from __future__ import annotations

import nbformat
import pytest
from _notebooks import NotebookRunner

from vl_jupyter import evidence

pytestmark = pytest.mark.slow

SETUP = (
    "%load_ext vl_jupyter\n"
    "import vl_jupyter as vl\n"
    "df = vl.datasets.load_german_credit(derived=True)"
)
AUDIT = "--policy german_credit_data --target class gender=gender age=age"
CELL_POLICY = """%%vl_enforce df --target class --no-ci
vl-policy: 1
title: inline experiment
controls:
  - {id: fair, metric: disparate_impact, operator: gt, threshold: 0.8,
     inputs: {target: target, dimension: gender}}"""


def _run(tmp_path, monkeypatch, *sources: str) -> list[nbformat.NotebookNode]:
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(tmp_path / "ev"))
    cells = [nbformat.v4.new_code_cell(SETUP)]
    for src in sources:
        cell = nbformat.v4.new_code_cell(src)
        cell.metadata["tags"] = ["raises-exception"]  # run on: each cell is checked below
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookRunner(
        nb,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
        coalesce_streams=True,  # one stderr line may arrive in two messages
    ).execute()
    return nb.cells[1:]


def _html(cell) -> list[str]:
    return [o.data["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]


def _usage(cell) -> str:
    """The one line a user mistake prints; asserts it is that line and nothing else."""
    (out,) = cell.outputs
    assert out.output_type == "error" or out.name == "stderr", out
    text = "".join(out.get("traceback", [])) if out.output_type == "error" else out.text
    assert "Traceback" not in text and "File " not in text
    assert text.startswith("UsageError: ") and text.count("\n") <= 1, text
    return text.strip()


def test_magics_show_once_and_return_their_results(tmp_path, monkeypatch):
    cells = _run(
        tmp_path,
        monkeypatch,
        f"%vl_enforce df {AUDIT}",
        f"report = %vl_enforce df {AUDIT} --name assigned\n"
        "print(type(report).__name__, report.status, report['approvals-by-age'].status)",
        f"%vl_enforce df.assign(prediction=df['class']) {AUDIT} --no-ci;",
        f"%vl_enforce df {AUDIT} -q",
        CELL_POLICY,
        "_.policy['title'], _.policy['text'].startswith('vl-policy: 1')",
        "%vl_policy german_credit_model",
        "policy = %vl_policy german_credit_data -q\nlen(policy), policy.title",
        "%vl_evidence --last 3",
        "%vl_enforce --help",
    )
    bare, assigned, semicolon, quiet, inline, inline_value, policy, policy_q, listing, helped = (
        cells
    )
    # a bare magic: shown once, by IPython (Out[n]), as the traffic-light table
    assert [o.output_type for o in bare.outputs] == ["execute_result"]
    (table,) = _html(bare)
    assert 'class="vl-report-table"' in table and "<script" not in table
    assert table.count('class="vl-control ') == 6 and "✖ FAIL" in table
    # assigned: shown once by the magic, and the Report is kept
    assert [o.output_type for o in assigned.outputs] == ["display_data", "stream"]
    assert assigned.outputs[1].text == "Report fail fail\n"
    assert semicolon.outputs == [] and quiet.outputs == []
    # the cell magic: the body is the policy, and its text goes into the evidence
    assert "inline experiment" in _html(inline)[0]
    assert "('inline experiment', True)" in inline_value.outputs[0].data["text/plain"]
    assert (
        'class="vl-policy-table"' in _html(policy)[0] and "equalized_odds_diff" in _html(policy)[0]
    )
    assert policy_q.outputs[0].data["text/plain"] == "(6, 'German credit data audit')"
    (records,) = _html(listing)
    assert records.count('class="vl-evidence-record') == 3
    assert "DATAFRAME [VARIABLE=COLUMN ...]" in helped.outputs[0].text

    enforced = list(evidence.records("enforce", root=tmp_path / "ev"))
    assert len(enforced) == 5
    inline_text = evidence.policy_text(enforced[0].data["policy"], tmp_path / "ev")
    assert inline_text is not None and inline_text.startswith("vl-policy: 1\ntitle: inline")
    assert {r.summary["name"] for r in enforced} >= {"assigned"}


def test_user_mistakes_are_one_line_without_traceback(tmp_path, monkeypatch):
    # A control the engine cannot compute loads (it is an error result); a file that is
    # not plain YAML cannot be read at all, and that is the user mistake here.
    (tmp_path / "bad.yaml").write_text(
        "vl-policy: 1\ncontrols:\n  - {id: x, metric: accuracy_score, operator: gt,\n"
        "     threshold: !!python/name:os.system }\n"
    )
    cells = _run(
        tmp_path,
        monkeypatch,
        f"%vl_enforce dff {AUDIT}",
        "%vl_enforce df --policy german_credit_data --target clas",
        "%vl_enforce df --policy bad.yaml --target class",
        "%vl_enforce df --policy missing.yaml",
        "%vl_enforce df gender=gender",
        "%vl_enforce df --policy german_credit_data --target class gender",
        "%vl_policy bad.yaml",
        "%vl_enforce [1, 2] --policy german_credit_data",
        f"%vl_enforce df {AUDIT} --strict --phase validation foo=bar",
        "print('Run-All stops at an error; this cell still runs because of its tag')",
    )
    texts = [_usage(c) for c in cells[:-1]]
    assert texts[0] == "UsageError: no DataFrame named 'dff' in the notebook (did you mean 'df'?)"
    assert texts[1] == (
        "UsageError: target='clas': the data has no column 'clas' (closest columns: 'class')"
    )
    assert texts[2].startswith("UsageError: bad.yaml:4: cannot read the policy: could not ")
    assert texts[3].startswith("UsageError: missing.yaml: policy file not found: missing.yaml")
    assert texts[4].startswith("UsageError: --policy FILE is required")
    assert texts[5].startswith("UsageError: binding 'gender' must look like VARIABLE=COLUMN")
    assert texts[6] == texts[2]
    assert texts[7] == (
        "UsageError: '[1, 2]' is a list, not a pandas DataFrame (nor a polars, PyArrow, "
        "DuckDB or Spark frame, SQL text or a .parquet/.csv path)"
    )
    assert (
        texts[8]
        == "UsageError: foo='bar': the data has no column 'bar' (columns are "
        + (texts[8].split("(columns are ", 1)[1])
    )
    assert not (tmp_path / "ev").exists() or not list(evidence.records(root=tmp_path / "ev"))


def test_a_user_mistake_stops_run_all(tmp_path, monkeypatch):
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("VL_EVIDENCE_DIR", str(tmp_path / "ev"))
    cells = [SETUP, "%vl_enforce dff --policy german_credit_data", "print('after')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    client = NotebookRunner(nb, kernel_name="python3", timeout=120, coalesce_streams=True)
    with pytest.raises(CellExecutionError, match="no DataFrame named 'dff'"):
        client.execute()
    assert nb.cells[2].outputs == []
