"""``wrap()``: a scikit-learn estimator that audits what it learns from and what it predicts.

>>> import vl_jupyter
>>> from sklearn.linear_model import LogisticRegression
>>> df = vl_jupyter.datasets.load_german_credit(derived=True)
>>> X = df[["Attribute2", "Attribute5", "Attribute13"]]
>>> model = vl_jupyter.wrap(LogisticRegression(max_iter=1000),
...                         policy=vl_jupyter.datasets.policy_path("german_credit_data"),
...                         target="class", gender="gender", age="age")
>>> model = model.fit(X, df["class"], audit_data=df)  # fits, then audits the training predictions
>>> model.report_.name
'LogisticRegression.fit'
>>> predicted = model.predict(X, audit_data=df)      # predicts, then audits them
>>> [report.name for report in model.reports_]
['LogisticRegression.fit', 'LogisticRegression.predict']
>>> model.last_audit_results.name     # the latest Report (the SDK's name)
'LogisticRegression.predict'

As in the Venturalítica SDK, bindings may also be given to ``fit`` and ``predict``
(``vl.wrap(RandomForestClassifier(), policy=p).fit(X, y, audit_data=df,
gender="Attribute9", age="Attribute13")``): keyword arguments are split by the inner
method's signature, so audit bindings never reach scikit-learn (see :func:`split_kwargs`).
The policy is read before the model is fitted: a policy that cannot be read raises its
PolicyError and nothing is trained, since a model must not come out "audited" without an
audit.

The wrapper is a real estimator (``get_params``, ``set_params``, ``clone``, pipelines,
grid search): its parameters are ``estimator``, ``policy``, ``bindings`` and the audit
options, plus the inner estimator's as ``estimator__<name>``. An audit never changes or
breaks a fit or a prediction: a failure to audit is a warning, unless ``strict=True``.
Inside an active MLflow or W&B run the policy file is uploaded under ``policy_snapshot/``.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.metaestimators import available_if

from ..errors import ComplianceBlockError, VLWarning


def _is_binding(value: Any) -> bool:
    """A column name or a list of them: what an audit binding looks like."""
    if isinstance(value, str):
        return True
    return (
        isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, str) for v in value)
    )


def split_kwargs(
    method: Callable[..., Any], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(for the estimator, audit bindings)`` from the keyword arguments of a call.

    A name in the method's signature goes to the estimator. When the method also takes
    ``**kwargs`` (a Pipeline's ``fit``), a routed ``step__param`` or a value that is not a
    column name goes to the estimator too, and a column name (or list of them) is an
    audit binding. Everything else is an audit binding.
    """
    params: Mapping[str, inspect.Parameter]
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):  # a builtin without a signature: trust the names
        params = {}
    named = {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    model: dict[str, Any] = {}
    audit: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in named or (var_kw and ("__" in key or not _is_binding(value))):
            model[key] = value
        else:
            audit[key] = value
    return model, audit


def _inner_has(name: str):
    return lambda self: hasattr(
        self.estimator_ if hasattr(self, "estimator_") else self.estimator, name
    )


class AuditedEstimator(MetaEstimatorMixin, BaseEstimator):
    """See the module docstring; build one with :func:`wrap`."""

    def __init__(
        self,
        estimator: Any = None,
        *,
        policy: Any = None,
        bindings: dict[str, Any] | None = None,
        audit_fit: bool = True,
        audit_predict: bool = True,
        strict: bool = False,
        evidence_dir: Any = None,
    ) -> None:
        self.estimator = estimator
        self.policy = policy
        self.bindings = bindings
        self.audit_fit = audit_fit
        self.audit_predict = audit_predict
        self.strict = strict
        self.evidence_dir = evidence_dir

    # -- scikit-learn protocol ------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__() if self.estimator is not None else None
        if inner is not None:
            tags.estimator_type = inner.estimator_type
            tags.classifier_tags = inner.classifier_tags
            tags.regressor_tags = inner.regressor_tags
            tags.target_tags = inner.target_tags
            tags.input_tags = inner.input_tags
        return tags

    @property
    def classes_(self) -> Any:
        return self.estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        return self.estimator_.n_features_in_

    def fit(self, X: Any, y: Any = None, *, audit_data: Any = None, **kwargs: Any):
        """Read the policy, fit a clone of the estimator, then audit its predictions on the
        training data (``audit_data``: the frame with the protected columns, default
        ``X``). Keyword arguments the estimator's ``fit`` does not take are audit
        bindings (``gender="Attribute9"``), kept for ``predict`` too."""
        fit_params, audit = split_kwargs(self.estimator.fit, kwargs)
        policy = self._read_policy()  # PolicyError here: nothing is trained unaudited
        self.estimator_ = clone(self.estimator)
        self.estimator_.fit(X, y, **fit_params)
        self.reports_: list[Any] = []
        self.audit_bindings_ = {**(self.bindings or {}), **audit}
        if policy is not None:
            self._upload_policy(policy)
            if self.audit_fit and hasattr(self.estimator_, "predict"):
                self._audit(X, y, self.estimator_.predict(X), audit_data, "fit", policy)
        return self

    def predict(self, X: Any, *, audit_data: Any = None, y: Any = None, **kwargs: Any) -> Any:
        """Predict, then audit the predictions (with ``y`` the controls that need the
        ground truth are evaluated too; without, they are recorded as errors). A failing
        control in ``enforcement_mode: block`` raises ComplianceBlockError, as enforce does.
        Keyword arguments the estimator's ``predict`` does not take are audit bindings."""
        predict_params, audit = split_kwargs(self.estimator_.predict, kwargs)
        prediction = self.estimator_.predict(X, **predict_params)
        if self.policy is not None and self.audit_predict:
            policy = self._read_policy()
            self.audit_bindings_ = {**getattr(self, "audit_bindings_", {}), **audit}
            self._audit(X, y, prediction, audit_data, "predict", policy)
        return prediction

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        return self.estimator_.predict_proba(X)

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        return self.estimator_.decision_function(X)

    @available_if(_inner_has("score"))
    def score(self, X: Any, y: Any = None, **kwargs: Any) -> float:
        return self.estimator_.score(X, y, **kwargs)

    @available_if(_inner_has("transform"))
    def transform(self, X: Any) -> Any:
        return self.estimator_.transform(X)

    # -- auditing -------------------------------------------------------------------
    @property
    def report_(self) -> Any:
        """The latest audit's Report (None before any audit)."""
        reports = getattr(self, "reports_", None)
        return reports[-1] if reports else None

    @property
    def last_audit_results(self) -> Any:
        """The Venturalítica SDK's name for the latest audit: its Report (a sequence of
        ControlResult), or ``[]`` before any audit."""
        report = self.report_
        return report if report is not None else []

    def _read_policy(self) -> Any:
        """The policy, read once per fit (PolicyError when it cannot be read)."""
        if self.policy is None:
            return None
        from ..policy import load_policy

        return load_policy(self.policy)

    def _audit(
        self, X: Any, y: Any, prediction: Any, audit_data: Any, phase: str, policy: Any
    ) -> None:
        from ..enforcement import enforce

        bindings = dict(getattr(self, "audit_bindings_", None) or self.bindings or {})
        target = bindings.pop("target", "target")
        pred_col = bindings.pop("prediction", "prediction")
        try:
            frame = audit_data if audit_data is not None else X
            frame = pd.DataFrame(frame).reset_index(drop=True).copy()
            if len(frame) != len(prediction):
                raise ValueError(
                    f"audit_data has {len(frame)} rows but there are {len(prediction)} predictions"
                )
            frame[pred_col] = np.asarray(prediction)
            if y is not None:
                frame[target] = np.asarray(y)
            report = enforce(
                frame,
                policy,
                target=target if target in frame.columns else None,
                prediction=pred_col,
                name=f"{type(self.estimator).__name__}.{phase}",
                evidence_dir=self.evidence_dir,
                bindings=bindings,
            )
            self.reports_.append(report)
        except ComplianceBlockError as exc:  # the policy itself asks to stop here
            self.reports_.append(exc.report)
            raise
        except Exception as exc:
            if self.strict:
                raise
            warnings.warn(
                f"audit of {phase} skipped: {type(exc).__name__}: {exc}", VLWarning, stacklevel=3
            )

    def _upload_policy(self, policy: Any) -> None:
        """Inside an active MLflow / W&B run, upload the policy file (never starts one)."""
        name = f"{policy.source or 'policy'}".replace("\\", "/").rsplit("/", 1)[-1] or "policy"
        if "." not in name:
            name += ".yaml"
        mlflow = sys.modules.get("mlflow")
        if mlflow is not None:
            try:
                if mlflow.active_run() is not None:
                    mlflow.log_text(policy.text, f"policy_snapshot/{name}")
            except Exception as exc:
                warnings.warn(
                    f"policy snapshot not logged to MLflow: {exc}", VLWarning, stacklevel=3
                )
        wandb = sys.modules.get("wandb")
        run = getattr(wandb, "run", None) if wandb is not None else None
        if wandb is not None and run is not None:
            try:
                artifact = wandb.Artifact("policy_snapshot", type="policy")
                with artifact.new_file(name, mode="w", encoding="utf-8") as fh:
                    fh.write(policy.text)
                run.log_artifact(artifact)
            except Exception as exc:
                warnings.warn(f"policy snapshot not logged to W&B: {exc}", VLWarning, stacklevel=3)


def wrap(
    estimator: Any,
    policy: Any = None,
    *,
    strict: bool = False,
    evidence_dir: Any = None,
    **bindings: Any,
) -> AuditedEstimator:
    """Wrap a scikit-learn estimator so ``fit`` and ``predict`` are audited against
    ``policy``; keyword arguments bind the policy's variables to columns, as in
    :func:`vl_jupyter.enforce` (``target=``, ``prediction=``, ``gender=`` ...)."""
    return AuditedEstimator(
        estimator, policy=policy, bindings=bindings, strict=strict, evidence_dir=evidence_dir
    )
