"""The argument spellings of the SDK's README that its ``enforce`` documents but rejects.

``enforce(data=df, prediction=model.predict(X), policy_path="risks.oscal.yaml")``: the
SDK's ``docs/api.md`` says ``prediction`` is "str or array" and its README passes
``policy_path=``. Both are accepted here: an array of predictions becomes a column of a
copy of the data (the caller's frame is never modified), ``policy_path`` means ``policy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import EnforcementError

#: the column an array of predictions is put in (a name no user column is likely to have)
PREDICTION_COLUMN = "prediction"


def policy_argument(policy: Any, bindings: dict[str, Any]) -> Any:
    """``policy``, or the SDK README's ``policy_path=`` (removed from ``bindings``)."""
    if "policy_path" not in bindings:
        return policy
    alias = bindings.pop("policy_path")
    if policy is not None and policy != alias:
        raise EnforcementError("give policy= or policy_path=, not both with different files")
    return alias


def _is_column_names(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, str) for v in value)
    )


def prediction_argument(data: pd.DataFrame, prediction: Any) -> tuple[pd.DataFrame, Any]:
    """``(data, prediction)`` with an array of predictions put into a column."""
    if prediction is None or _is_column_names(prediction):
        return data, prediction
    values = np.asarray(prediction)
    if values.ndim != 1 or len(values) != len(data):
        raise EnforcementError(
            f"prediction= has shape {values.shape} but the data has {len(data)} rows",
            hint="give one prediction per row, or the name of the column holding them",
        )
    name = PREDICTION_COLUMN
    while name in data.columns:  # never overwrite a column of the user's data
        name = f"_{name}"
    return data.assign(**{name: values}), name
