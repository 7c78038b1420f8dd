"""Package-level promises: a light import, a small facade, docs that match the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import vl_jupyter
from vl_jupyter.metrics import CATALOGUE
from vl_jupyter.metrics._docs import render

ROOT = Path(__file__).resolve().parents[1]

REQUIRED_KEYS: Any = """class_imbalance group_size_min group_share_min data_completeness missing_rate_max
k_anonymity l_diversity disparate_impact demographic_parity_diff demographic_parity_ratio
group_min_positive_rate selection_rate accuracy_score precision_score recall_score f1_score
roc_auc equal_opportunity_diff equal_opportunity_ratio equalized_odds_diff equalized_odds_ratio
predictive_parity_diff false_positive_rate_diff calibration_diff multiclass_demographic_parity
multiclass_equal_opportunity mae rmse mae_group_diff mean_prediction_diff"""
REQUIRED_KEYS = REQUIRED_KEYS.split()


def test_import_stays_light():
    code = (
        "import sys, vl_jupyter; heavy = [m for m in ('mlflow', 'wandb', 'plotly', 'ipywidgets',"
        " 'sklearn', 'fairlearn', 'pynvml') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_facade_exports_the_public_verbs():
    for name in ("enforce", "load_policy", "evidence", "datasets", "Report", "ControlResult"):
        assert name in vl_jupyter.__all__ and hasattr(vl_jupyter, name)


def test_catalogue_has_every_required_key_with_documentation():
    assert len(CATALOGUE) >= 30
    missing = [k for k in REQUIRED_KEYS if k not in CATALOGUE]
    assert missing == []
    for spec in CATALOGUE.values():
        assert spec.summary and spec.formula and spec.direction in ("higher", "lower", "none")


def test_metrics_doc_is_generated_from_the_catalogue():
    committed = (ROOT / "docs" / "metrics.md").read_text()
    assert committed == render(), "docs/metrics.md is stale: run `make docs`"


def test_shipped_data_keeps_its_attribution():
    readme = ROOT / "vl_jupyter" / "datasets" / "data" / "README.md"
    assert "CC BY 4.0" in readme.read_text() and "10.24432/C5NC77" in readme.read_text()
    frame = vl_jupyter.datasets.load_german_credit()
    assert frame.shape == (1000, 21)
    assert frame["class"].value_counts().to_dict() == {1: 700, 2: 300}


def test_example_policies_load():
    for name in ("german_credit_data", "german_credit_model"):
        policy = vl_jupyter.load_policy(vl_jupyter.datasets.policy_path(name))
        assert len(policy) >= 6 and policy.dialect == "native"
