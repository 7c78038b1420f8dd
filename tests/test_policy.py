"""load_policy reads every dialect into the same Control model (fixtures in tests/policies/)."""

from __future__ import annotations

import hashlib
import json
import textwrap
import warnings
from pathlib import Path

import pytest

from vl_jupyter.errors import VLWarning
from vl_jupyter.policy import OPERATORS, Control, Policy, load_policy

POLICIES = Path(__file__).parent / "policies"


def yml(text: str) -> str:
    """Dedent a YAML literal so that its first line is line 1."""
    return textwrap.dedent(text).lstrip("\n")


def summary(policy: Policy) -> list[tuple]:
    return [
        (c.id, c.metric, c.operator, c.threshold, dict(c.inputs), dict(c.params)) for c in policy
    ]


def test_native_fixture() -> None:
    policy = load_policy(POLICIES / "native.yaml")
    assert (policy.dialect, policy.title, policy.version) == (
        "native",
        "German credit scoring",
        "1.0",
    )
    assert policy.warnings == ()
    age = (25.0, 60.0)  # bins: "25,60"
    assert summary(policy) == [
        ("di-gender", "disparate_impact", "gt", 0.8, {"target": "target", "dimension": "gender"}, {"pos_label": 1}),
        ("di-age-band", "disparate_impact", "gt", 0.8, {"target": "target", "dimension": "age"},
         {"pos_label": 1, "bins": age, "min_group_size": 20}),
        ("dp-gender-age", "demographic_parity_diff", "lt", 0.15,
         {"target": "target", "prediction": "prediction", "dimension": ("gender", "age")},
         {"pos_label": 1, "bins": age, "min_group_size": 10}),
        ("class-balance", "class_imbalance", "gt", 0.4, {"target": "target"}, {}),
        ("smallest-gender-group", "group_size_min", "ge", 30.0, {"dimension": "gender"}, {}),
        ("accuracy-floor", "accuracy_score", "ge", 0.7, {"target": "target", "prediction": "prediction"}, {}),
    ]  # fmt: skip
    di = policy.control("di-gender")
    assert (di.line, di.warn_threshold, di.severity, di.phases) == (
        11,
        0.9,
        "high",
        ("training", "validation"),
    )
    assert di.description == "Approval rates across genders follow the four-fifths rule."
    assert policy.control("class-balance").severity == "low"
    assert policy.control("smallest-gender-group").severity == "medium"  # from defaults
    block = policy.control("accuracy-floor")
    assert (block.enforcement_mode, block.line, block.severity) == ("block", 52, "critical")
    assert {c.enforcement_mode for c in policy if c.id != "accuracy-floor"} == {"warn"}


def test_assessment_plan_fixture() -> None:
    policy = load_policy(POLICIES / "assessment_plan.yaml")
    assert (policy.dialect, policy.title, policy.version) == (
        "assessment-plan",
        "Example lending policy",
        "2.0",
    )
    assert summary(policy) == [
        ("approvals-by-sex", "disparate_impact", "gt", 0.8, {"target": "target", "dimension": "gender"}, {}),
        ("approvals-by-sex-and-age", "demographic_parity_diff", "lt", 0.1,
         {"prediction": "prediction", "dimension": ("gender", "age")}, {"bins": (25.0, 60.0), "min_group_size": 20}),
        ("class-balance", "class_imbalance", "ge", 0.33, {"target": "target"}, {}),
    ]  # fmt: skip
    sex, both, balance = policy.controls
    assert (sex.line, both.line, balance.line) == (10, 21, 36)
    assert sex.phases == ("training", "validation")  # lifecycle_phase repeated
    assert sex.severity == "high" and sex.enforcement_mode == "warn"
    assert both.enforcement_mode == "block"
    assert both.metric_as_written == "demographic_parity_difference"
    assert sex.metric_as_written is None
    assert balance.description == "Neither class is rarer than a third of the other."


