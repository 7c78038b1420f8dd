"""Every way a policy can be wrong: a PolicyError naming file, line, control and a hint."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

from vl_jupyter.errors import PolicyError, VLWarning
from vl_jupyter.policy import load_policy


def yml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def fails(tmp_path: Path, text: str, name: str = "policy.yaml") -> PolicyError:
    """Write ``text`` to a file, load it strictly and return the PolicyError it raises.

    Loaded without ``strict``, the same text either raises the same error (a problem of
    the file) or loads with the control carrying that error as its ``problem`` and a
    warning naming file, line and control (a control the engine cannot compute).
    """
    path = tmp_path / name
    path.write_text(yml(text))
    with pytest.raises(PolicyError) as info:
        load_policy(path, strict=True)
    err = info.value
    assert err.file == str(path)
    assert str(err).startswith(str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VLWarning)
            policy = load_policy(path)
    except PolicyError as again:
        assert str(again) == str(err)
        return err
    control = policy.control(err.control_id)
    assert control.problem is not None and err.message in control.problem
    where = f"{path}:{control.line}: control '{control.id}' cannot be evaluated"
    assert any(w.startswith(where) and err.message in w for w in policy.warnings)
    return err


# a valid props control, to build broken ones from
DI = """\
                - {name: metric_key, value: disparate_impact}
                - {name: operator, value: gt}
                - {name: threshold, value: "0.8"}"""


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(PolicyError, match=r"policy file not found: .*nowhere\.yaml") as info:
        load_policy(path)
    assert info.value.file == str(path) and "check the path" in info.value.hint
    with pytest.raises(PolicyError, match=r"policy file not found: missing\.yml"):
        load_policy("missing.yml")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        controls:
          - id: a
            metric: [disparate_impact
          - id: b
    """,
    )
    assert err.line == 4
    assert "cannot read the policy" in err.message and "indentation" in err.hint


def test_python_tags_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    err = fails(
        tmp_path,
        f"""
        controls:
          - id: a
            metric: !!python/object/apply:os.system ["touch {marker}"]
    """,
    )
    assert not marker.exists()
    assert err.line == 3
    assert "python/object" in err.message and "tags" in err.hint


def test_duplicate_key_warns_naming_both_lines_and_the_later_wins(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        yml(
            """
        controls:
          - id: a
            metric: class_imbalance
            operator: gt
            metric: disparate_impact
            threshold: 0.5
    """
        )
    )
    with pytest.warns(VLWarning) as caught:
        policy = load_policy(path, strict=True)  # a warning, even when strict
    expected = (
        f"{path}:5: key 'metric' is written twice in one mapping (lines 3 and 5); the later "
        "value is used, as YAML 1.1 loaders do: remove one"
    )
    assert policy.warnings[0] == expected and str(caught[0].message) == expected
    assert policy.control("a").metric == "disparate_impact"


def test_unknown_root_lists_the_recognised_shapes(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        assesment-plan:
          metadata: {title: x}
    """,
    )
    assert err.line == 1
    assert "unrecognised policy shape (top-level keys: assesment-plan)" in err.message
    assert "did you mean assessment-plan?" in err.hint
    for shape in (
        "assessment-plan",
        "component-definition",
        "system-security-plan",
        "catalog",
        "profile",
        "a list of controls",
    ):
        assert shape in err.hint


@pytest.mark.parametrize(
    ("text", "dialect"),
    [
        (
            "assessment-plan:\n  metadata: {title: Empty}\n  control-implementations: []\n",
            "assessment-plan",
        ),
        ("vl-policy: 1\ncontrols: []\n", "native"),
        ("vl-policy: 1\ntitle: not written yet\n", "native"),
        (
            "system-security-plan:\n  control-implementation: {implemented-requirements: []}\n",
            "system-security-plan",
        ),
    ],
)
def test_no_controls_is_an_error_not_a_pass(tmp_path: Path, text: str, dialect: str) -> None:
    err = fails(tmp_path, text, "empty.yaml")
    assert f"no controls found in {tmp_path / 'empty.yaml'} (dialect {dialect})" in err.message
    assert "refused" in err.hint


def test_empty_file(tmp_path: Path) -> None:
    err = fails(tmp_path, "# nothing yet\n")
    assert "the policy is empty" in err.message


def test_control_without_id(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        f"""
        catalog:
          controls:
            - id: ok
              props:
{DI}
            - title: no id here
              props:
{DI}
    """,
    )
    assert err.line == 8 and err.control_id == "controls[1]"
    assert "a control has no id (at controls[1])" in err.message
    assert "id:" in err.hint


def test_duplicate_control_ids_name_both_lines(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        - {id: same, metric_key: class_imbalance, operator: gt, threshold: 0.5}
        - {id: other, metric_key: class_imbalance, operator: gt, threshold: 0.5}
        - {id: same, metric_key: class_imbalance, operator: gt, threshold: 0.4}
    """,
    )
    assert (err.line, err.control_id) == (3, "same")
    assert "duplicate control id (lines 1 and 3)" in err.message and "unique" in err.hint


