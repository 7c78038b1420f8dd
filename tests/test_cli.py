"""The CLI gate: exit codes, the printed table, evidence, and one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vl_jupyter import datasets
from vl_jupyter.cli import main
from vl_jupyter.errors import VLWarning

DATA_POLICY = str(datasets.policy_path("german_credit_data"))


@pytest.fixture
def credit_csv(tmp_path: Path) -> Path:
    path = tmp_path / "credit.csv"
    datasets.load_german_credit(derived=True).to_csv(path, index=False)
    return path


def run(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(args, out=out)
    return code, out.getvalue()


def enforce_args(data: Path, evidence: Path, *extra: str) -> list[str]:
    return [
        "enforce", "--data", str(data), "--policy", DATA_POLICY, "--target", "class",
        "--bind", "gender=gender", "--bind", "age=age", "--evidence-dir", str(evidence), *extra,
    ]  # fmt: skip


def test_failing_control_exits_1_and_prints_the_table(credit_csv, tmp_path):
    code, text = run(enforce_args(credit_csv, tmp_path / "ev"))
    assert code == 1
    assert "German credit data audit v1.0" in text
    assert "✖ FAIL" in text and "approvals-by-age" in text
    assert "disparate_impact = 0.7927, which is not > 0.8" in text
    assert "evidence: " in text
    code, text = run(["verify", "--evidence-dir", str(tmp_path / "ev")])
    assert code == 0 and "1 record" in text.replace("records", "record")


def test_passing_report_exits_0(credit_csv, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "vl-policy: 1\ncontrols:\n  - {id: di, metric: disparate_impact, operator: gt,"
        " threshold: 0.8, inputs: {dimension: gender}}\n"
    )
    args = ["enforce", "--data", str(credit_csv), "--policy", str(policy), "--target", "class",
            "--bind", "gender=gender", "--evidence-dir", str(tmp_path / "ev"), "--json"]  # fmt: skip
    code, text = run(args)
    assert code == 0
    assert json.loads(text)["results"][0]["status"] == "pass"


def test_control_error_exits_2(credit_csv, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "vl-policy: 1\ncontrols:\n  - {id: eo, metric: equal_opportunity_diff, operator: lt,"
        " threshold: 0.1, inputs: {dimension: religion}}\n"
    )
    args = ["enforce", "--data", str(credit_csv), "--policy", str(policy), "--target", "class",
            "--prediction", "class", "--evidence-dir", str(tmp_path / "ev")]  # fmt: skip
    code, text = run(args)
    assert code == 2
    assert "variable 'religion'" in text


def test_bad_policy_is_one_line_on_stderr_and_exit_2(credit_csv, tmp_path, capsys):
    policy = tmp_path / "bad.yaml"
    policy.write_text("vl-policy: 1\ncontrols:\n  - {id: x, metric: [unclosed\n")
    code = main(["enforce", "--data", str(credit_csv), "--policy", str(policy)], out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "bad.yaml:" in err and "cannot read the policy" in err


def test_unevaluable_control_is_an_error_result_and_exit_2(credit_csv, tmp_path, capsys):
    policy = tmp_path / "bad.yaml"
    policy.write_text(
        "vl-policy: 1\ncontrols:\n  - {id: x, metric: disparate_impakt, operator: gt, threshold: 1}\n"
        "  - {id: y, metric: class_imbalance, operator: gt, threshold: 0.1, inputs: {target: class}}\n"
    )
    out = io.StringIO()
    with pytest.warns(VLWarning, match="bad.yaml:3: control 'x' cannot be evaluated"):
        code = main(["enforce", "--data", str(credit_csv), "--policy", str(policy),
                     "--evidence-dir", str(tmp_path / "ev")], out=out)  # fmt: skip
    assert code == 2
    text = out.getvalue()
    assert "ERROR   x" in text and "unknown metric 'disparate_impakt'" in text
    assert "closest known metrics: disparate_impact" in text and "PASS    y" in text


def test_missing_bound_column_names_close_matches(credit_csv, tmp_path, capsys):
    code = main(enforce_args(credit_csv, tmp_path / "ev", "--bind", "sex=gendr"), out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 2
    assert "no column 'gendr'" in err and "'gender'" in err


def test_missing_data_file_and_bad_bind(tmp_path, capsys):
    code = main(["enforce", "--data", str(tmp_path / "nope.csv"), "--policy", DATA_POLICY])
    assert code == 2 and "no data file" in capsys.readouterr().err
    code = main(
        ["enforce", "--data", str(tmp_path / "x.csv"), "--policy", DATA_POLICY, "--bind", "gender"]
    )
    assert code == 2 and "--bind expects VAR=COLUMN" in capsys.readouterr().err


def test_parquet_input(credit_csv, tmp_path):
    import pandas as pd

    parquet = tmp_path / "credit.parquet"
    pd.read_csv(credit_csv).to_parquet(parquet)
    code, text = run(enforce_args(parquet, tmp_path / "ev"))
    assert code == 1 and "approvals-by-age" in text


def test_verify_detects_an_edited_record(credit_csv, tmp_path):
    evidence = tmp_path / "ev"
    run(enforce_args(credit_csv, evidence))
    record = next((evidence / "records").glob("*.json"))
    record.chmod(0o644)
    record.write_text(record.read_text().replace('"fail"', '"pass"'))
    code, text = run(["verify", "--evidence-dir", str(evidence), "--json"])
    assert code == 1
    problems = json.loads(text)["problems"]
    assert problems and problems[0]["code"] == "edited"


def test_policy_and_metrics_commands():
    code, text = run(["policy", DATA_POLICY])
    assert code == 0 and "6 controls" in text and "approvals-by-age" in text
    code, text = run(["metrics"])
    assert code == 0 and len(text.splitlines()) >= 30 and "equalized_odds_ratio" in text


def test_console_script_is_installed(tmp_path):
    exe = Path(sys.executable).with_name("vl-jupyter")
    done = subprocess.run([str(exe), "metrics"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "disparate_impact" in done.stdout
