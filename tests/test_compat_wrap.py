"""``vl.wrap`` as the Venturalítica SDK's users call it, with real scikit-learn estimators."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import vl_jupyter as vl  # noqa: E402
from vl_jupyter.errors import PolicyError  # noqa: E402
from vl_jupyter.trackers._wrap import split_kwargs  # noqa: E402

FEATURES = ["Attribute2", "Attribute5", "Attribute8", "Attribute13"]
DATA_POLICY = vl.datasets.policy_path("german_credit_data")


@pytest.fixture
def frame(german):
    return german.iloc[:300].reset_index(drop=True)


def test_the_documented_fit_call_works_and_bindings_never_reach_sklearn(frame, evidence_dir):
    X, y = frame[FEATURES], frame["class"]
    model = vl.wrap(
        RandomForestClassifier(n_estimators=5, random_state=0), policy=DATA_POLICY,
        evidence_dir=evidence_dir,
    )  # fmt: skip
    assert model.last_audit_results == []
    # RandomForestClassifier.fit(X, y, sample_weight=None) would raise TypeError on gender=
    model.fit(X, y, audit_data=frame, gender="gender", age="age", sample_weight=np.ones(len(y)))
    results = model.last_audit_results
    assert results is model.report_ and len(results) == 6
    assert results.bindings == {"target": "target", "prediction": "prediction", "gender": "gender", "age": "age"}  # fmt: skip
    assert {r.status for r in results} <= {"pass", "warn", "fail"}  # every control measured
    assert model.predict(X, audit_data=frame, y=y).shape == (300,)
    assert model.last_audit_results.name == "RandomForestClassifier.predict"
    twin = clone(model)
    assert twin.get_params()["estimator__n_estimators"] == 5 and not hasattr(twin, "estimator_")


def test_an_unreadable_policy_stops_fit_before_training(frame, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("controls: [\n", encoding="utf-8")
    model = vl.wrap(LogisticRegression(), policy=broken)
    with pytest.raises(PolicyError):
        model.fit(frame[FEATURES], frame["class"], audit_data=frame, gender="gender")
    assert not hasattr(model, "estimator_")  # nothing was trained
    with pytest.raises(PolicyError):
        vl.wrap(LogisticRegression(), policy=tmp_path / "absent.yaml").fit(
            frame[FEATURES], frame["class"]
        )


def test_split_kwargs_follows_the_signature():
    def fit(X, y=None, sample_weight=None):
        return None

    def routed(X, y=None, **params):
        return None

    weights = np.ones(3)
    assert split_kwargs(fit, {"sample_weight": weights, "gender": "g", "age": ["a"]}) == (
        {"sample_weight": weights},
        {"gender": "g", "age": ["a"]},
    )
    model, audit = split_kwargs(routed, {"lr__sample_weight": weights, "gender": "g", "n": 3})
    assert model == {"lr__sample_weight": weights, "n": 3} and audit == {"gender": "g"}


@pytest.mark.slow  # ~5 s: seven audited fits, each with bootstrap intervals
def test_audit_data_through_a_pipeline_and_grid_search(frame, evidence_dir):
    X, y = frame[FEATURES], frame["class"]
    audited = vl.wrap(
        LogisticRegression(max_iter=300), policy=DATA_POLICY, evidence_dir=evidence_dir
    )
    pipe = Pipeline([("scale", StandardScaler()), ("model", audited)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "audit skipped" warning: audit_data was routed
        pipe.fit(X, y, model__audit_data=frame, model__gender="gender", model__age="age")
    report = pipe.named_steps["model"].last_audit_results
    assert len(report) == 6 and report.data["rows"] == 300
    # a whole pipeline wrapped: bindings split from the pipeline's routed **params
    whole = vl.wrap(make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)), policy=DATA_POLICY, evidence_dir=evidence_dir)  # fmt: skip
    whole.fit(X, y, audit_data=frame, gender="gender", age="age")
    assert whole.last_audit_results.bindings["gender"] == "gender"
    inner = vl.wrap(LogisticRegression(max_iter=300), policy=DATA_POLICY, evidence_dir=evidence_dir)  # fmt: skip
    search = GridSearchCV(inner, {"estimator__C": [0.1, 1.0]}, cv=2)
    search.fit(X, y, audit_data=frame, gender="gender", age="age")
    assert search.best_params_["estimator__C"] in (0.1, 1.0)
    assert len(search.best_estimator_.last_audit_results) == 6
