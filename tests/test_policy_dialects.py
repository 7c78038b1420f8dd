"""Dialects are readers in a registry: a detect predicate and a read function each."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from vl_jupyter.errors import PolicyError
from vl_jupyter.policy import DIALECTS, READERS, load_policy
from vl_jupyter.policy._dialects import Found, Located, reader


def test_the_registered_dialects() -> None:
    assert DIALECTS == (
        "assessment-plan", "component-definition", "system-security-plan", "catalog",
        "profile", "native", "editor", "list",
    )  # fmt: skip
    assert [r.name for r in READERS] == list(DIALECTS)


def test_adding_a_dialect_is_one_reader() -> None:
    @reader("rules", "a mapping with `rules:`", lambda d: isinstance(d, Mapping) and "rules" in d)
    def _rules(data, file, stem):
        found = [Found(rule, "flat", f"rules[{i}]") for i, rule in enumerate(data["rules"])]
        return Located("rules", stem, "unversioned", found, hint="rules[]")

    try:
        policy = load_policy(
            "rules:\n  - {id: r, metric_key: class_imbalance, operator: gt, threshold: 0.5}\n"
        )
        assert (policy.dialect, [c.id for c in policy]) == ("rules", ["r"])
        with pytest.raises(PolicyError, match=r"recognised shapes: .*a mapping with `rules:`"):
            load_policy("nothing: here\n")
        with pytest.raises(ValueError, match="dialect 'rules' is registered twice"):
            reader("rules", "again", lambda d: False)(_rules)
    finally:
        READERS[:] = [r for r in READERS if r.name != "rules"]
    assert [r.name for r in READERS] == list(DIALECTS)


def test_oscal_roots_win_over_a_controls_key_and_two_roots_are_refused() -> None:
    text = (
        "controls: []\ncatalog:\n  controls:\n    - id: a\n      props:\n"
        "        - {name: metric_key, value: class_imbalance}\n"
        "        - {name: threshold, value: '0.5'}\n        - {name: operator, value: gt}\n"
    )
    assert load_policy(text).dialect == "catalog"
    with pytest.raises(PolicyError, match="one policy per file: found roots catalog, profile"):
        load_policy("catalog: {}\nprofile: {}\n")
