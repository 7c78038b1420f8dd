"""``wrap()``: a scikit-learn estimator that audits fit and predict and leaves evidence."""

from __future__ import annotations

import warnings

import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from vl_jupyter import datasets, evidence  # noqa: E402
from vl_jupyter.errors import VLWarning  # noqa: E402
from vl_jupyter.trackers._wrap import AuditedEstimator, wrap  # noqa: E402

POLICY = datasets.policy_path("german_credit_model")
FEATURES = ["Attribute2", "Attribute5", "Attribute8", "age"]
BINDINGS = {"target": "class", "prediction": "prediction", "gender": "gender", "age": "age"}


@pytest.fixture
def model(evidence_dir):
    return wrap(LogisticRegression(max_iter=500), POLICY, evidence_dir=evidence_dir, **BINDINGS)


def test_behaves_as_the_estimator(model, german):
    X, y = german[FEATURES], german["class"]
    params = model.get_params()
    assert params["estimator__C"] == 1.0 and params["bindings"] == BINDINGS
    twin = clone(model)
    assert isinstance(twin, AuditedEstimator) and twin.get_params()["policy"] == POLICY
    twin.set_params(estimator__C=0.5)
    assert twin.estimator.C == 0.5 and model.estimator.C == 1.0
    plain = LogisticRegression(max_iter=500).fit(X, y)
    model.fit(X, y, audit_data=german)
    assert (model.predict(X, audit_data=german, y=y) == plain.predict(X)).all()
    assert model.predict_proba(X) == pytest.approx(plain.predict_proba(X))
    assert list(model.classes_) == [1, 2] and model.score(X, y) == plain.score(X, y)
    assert sklearn.base.is_classifier(model)


def test_fit_and_predict_leave_enforce_evidence(model, german, evidence_dir):
    X, y = german[FEATURES], german["class"]
    model.fit(X, y, audit_data=german)
    model.predict(X, audit_data=german, y=y)
    records = list(evidence.records("enforce", root=evidence_dir))
    assert [r.data["name"] for r in records] == [
        "LogisticRegression.predict",
        "LogisticRegression.fit",
    ]
    assert model.report_.evidence_id == records[0].id
    assert all(r.status != "error" for r in model.report_)


def test_pipelines_and_grid_search_work_and_a_failed_audit_only_warns(model, german):
    X, y = german[FEATURES], german["class"]
    pipe = make_pipeline(StandardScaler(), model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe.fit(X, y)  # inside a pipeline X has no protected columns: warn, still fit
    assert any(
        issubclass(w.category, VLWarning) and "audit of fit skipped" in str(w.message)
        for w in caught
    )
    assert pipe.score(X, y) > 0.6
    search = GridSearchCV(
        wrap(LogisticRegression(max_iter=500), None), {"estimator__C": [0.1, 1.0]}, cv=2
    )
    search.fit(X, y)
    assert search.best_params_["estimator__C"] in (0.1, 1.0)


def test_inside_an_active_mlflow_run_the_policy_snapshot_is_uploaded(model, german, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        exp = mlflow.create_experiment("wrap", artifact_location=(tmp_path / "art").as_uri())
        with mlflow.start_run(experiment_id=exp) as run:
            model.fit(german[FEATURES], german["class"], audit_data=german)
        names = [
            a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "policy_snapshot")
        ]
        assert names == ["policy_snapshot/german_credit_model.yaml"]
    finally:
        mlflow.set_tracking_uri(None)