def test_component_definition_links_to_inventory_items() -> None:
    policy = load_policy(POLICIES / "component_definition.yaml")
    assert (policy.dialect, policy.title, policy.version) == (
        "component-definition",
        "Credit scoring model component",
        "1.3",
    )
    assert summary(policy) == [
        ("accuracy-floor", "accuracy_score", "gt", 0.75, {"target": "target", "prediction": "prediction"}, {}),
        ("privacy-k", "k_anonymity", "ge", 5.0, {}, {"quasi_identifiers": ("age", "zip", "gender")}),
        # the item under a root inventory-items says 0.1; the requirement's own prop wins
        ("equal-opportunity", "equal_opportunity_diff", "lt", 0.15,
         {"target": "target", "prediction": "prediction", "dimension": "gender"}, {}),
    ]  # fmt: skip
    assert policy.control("accuracy-floor").metric_as_written == "accuracy"
    assert policy.control("privacy-k").line == 22
    assert policy.control("privacy-k").description.startswith("Every applicant")


def test_system_security_plan_fixture() -> None:
    policy = load_policy(POLICIES / "system_security_plan.yaml")
    assert (policy.dialect, policy.title, policy.version) == (
        "system-security-plan",
        "Loan approval system",
        "2024.1",
    )
    completeness, recall = policy.controls
    assert (completeness.metric, completeness.operator, completeness.threshold) == (
        "data_completeness",
        "ge",
        0.95,
    )
    assert completeness.params == {"columns": ("age", "income", "gender")}
    assert completeness.phases == ("training", "monitoring")  # comma-separated phases
    assert (recall.metric, recall.metric_as_written, recall.operator) == (
        "recall_score",
        "recall",
        "gt",
    )
    assert (recall.threshold, recall.warn_threshold) == (0.6, 0.7)
    assert recall.params == {"pos_label": 1}  # "1" from a prop is the number 1
    assert recall.inputs == {"target": "default", "prediction": "predicted_default"}
    assert (completeness.line, recall.line) == (10, 18)


def test_catalog_fixture_nested_controls_and_groups() -> None:
    policy = load_policy(POLICIES / "catalog.yaml")
    assert (policy.dialect, policy.title, policy.version) == (
        "catalog",
        "Data governance catalog",
        "0.4",
    )
    # "dq" only holds sub-controls (its `label` prop is OSCAL bookkeeping): a heading
    assert summary(policy) == [
        ("dq-1", "missing_rate_max", "le", 0.05, {}, {}),
        ("dq-2", "duplicate_rate", "lt", 0.01, {}, {}),
        ("fair-1", "group_size_min", "ge", 30.0, {"dimension": "gender"}, {}),
        ("fair-2", "group_share_min", "ge", 0.1, {"dimension": "age"}, {"bins": 4}),
    ]
    assert policy.control("fair-2").description == "Age bands are represented"
    assert [c.line for c in policy] == [11, 17, 27, 39]
    assert policy.warnings == ()


def test_profile_fixture_merges_imports_and_alters() -> None:
    policy = load_policy(POLICIES / "profile.yaml")
    assert (policy.dialect, policy.title, policy.version) == (
        "profile",
        "Tightened lending profile",
        "1.1",
    )
    assert summary(policy) == [
        ("fair-1", "disparate_impact", "gt", 0.9, {"dimension": "gender"}, {}),
        ("imbalance", "class_imbalance", "gt", 0.6, {"target": "target"}, {}),  # alter tightens 0.5
    ]
    assert [c.line for c in policy] == [8, 9]


def test_bare_list_fixture_reads_both_input_spellings() -> None:
    policy = load_policy(POLICIES / "bare_list.yaml")
    assert (policy.dialect, policy.title, policy.version) == ("list", "bare_list", "unversioned")
    assert summary(policy) == [
        (
            "di-gender",
            "disparate_impact",
            "gt",
            0.8,
            {"dimension": "gender", "target": "class"},
            {},
        ),
        (
            "f1",
            "f1_score",
            "ge",
            0.7,
            {"target": "class", "prediction": "pred"},
            {"average": "macro"},
        ),
    ]
    assert [c.line for c in policy] == [1, 7]


