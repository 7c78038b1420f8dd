"""``enforce(..., bindings={...})``: the explicit variable mapping that always works, also
for variables named like one of enforce's own options (``name``, ``seed``, ``phase``)."""

from __future__ import annotations

import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter.errors import BindingError


def policy(dimension: str) -> dict:
    control = {
        "id": "di",
        "metric": "disparate_impact",
        "operator": "gt",
        "threshold": 0.8,
        "inputs": {"dimension": dimension},
    }
    return {"vl-policy": 1, "title": "bindings", "controls": [control]}


@pytest.fixture
def frame() -> pd.DataFrame:
    # group a: 1 of 2 favourable per block, group b: 2 of 2 -> DI 0.5, a fail
    return pd.DataFrame({"who": list("aabb") * 3, "class": [1, 0, 1, 1] * 3, "s": [0, 1] * 6})


def binding(report: vl.Report, role: str) -> dict:
    return report["di"].metadata["bindings"][role]


@pytest.mark.parametrize("variable", ["name", "seed", "phase", "bins", "evidence"])
def test_a_variable_named_like_an_option_binds_through_the_mapping(frame, variable) -> None:
    report = vl.enforce(
        frame, policy(variable), bindings={variable: "who"}, target="class",
        name="run1", seed=7, evidence=False, ci=False,
    )  # fmt: skip
    assert binding(report, "dimension") == {
        "variable": variable,
        "columns": ["who"],
        "rule": "keyword",
    }
    assert (report.name, report["di"].status, report["di"].actual_value) == ("run1", "fail", 0.5)
    assert report.bindings == {"target": "class", variable: "who"}


def test_roles_and_keyword_bindings_combine_with_the_mapping(frame) -> None:
    both = vl.enforce(
        frame, policy("gender"), bindings={"target": "class"}, gender="who",
        evidence=False, ci=False,
    )  # fmt: skip
    assert binding(both, "target")["columns"] == ["class"]
    assert binding(both, "dimension")["columns"] == ["who"]
    # the same binding given both ways is one binding, not a conflict
    same = vl.enforce(frame, policy("gender"), bindings={"gender": "who"}, gender="who",
                      target="class", evidence=False, ci=False)  # fmt: skip
    assert same.bindings == {"target": "class", "gender": "who"}


def test_a_variable_bound_twice_to_different_columns_is_refused(frame) -> None:
    with pytest.raises(BindingError) as keyword:
        vl.enforce(frame, policy("gender"), bindings={"gender": "s"}, gender="who",
                   target="class", evidence=False)  # fmt: skip
    assert str(keyword.value) == (
        "variable 'gender' is bound twice, to 'who' and in bindings= to 's' (bind each variable once)"
    )
    with pytest.raises(BindingError) as role:
        vl.enforce(frame, policy("gender"), bindings={"target": "s"}, target="class",
                   gender="who", evidence=False)  # fmt: skip
    assert str(role.value).startswith("variable 'target' is bound twice, to 'class' and in ")


def test_the_mapping_is_checked_like_keywords(frame) -> None:
    with pytest.raises(BindingError) as unused:
        vl.enforce(frame, policy("gender"), bindings={"gendr": "who"}, target="class",
                   evidence=False)  # fmt: skip
    assert str(unused.value) == (
        "keyword gendr=... binds no variable of the policy, so it would be ignored while the "
        "evidence records it (close variable names: 'gender')"
    )
    with pytest.raises(BindingError) as missing:
        vl.enforce(frame, policy("name"), bindings={"name": "whom"}, target="class",
                   evidence=False)  # fmt: skip
    assert str(missing.value) == (
        "name='whom': the data has no column 'whom' (closest columns: 'who')"
    )
    with pytest.raises(BindingError) as shape:
        vl.enforce(frame, policy("name"), bindings=[("name", "who")], target="class",  # type: ignore[arg-type]
                   evidence=False)  # fmt: skip
    assert str(shape.value).startswith("bindings= must map variable names to columns, got list")


def test_the_mapping_binds_in_every_policy_of_a_list(frame) -> None:
    both = vl.enforce(frame, [policy("name"), policy("seed")], bindings={"name": "who", "seed": "who"},
                      target="class", evidence=False, ci=False)  # fmt: skip
    assert [(r.control_id, r.status, r.actual_value) for r in both] == [
        ("di", "fail", 0.5), ("di", "fail", 0.5),
    ]  # fmt: skip
    with pytest.raises(BindingError, match=r"keyword nme=\.\.\. binds no variable"):
        vl.enforce(frame, [policy("name"), policy("seed")], bindings={"nme": "who"},
                   target="class", evidence=False)  # fmt: skip


def test_the_cli_binds_a_variable_named_like_an_option(frame, tmp_path) -> None:
    import io
    import json

    import yaml

    from vl_jupyter.cli import main

    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(policy("name")))
    out = io.StringIO()
    code = main(
        ["enforce", "--data", str(tmp_path / "d.csv"), "--policy", str(tmp_path / "p.yaml"),
         "--target", "class", "--bind", "name=who", "--name", "run1", "--no-ci",
         "--evidence-dir", str(tmp_path / "ev"), "--json"],
        out=out,
    )  # fmt: skip
    report = json.loads(out.getvalue())
    assert (code, report["name"], report["bindings"]) == (
        1,
        "run1",
        {"target": "class", "name": "who"},
    )
    assert report["results"][0]["metadata"]["bindings"]["dimension"]["columns"] == ["who"]
