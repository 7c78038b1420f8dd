"""Sample data and example policies that ship with the package.

``load_german_credit()`` returns the Statlog (German Credit Data) set, UCI dataset 144 by
Hans Hofmann (1994), DOI 10.24432/C5NC77, licensed CC BY 4.0 (attribution in
``vl_jupyter/datasets/data/README.md``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = [
    "ATTRIBUTION",
    "list_scenarios",
    "load_german_credit",
    "load_sample",
    "policy_path",
    "quickstart",
]

ATTRIBUTION = (
    "Statlog (German Credit Data), UCI Machine Learning Repository, Hans Hofmann (1994), "
    "DOI 10.24432/C5NC77, CC BY 4.0"
)
_FEMALE = {"A92", "A95"}


def load_german_credit(derived: bool = False) -> pd.DataFrame:
    """The German credit data as published (``Attribute1`` ... ``Attribute20``, ``class``).

    ``class`` is 1 for a good credit risk (the favourable outcome) and 2 for a bad one.
    With ``derived=True`` three readable columns are added: ``gender`` (``female`` for
    Attribute9 A92/A95, else ``male``), ``age`` (Attribute13) and ``foreign_worker``
    (``yes``/``no`` from Attribute20).

    >>> df = load_german_credit(derived=True)
    >>> df.shape, df["class"].value_counts().to_dict()
    ((1000, 24), {1: 700, 2: 300})
    """
    with resources.as_file(resources.files(__package__) / "data" / "german_credit.csv") as path:
        frame = pd.read_csv(path)
    if derived:
        frame["gender"] = frame["Attribute9"].map(lambda v: "female" if v in _FEMALE else "male")
        frame["age"] = frame["Attribute13"]
        frame["foreign_worker"] = frame["Attribute20"].map({"A201": "yes", "A202": "no"})
    return frame


def policy_path(name: str) -> Path:
    """Path of an example policy shipped in ``vl_jupyter/policies`` (``german_credit_data``,
    ``german_credit_model``, ``loan.oscal``)."""
    root = Path(str(resources.files("vl_jupyter") / "policies"))
    path = root / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in root.glob("*.yaml")))
        raise FileNotFoundError(f"no example policy '{name}' (known: {known})")
    return path


from ._samples import list_scenarios, load_sample, quickstart  # noqa: E402  (uses the above)
