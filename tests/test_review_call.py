"""``vl.review(report)``: the review room is callable, the model needs no import of it."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import vl_jupyter as vl

POLICY = """
apiVersion: v1
kind: Policy
metadata: {name: toy}
controls:
  - {id: completeness, metric: completeness, threshold: 0.99, operator: ">="}
"""


def test_vl_review_opens_the_same_panel_as_report_review(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    report = vl.enforce(pd.DataFrame({"x": [1, None]}), policy, evidence_dir=tmp_path / "ev")
    panel = vl.review(report, reviewer="A. Auditor", show=False)
    alias = report.review(reviewer="A. Auditor", show=False)
    assert type(panel) is type(alias) and type(panel).__name__ == "ReviewPanel"
    assert panel.report is report
    assert vl.review.record_review is vl.review._record.record_review  # still the module


def test_importing_the_package_does_not_import_the_review_widget():
    code = (
        "import sys, vl_jupyter as vl; callable(vl.review) or sys.exit(2); "
        "sys.exit(3 if 'ipywidgets' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