def test_missing_metric(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        assessment-plan:
          control-implementations:
            - implemented-requirements:
                - control-id: no-metric
                  props:
                    - {name: threshold, value: "0.8"}
                    - {name: operator, value: gt}
    """,
    )
    assert (err.line, err.control_id) == (4, "no-metric")
    assert "no metric" in err.message and "{name: metric_key, value: disparate_impact}" in err.hint


def test_unknown_metric_suggests_the_closest_keys(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        vl-policy: 1
        controls:
          - id: di
            metric: disparate_impcat
            operator: gt
            threshold: 0.8
    """,
    )
    assert (err.line, err.control_id) == (4, "di")
    assert "unknown metric 'disparate_impcat'" in err.message
    assert err.hint.startswith("closest known metrics: disparate_impact")


def test_missing_threshold(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        catalog:
          controls:
            - id: di
              props:
                - {name: metric_key, value: disparate_impact}
                - {name: operator, value: gt}
    """,
    )
    assert (err.line, err.control_id, err.message) == (3, "di", "no threshold")
    assert "gt 0.8" in err.hint


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("high", "threshold must be a number, got 'high'"),
        ("nan", "threshold must be a finite number"),
    ],
)
def test_bad_threshold(tmp_path: Path, value: str, message: str) -> None:
    err = fails(
        tmp_path,
        f"""
        catalog:
          controls:
            - id: di
              props:
                - {{name: metric_key, value: disparate_impact}}
                - {{name: threshold, value: "{value}"}}
                - {{name: operator, value: gt}}
    """,
    )
    assert (err.line, err.control_id) == (6, "di")
    assert message in err.message


def test_unknown_operator_lists_the_valid_ones(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        - id: di
          metric_key: disparate_impact
          operator: greater
          threshold: 0.8
    """,
    )
    assert (err.line, err.control_id) == (3, "di")
    assert "unknown operator 'greater'" in err.message
    assert "use one of: gt > gte ge >= lt < lte le <= eq == = ne !=" in err.hint
    assert "usually checked as `gt 0.8`" in err.hint


def test_missing_operator(tmp_path: Path) -> None:
    err = fails(tmp_path, "- {id: di, metric_key: disparate_impact, threshold: 0.8}\n")
    assert (err.line, err.control_id, err.message) == (1, "di", "no operator")


def test_unknown_enforcement_mode_and_phase(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        f"""
        catalog:
          controls:
            - id: di
              props:
{DI}
                - {{name: enforcement_mode, value: stop}}
    """,
    )
    assert (err.line, err.control_id) == (8, "di")
    assert "unknown enforcement mode 'stop'" in err.message and "monitor, warn, block" in err.hint
    err = fails(
        tmp_path,
        f"""
        catalog:
          controls:
            - id: di
              props:
{DI}
                - {{name: lifecycle_phase, value: training}}
                - {{name: lifecycle_phase, value: deployment}}
    """,
    )
    assert (err.line, err.control_id) == (9, "di")
    assert "unknown lifecycle phase 'deployment'" in err.message
    assert "training, validation, monitoring, incident" in err.hint


def test_bad_parameter_value(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        vl-policy: 1
        controls:
          - id: di
            metric: disparate_impact
            operator: gt
            threshold: 0.8
            inputs: {dimension: gender}
            params:
              min_group_size: many
    """,
    )
    assert (err.line, err.control_id) == (9, "di")
    assert (
        "bad parameter value: parameter 'min_group_size' must be a number, got 'many'"
        in err.message
    )
    assert "disparate_impact" in err.hint


@pytest.mark.parametrize(
    ("operator", "warn", "message", "hint"),
    [
        ("gt", 0.7, "warn_threshold 0.7 is below threshold 0.8", "must be >= 0.8"),
        ("le", 0.9, "warn_threshold 0.9 is above threshold 0.8", "must be <= 0.8"),
        ("eq", 0.8, "warn_threshold makes no sense with operator eq", "gt/ge/lt/le"),
    ],
)
def test_warn_threshold_on_the_wrong_side(
    tmp_path: Path, operator: str, warn: float, message: str, hint: str
) -> None:
    err = fails(
        tmp_path,
        f"""
        vl-policy: 1
        controls:
          - id: band
            metric: class_imbalance
            operator: {operator}
            threshold: 0.8
            warn_threshold: {warn}
    """,
    )
    assert (err.line, err.control_id) == (7, "band")
    assert message in err.message and hint in err.hint


def test_dangling_inventory_link(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        component-definition:
          components:
            - title: model
              control-implementations:
                - implemented-requirements:
                    - control-id: linked
                      links:
                        - {href: "#inv-1"}
                        - {href: "#inv-missing"}
          local-definitions:
            inventory-items:
              - uuid: inv-1
                props: [{name: operator, value: gt}]
    """,
    )
    assert (err.line, err.control_id) == (9, "linked")
    assert "link #inv-missing points to nothing in this file" in err.message
    assert "inventory items here: inv-1" in err.hint