def test_editor_fixture() -> None:
    policy = load_policy(POLICIES / "editor.yaml")
    assert (policy.dialect, policy.title, policy.version) == (
        "editor",
        "Credit policy (from the editor)",
        "unversioned",
    )
    assert summary(policy) == [
        ("fairness-gender", "disparate_impact", "gt", 0.8, {}, {}),
        ("balance", "class_imbalance", "ge", 0.2, {}, {}),
    ]
    assert [(c.severity, c.line) for c in policy] == [("high", 3), ("low", 9)]
    assert policy.controls[0].description == "Four-fifths rule across genders"


def test_every_fixture_is_one_dialect() -> None:
    dialects = {load_policy(p).dialect for p in POLICIES.glob("*.yaml")}
    assert dialects == {"native", "assessment-plan", "component-definition", "system-security-plan",
                        "catalog", "profile", "list", "editor"}  # fmt: skip


def test_input_colon_and_dot_spellings_are_the_same() -> None:
    def one(name: str) -> Control:
        props = [
            {"name": "metric_key", "value": "group_size_min"},
            {"name": "operator", "value": "ge"},
            {"name": "threshold", "value": "30"},
            {"name": name, "value": "gender"},
        ]
        return load_policy({"catalog": {"controls": [{"id": "g", "props": props}]}}).controls[0]

    assert one("input:dimension").inputs == one("input.dimension").inputs == {"dimension": "gender"}


def test_comma_and_list_dimensions_are_tuples() -> None:
    text = yml("""
        - {id: a, metric_key: group_size_min, operator: ge, threshold: 5, "input:dimension": "gender, age"}
        - {id: b, metric_key: group_size_min, operator: ge, threshold: 5, "input:dimension": [gender, age]}
        - {id: c, metric_key: group_size_min, operator: ge, threshold: 5, "input:dimension": [gender]}
    """)
    a, b, c = load_policy(text)
    assert a.inputs["dimension"] == b.inputs["dimension"] == ("gender", "age")
    assert c.inputs["dimension"] == "gender"


def test_yaml_string_input() -> None:
    text = yml("""
        title: From a string
        controls:
          - {id: a, metric_key: class_imbalance, operator: gt, threshold: 0.5}
    """)
    policy = load_policy(text)
    assert (policy.source, policy.text, policy.title) == ("<string>", text, "From a string")
    assert policy.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert policy.controls[0].line == 3


def test_dict_input() -> None:
    data = {
        "vl-policy": 1,
        "controls": [{"id": "a", "metric": "class_imbalance", "operator": ">", "threshold": 0.5}],
    }
    policy = load_policy(data)
    canonical = json.dumps(data, sort_keys=True)
    assert (policy.source, policy.text, policy.dialect) == ("<dict>", canonical, "native")
    assert policy.sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    assert (policy.title, policy.version) == ("policy", "unversioned")
    assert policy.controls[0].line is None and policy.controls[0].operator == "gt"


def test_path_and_str_path_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (POLICIES / "editor.yaml").read_bytes()
    path = tmp_path / "credit.yml"
    path.write_bytes(raw)
    from_path = load_policy(path)
    from_str = load_policy(str(path))
    assert from_path.controls == from_str.controls
    assert from_path.source == from_str.source == str(path)
    assert from_path.sha256 == hashlib.sha256(raw).hexdigest()
    assert from_path.text == raw.decode()
    monkeypatch.chdir(tmp_path)
    assert load_policy("credit.yml").source == "credit.yml"  # the path as given


