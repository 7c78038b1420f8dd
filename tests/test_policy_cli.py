"""``vl-jupyter policy FILE``: what a policy will check, its warnings, and exit 2 when a
control cannot be evaluated (so CI catches it before any data is there)."""

from __future__ import annotations

import io
from pathlib import Path

from vl_jupyter.cli import main

CORPUS = Path(__file__).parent / "policies" / "corpus"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_lists_controls_problems_and_warnings() -> None:
    path = CORPUS / "unevaluable.yaml"
    code, text = run("policy", str(path))
    lines = text.splitlines()
    assert code == 2
    assert lines[0].startswith(
        "Half broken vunversioned (assessment-plan, 7 controls, 6 cannot be evaluated, sha256 "
    )
    assert lines[1].split() == ["good", "class_imbalance", ">", "0.2", "[medium,", "warn]"]
    assert lines[2].split()[:5] == ["ERROR", "typo-metric", "disparate_impakt", ">", "0.8"]
    assert lines[3].split()[:5] == ["ERROR", "null-threshold", "disparate_impact", ">", "—"]
    assert lines[4].split()[:4] == ["ERROR", "no-operator", "class_imbalance", "—"]
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 6
    assert warnings[0].startswith(
        f"warning: {path}:12: control 'typo-metric' cannot be evaluated and will be an error "
        "result: line 14: unknown metric 'disparate_impakt' (closest known metrics: "
        "disparate_impact, "  # the rest follows the metric catalogue
    )


def test_a_clean_policy_exits_0_and_strict_refuses_a_broken_one(capsys) -> None:
    code, text = run("policy", str(CORPUS / "hybrid_catalog.yaml"))
    assert code == 0 and "2 controls, 0 cannot be evaluated" in text and "warning" not in text
    code, text = run("policy", "--strict", str(CORPUS / "unevaluable.yaml"))
    err = capsys.readouterr().err
    assert code == 2 and text == ""
    assert err.startswith(f"error: {CORPUS / 'unevaluable.yaml'}:14: control 'typo-metric':")


def test_terminal_escapes_in_a_policy_are_shown_not_obeyed(tmp_path: Path) -> None:
    path = tmp_path / "paint.yaml"
    path.write_text(
        'title: "\\e[32mall green\\e[0m"\n'
        'controls:\n  - {id: "x\\e[2K", metric_key: class_imbalance, operator: gt, threshold: 0.5}\n'
    )
    code, text = run("policy", str(path))
    assert code == 0 and "\x1b" not in text
    assert text.startswith("\\x1b[32mall green\\x1b[0m vunversioned (editor")
    assert "x\\x1b[2K" in text