def test_requirement_without_metric_or_link(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        component-definition:
          components:
            - control-implementations:
                - implemented-requirements:
                    - control-id: lonely
                      links: [{href: "https://example.org"}]
    """,
    )
    assert (err.line, err.control_id) == (5, "lonely")
    assert "no metric" in err.message


def test_profile_selection_without_props_is_not_dropped(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        profile:
          imports:
            - href: catalog.yaml
              include-controls:
                - with-ids: [ac-1, ac-2]
    """,
    )
    assert (err.line, err.control_id) == (5, "ac-1")
    assert "no metric" in err.message


def test_native_unknown_control_key_suggests(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        vl-policy: 1
        controls:
          - id: di
            metric: disparate_impact
            operator: gt
            treshold: 0.8
    """,
    )
    assert (err.line, err.control_id) == (6, "di")
    assert err.message == "unknown control key 'treshold'"
    assert err.hint.startswith("did you mean 'threshold'?")


def test_native_unknown_param_suggests(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        controls:
          - id: di
            metric: disparate_impact
            operator: gt
            threshold: 0.8
            params: {min_grop_size: 30}
    """,
    )
    assert (err.line, err.control_id) == (6, "di")
    assert err.message == "unknown parameter 'min_grop_size' for disparate_impact"
    assert err.hint.startswith("did you mean 'min_group_size'?")


def test_native_unknown_role_and_unread_role(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        vl-policy: 1
        controls:
          - id: di
            metric: disparate_impact
            operator: gt
            threshold: 0.8
            inputs:
              dimention: gender
    """,
    )
    assert (err.line, err.message) == (8, "unknown role 'dimention'")
    assert err.hint.startswith("did you mean 'dimension'?")
    err = fails(
        tmp_path,
        """
        vl-policy: 1
        controls:
          - {id: bal, metric: class_imbalance, operator: gt, threshold: 0.5, inputs: {score: proba}}
    """,
    )
    assert (err.line, err.control_id) == (3, "bal")
    assert err.message == "role 'score' is not read by class_imbalance"


def test_native_root_and_defaults_are_strict(tmp_path: Path) -> None:
    err = fails(tmp_path, "vl-policy: 1\ntitel: x\ncontrols: []\n")
    assert (err.line, err.message) == (2, "unknown top-level key 'titel'")
    assert err.hint.startswith("did you mean 'title'?")
    err = fails(tmp_path, "vl-policy: 2\ncontrols: []\n")
    assert (err.line, err.message) == (1, "unsupported vl-policy version 2")
    err = fails(tmp_path, "defaults: {threshold: 0.8}\ncontrols: []\n")
    assert (err.line, err.message) == (1, "'threshold' cannot have a default")


def test_only_the_dimension_is_intersectional(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """
        vl-policy: 1
        controls:
          - {id: acc, metric: accuracy_score, operator: gt, threshold: 0.7, inputs: {target: [a, b]}}
    """,
    )
    assert (err.line, err.control_id) == (3, "acc")
    assert err.message == "input 'target' names several variables"


def test_a_prop_given_twice_warns_and_the_later_wins() -> None:
    text = yml(
        f"""
        catalog:
          controls:
            - id: di
              props:
{DI}
                - {{name: metric, value: demographic_parity_ratio}}
                - {{name: operator, value: ge}}
    """
    )
    with pytest.warns(VLWarning):
        policy = load_policy(text)
    control = policy.control("di")
    assert (control.metric, control.operator, control.problem) == (
        "demographic_parity_ratio",
        "ge",
        None,
    )
    assert policy.warnings == (
        "<string>:8: control 'di': 'metric' is given twice (lines 5 and 8) (first as "
        "'metric_key'); the later value is used: keep one of them",
        "<string>:9: control 'di': 'operator' is given twice (lines 6 and 9); the later "
        "value is used: keep one of them",
    )


def test_error_from_a_string_names_string_and_line() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(
            "- {id: a, metric_key: nope, operator: gt, threshold: 1}\n- {id: b}\n", strict=True
        )
    assert str(info.value).startswith("<string>:1: control 'a': unknown metric 'nope'")


def test_wrong_source_type() -> None:
    with pytest.raises(PolicyError, match="cannot load a policy from a int"):
        load_policy(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        (
            "min_group_size: 30",
            "a parameter of the metric goes under params: {min_group_size: ...}",
        ),
        ("lifecycle_phase: training", "in this format write phases: [training, ...]"),
        ("input:dimension: gender", "in this format write inputs: {role: variable}"),
    ],
)
def test_native_hints_for_props_vocabulary(tmp_path: Path, key: str, hint: str) -> None:
    err = fails(
        tmp_path,
        f"""
        vl-policy: 1
        controls:
          - id: di
            metric: disparate_impact
            operator: gt
            threshold: 0.8
            {key}
    """,
    )
    assert (err.line, err.control_id) == (7, "di")
    assert err.message == f"unknown control key '{key.rsplit(':', 1)[0]}'"
    assert err.hint == hint


def test_a_one_line_string_that_is_no_file() -> None:
    with pytest.raises(PolicyError, match="policy file not found: policies/credit") as info:
        load_policy("policies/credit")
    assert "existing file" in info.value.hint