def test_json_file_and_default_title(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text(
        json.dumps(
            {
                "controls": [
                    {"id": "x", "metric_key": "roc_auc", "operator": ">=", "threshold": "0.7"}
                ]
            },
            indent="\t",
        )
    )
    policy = load_policy(path)
    assert (policy.title, policy.version, policy.dialect) == ("gate", "unversioned", "editor")
    assert (policy.controls[0].metric, policy.controls[0].threshold, policy.controls[0].line) == (
        "roc_auc",
        0.7,
        3,
    )


def test_policy_is_returned_as_is() -> None:
    policy = load_policy(POLICIES / "native.yaml")
    assert load_policy(policy) is policy


def test_operators_export_and_strict_comparison() -> None:
    assert set(OPERATORS) == {"gt", "ge", "lt", "le", "eq", "ne"}
    control = load_policy(POLICIES / "native.yaml").control("di-gender")
    assert control.compare(0.81) and not control.compare(0.8)


def test_unknown_prop_parameter_is_a_warning_and_dropped() -> None:
    text = yml("""
        catalog:
          controls:
            - id: di
              props:
                - {name: metric_key, value: disparate_impact}
                - {name: operator, value: gt}
                - {name: threshold, value: "0.8"}
                - {name: "input:dimension", value: gender}
                - {name: min_grop_size, value: "30"}
    """)
    with pytest.warns(
        VLWarning, match=r"<string>:9: control 'di': unknown parameter 'min_grop_size'"
    ):
        policy = load_policy(text)
    assert policy.controls[0].params == {}
    assert len(policy.warnings) == 1
    assert "did you mean 'min_group_size'" in policy.warnings[0]


def test_role_not_read_by_metric_is_a_warning_in_props_dialects() -> None:
    text = yml("""
        - id: k
          metric_key: k_anonymity
          operator: ge
          threshold: 5
          quasi_identifiers: age,zip
          input:target: class
    """)
    with pytest.warns(
        VLWarning, match=r"<string>:6: control 'k': role 'target' is not read by k_anonymity"
    ):
        policy = load_policy(text)
    assert policy.controls[0].inputs == {}
    assert policy.controls[0].params == {"quasi_identifiers": ("age", "zip")}


def test_direction_warning() -> None:
    text = "- {id: di, metric_key: disparate_impact, operator: lt, threshold: 0.8}\n"
    with pytest.warns(VLWarning, match="disparate_impact is better when higher"):
        policy = load_policy(text)
    assert policy.warnings == (
        "<string>:1: control 'di': disparate_impact is better when higher, but the control "
        "passes when it is < 0.8; check the operator",
    )


def test_equalized_odds_ratio_with_lt_explains_the_two_meanings() -> None:
    text = "- {id: eo, metric_key: equalized_odds_ratio, operator: lt, threshold: 0.1}\n"
    with pytest.warns(VLWarning) as record:
        policy = load_policy(text)
    (note,) = policy.warnings
    assert note.startswith("<string>:1: control 'eo': ")
    for part in (
        "fairlearn's ratio",
        "1 = parity",
        "Venturalítica SDK",
        "TPR and FPR gaps",
        "equalized_odds_diff",
    ):
        assert part in note
    assert [str(w.message) for w in record if w.category is VLWarning] == [note]


def test_no_warning_for_a_well_pointed_policy() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_policy(POLICIES / "native.yaml")


def test_yaml_anchors_and_merge_keys_share_settings() -> None:
    text = yml("""
        vl-policy: 1
        controls:
          - &fair {id: di-gender, metric: disparate_impact, operator: gt, threshold: 0.8, inputs: {dimension: gender}}
          - <<: *fair
            id: di-age
            inputs: {dimension: age}
    """)
    gender, age = load_policy(text)
    assert (age.id, age.metric, age.threshold, age.inputs, age.line) == (
        "di-age",
        "disparate_impact",
        0.8,
        {"dimension": "age"},
        4,
    )
    assert gender.inputs == {"dimension": "gender"}
