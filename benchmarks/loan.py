"""The 16-control loan policy of issue 12 and a fixed-seed data generator for it.

Shared by ``bench_scale.py`` (the pandas path and its peers) and the engine benchmarks:
the policy has parity, equalized odds, equal opportunity and predictive parity over
``gender`` (2 groups), ``age_group`` (5), ``region`` (50) and one ``gender x age_group``
intersection, then accuracy, precision, recall, F1, ROC AUC, completeness and class
balance, all with 95% CIs from 1,000 replicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GENDERS = ["female", "male"]
AGES = ["18-25", "26-35", "36-50", "51-65", "65+"]
REGIONS = [f"region_{i:02d}" for i in range(50)]
GROUP_COLUMNS = ("gender", "age_group", "region")
FLOAT_COLUMNS = ("score", "income", "loan_amount")

_FAIR = {"prediction": "prediction"}
_CONF = {"target": "target", "prediction": "prediction"}
POLICY = {
    "vl-policy": 1,
    "title": "Loan model policy (16 controls, issue 12)",
    "defaults": {"params": {"pos_label": 1}},
    "controls": [
        {"id": "dp-gender", "metric": "demographic_parity_diff", "operator": "lt", "threshold": 0.1,
         "inputs": {**_FAIR, "dimension": "gender"}},
        {"id": "di-age", "metric": "disparate_impact", "operator": "gt", "threshold": 0.8,
         "inputs": {**_FAIR, "dimension": "age_group"}},
        {"id": "dp-region", "metric": "demographic_parity_diff", "operator": "lt", "threshold": 0.2,
         "inputs": {**_FAIR, "dimension": "region"}},
        {"id": "dp-gender-age", "metric": "demographic_parity_diff", "operator": "lt",
         "threshold": 0.2, "inputs": {**_FAIR, "dimension": ["gender", "age_group"]}},
        {"id": "eod-gender", "metric": "equalized_odds_diff", "operator": "lt", "threshold": 0.1,
         "inputs": {**_CONF, "dimension": "gender"}},
        {"id": "eod-region", "metric": "equalized_odds_diff", "operator": "lt", "threshold": 0.2,
         "inputs": {**_CONF, "dimension": "region"}},
        {"id": "eop-age", "metric": "equal_opportunity_diff", "operator": "lt", "threshold": 0.1,
         "inputs": {**_CONF, "dimension": "age_group"}},
        {"id": "pp-gender", "metric": "predictive_parity_diff", "operator": "lt", "threshold": 0.1,
         "inputs": {**_CONF, "dimension": "gender"}},
        {"id": "pp-region", "metric": "predictive_parity_diff", "operator": "lt", "threshold": 0.2,
         "inputs": {**_CONF, "dimension": "region"}},
        {"id": "accuracy", "metric": "accuracy_score", "operator": "gt", "threshold": 0.7,
         "inputs": _CONF},
        {"id": "precision", "metric": "precision_score", "operator": "gt", "threshold": 0.7,
         "inputs": _CONF},
        {"id": "recall", "metric": "recall_score", "operator": "gt", "threshold": 0.7,
         "inputs": _CONF},
        {"id": "f1", "metric": "f1_score", "operator": "gt", "threshold": 0.7, "inputs": _CONF},
        {"id": "auc", "metric": "roc_auc", "operator": "gt", "threshold": 0.7,
         "inputs": {"target": "target", "score": "score"}},
        {"id": "completeness", "metric": "data_completeness", "operator": "ge",
         "threshold": 0.95},
        {"id": "balance", "metric": "class_imbalance", "operator": "gt", "threshold": 0.3,
         "inputs": {"target": "target"}},
    ],
}  # fmt: skip


def make_loan(n: int, seed: int = 0, text: str | None = None) -> pd.DataFrame:
    """Fixed-seed loan model output. Group columns are ``category`` unless ``text`` is
    ``"object"`` (Python strings) or ``"str"`` (pandas' string dtype)."""
    rng = np.random.default_rng(seed)
    gender = rng.integers(0, 2, n, dtype=np.int8)
    age = rng.choice(5, size=n, p=[0.15, 0.3, 0.3, 0.17, 0.08]).astype(np.int8)
    weights = np.linspace(1, 4, 50)
    region = rng.choice(50, size=n, p=weights / weights.sum()).astype(np.int8)
    base = 0.25 + 0.04 * age + 0.002 * region + 0.05 * gender
    target = (rng.random(n) < base).astype(np.int8)
    flip = rng.random(n) < 0.12
    prediction = np.where(flip, 1 - target, target)
    bias = rng.random(n) < (0.02 * gender + 0.01 * age)
    prediction = np.where(bias, 1, prediction).astype(np.int8)
    score = np.clip(0.45 * prediction + 0.25 * target + 0.3 * rng.random(n), 0.0, 1.0)
    income = rng.lognormal(10.5, 0.5, n)
    income[rng.random(n) < 0.02] = np.nan
    loan = rng.gamma(2.0, 8000.0, n)
    frame = pd.DataFrame(
        {
            "target": target,
            "prediction": prediction,
            "score": score,
            "gender": pd.Categorical.from_codes(gender, GENDERS),
            "age_group": pd.Categorical.from_codes(age, AGES),
            "region": pd.Categorical.from_codes(region, REGIONS),
            "income": income,
            "loan_amount": loan,
            "term_months": rng.choice(np.array([12, 24, 36, 60], dtype=np.int16), n),
        }
    )
    if text:
        for column in GROUP_COLUMNS:
            frame[column] = frame[column].astype(text)
    return frame
