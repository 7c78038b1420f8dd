"""The policies users bring load, every one: a corpus of our own (one file per shape in
circulation, tests/policies/corpus/) pins how each shape is read, and the real files of
the Venturalítica SDK and its samples (tests/policies/real/, see its README) pin that no
file is rejected and how many of its controls can be evaluated."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from vl_jupyter.errors import VLWarning
from vl_jupyter.policy import Policy, load_policy

HERE = Path(__file__).parent / "policies"
CORPUS = HERE / "corpus"
REAL = HERE / "real"


def quiet(path: Path) -> Policy:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VLWarning)
        return load_policy(path)


def rows(policy: Policy) -> list[tuple]:
    return [
        (c.id, c.metric, c.operator, c.threshold, dict(c.inputs), dict(c.params)) for c in policy
    ]


def test_reviewed_controls_nesting() -> None:
    policy = quiet(CORPUS / "reviewed_controls.yaml")
    assert (policy.dialect, policy.title, policy.version) == (
        "assessment-plan", "Reviewed controls", "1.0",
    )  # fmt: skip
    assert rows(policy) == [
        ("di-gender", "disparate_impact", "gt", 0.8, {"dimension": "gender"}, {}),
        ("balance", "class_imbalance", "gt", 0.2, {}, {}),
    ]
    # the control-selections naming the same ids are selections, not more controls
    assert policy.warnings == ()


def test_hybrid_catalog_joins_headings_requirements_and_inventory() -> None:
    policy = quiet(CORPUS / "hybrid_catalog.yaml")
    assert (policy.dialect, policy.title, policy.version) == ("catalog", "Hybrid catalog", "3")
    assert rows(policy) == [
        ("fair-1", "demographic_parity_diff", "lt", 0.1,
         {"prediction": "prediction", "dimension": "gender"}, {}),
        ("perf-1", "accuracy_score", "ge", 0.8, {"prediction": "prediction"}, {}),
    ]  # fmt: skip
    fair, perf = policy.controls
    # the heading lends its title when the requirement has no description of its own
    assert (fair.description, fair.severity) == ("Fairness and non-discrimination", "high")
    assert (perf.description, perf.line) == ("Accuracy floor", 35)
    assert policy.warnings == ()


def test_requirement_inventory_props_with_requirement_override() -> None:
    policy = quiet(CORPUS / "requirement_inventory.yaml")
    assert rows(policy) == [
        ("di-age", "disparate_impact", "gt", 0.9, {"dimension": "age"}, {"bins": (25.0, 60.0)}),
    ]


def test_catalog_control_without_props_joined_to_its_requirement() -> None:
    policy = quiet(CORPUS / "catalog_heading_joined.yaml")
    assert rows(policy) == [("balance", "class_imbalance", "ge", 0.25, {}, {})]
    assert policy.control("balance").description == "The rarer class is represented."


def test_threshold_as_number_or_string() -> None:
    policy = quiet(CORPUS / "threshold_number_and_string.yaml")
    assert [(c.id, c.threshold) for c in policy] == [
        ("as-number", 0.5), ("as-string", 0.5), ("as-int", 30.0),
    ]  # fmt: skip
    assert policy.dialect == "editor" and not policy.problems


def test_input_colon_and_dot_spellings() -> None:
    policy = quiet(CORPUS / "input_colon_and_dot.yaml")
    assert [dict(c.inputs) for c in policy] == [
        {"prediction": "prediction", "dimension": "gender"},
        {"prediction": "prediction", "dimension": ("gender", "age")},
    ]


def test_comma_and_list_text_params_and_sdk_spellings() -> None:
    policy = quiet(CORPUS / "comma_params.yaml")
    assert rows(policy) == [
        ("k-comma", "k_anonymity", "ge", 5.0, {}, {"quasi_identifiers": ("age", "gender", "job")}),
        ("k-list-text", "k_anonymity", "ge", 5.0, {}, {"quasi_identifiers": ("age", "gender")}),
        # the catalogue reads the SDK's sensitive_attribute and age_buckets itself
        # (age_bucket_method: quantiles + age_buckets: 3 is the SDK's qcut into tertiles)
        ("l-div", "l_diversity", "ge", 2.0, {},
         {"quasi_identifiers": ("age", "gender"), "sensitive_attribute": ("income",)}),
        ("age-tertiles", "group_min_positive_rate", "gt", 0.25, {"dimension": "age"},
         {"age_bucket_method": "quantiles", "age_buckets": 3}),
    ]  # fmt: skip
    assert policy.warnings == ()


def test_duplicate_keys_warn_with_both_lines_and_the_later_value_wins() -> None:
    path = CORPUS / "duplicate_keys.yaml"
    with pytest.warns(VLWarning):
        policy = load_policy(path)
    assert rows(policy) == [("twice", "class_imbalance", "gt", 0.3, {}, {})]
    assert policy.warnings == (
        f"{path}:12: key 'value' is written twice in one mapping (lines 11 and 12); the "
        "later value is used, as YAML 1.1 loaders do: remove one",
        f"{path}:14: control 'twice': 'operator' is given twice (lines 13 and 14); the later "
        "value is used: keep one of them",
    )


def test_nested_requirements_of_one_id_are_all_kept() -> None:
    policy = quiet(CORPUS / "nested_requirements.yaml")
    assert rows(policy) == [
        ("B.1/req-k", "k_anonymity", "ge", 5.0, {}, {"quasi_identifiers": ("age", "gender")}),
        ("B.1/req-l", "l_diversity", "ge", 2.0, {},
         {"quasi_identifiers": ("age", "gender"), "sensitive_attribute": ("income",)}),
    ]  # fmt: skip
    assert {c.description for c in policy} == {"Privacy"}  # lent by the catalog heading
    assert any("control id 'B.1' names 2 checks (lines 26, 27)" in w for w in policy.warnings)


def test_scenario_shape_with_dot_inputs_and_an_sdk_only_metric() -> None:
    policy = quiet(CORPUS / "component_definition_dot_inputs.yaml")
    fair, dice = policy.controls
    assert (fair.metric, dict(fair.inputs), fair.enforcement_mode, fair.phases) == (
        "disparate_impact", {"target": "is_successful", "dimension": "Sex"}, "block", ("training",),
    )  # fmt: skip
    assert fair.problem is None and fair.params == {}  # article, evaluation_method: annotations
    assert (dice.metric, dice.operator, dice.threshold, dice.phases) == (
        "global_dice", "gt", 0.85, ("validation",),
    )  # fmt: skip
    assert dice.problem.startswith("line 29: unknown metric 'global_dice'")
    # not computable from data here, but a precomputed value can be judged
    assert (dice.evaluable, dice.judgeable, dice.compare(0.9), dice.compare(0.85)) == (
        False, True, True, False,
    )  # fmt: skip


UNEVALUABLE = {
    "typo-metric": "line 14: unknown metric 'disparate_impakt' (closest known metrics: "
    "disparate_impact",
    "null-threshold": "line 20: no threshold (add a number, e.g. `gt 0.8`)",
    "no-operator": "no operator (use one of: gt > gte ge >= lt < lte le <= eq == = ne !=",
    "bad-operator": "line 30: unknown operator 'greater'",
    "no-metric": "no metric: the control does not say what to compute",
    "huge-bins": "line 41: bins asks for 1,000,000,000 bins, more than the 1,000 allowed",
}


def test_unevaluable_controls_load_carrying_their_problem() -> None:
    path = CORPUS / "unevaluable.yaml"
    policy = quiet(path)
    assert [c.id for c in policy] == ["good", *UNEVALUABLE]
    assert policy.control("good").problem is None
    for cid, start in UNEVALUABLE.items():
        control = policy.control(cid)
        assert control.problem.startswith(start), (cid, control.problem)
        assert not control.evaluable
    assert [c.id for c in policy.problems] == list(UNEVALUABLE)
    # fields that could be read are kept, the others are as written / None
    typo, null, no_op, bad_op, no_metric, bins = policy.problems
    assert (typo.metric, typo.operator, typo.threshold) == ("disparate_impakt", "gt", 0.8)
    assert (null.metric, null.threshold, no_op.operator, bad_op.operator) == (
        "disparate_impact", None, "", "greater",
    )  # fmt: skip
    assert (no_metric.metric, bins.params) == ("", {})
    assert [c.judgeable for c in policy.problems] == [True, False, False, False, True, True]
    with pytest.raises(ValueError, match="control 'null-threshold' cannot be judged: line 20"):
        null.compare(0.9)
    notes = [w for w in policy.warnings if "cannot be evaluated" in w]
    assert notes[0] == (
        f"{path}:12: control 'typo-metric' cannot be evaluated and will be an error result: "
        + typo.problem
    )
    assert len(notes) == len(UNEVALUABLE)


def test_strict_refuses_the_first_unevaluable_control() -> None:
    from vl_jupyter.errors import PolicyError

    path = CORPUS / "unevaluable.yaml"
    with pytest.raises(PolicyError) as info:
        load_policy(path, strict=True)
    err = info.value
    assert (err.file, err.line, err.control_id) == (str(path), 14, "typo-metric")
    assert err.message == "unknown metric 'disparate_impakt'"
    with pytest.raises(PolicyError, match="control 'typo-metric': cannot be evaluated"):
        load_policy(quiet(path), strict=True)  # a loaded Policy is checked too


# --- the real files ------------------------------------------------------------------

#: per file: (dialect, controls, evaluable now). The controls that cannot be evaluated
#: name a metric key that no registry computes (figures the scenarios compute
#: themselves: global_dice, accuracy_score_gender, the LLM benchmark's lms, ss, icat,
#: type_bias_score) or a template threshold left `null` for the user to set.
#: The evaluable counts are exact: a catalogue change that moves one updates this table.
REAL_FILES = {
    "sdk__notebooks__policy.oscal.yaml": ("assessment-plan", 4, 4),
    "sdk__model_policy.oscal.yaml": ("assessment-plan", 2, 2),
    "sdk__templates__huderia-cobra-design.oscal.yaml": ("assessment-plan", 13, 0),
    "sdk__templates__huderia-cobra-prerelease.oscal.yaml": ("assessment-plan", 6, 0),
    "samples__policies__loan__risks.oscal.yaml": ("assessment-plan", 3, 3),
    "samples__policies__loan__governance-enhanced.oscal.yaml": ("catalog", 11, 11),
    "samples__policies__hiring__hiring-bias.oscal.yaml": ("assessment-plan", 3, 3),
    "samples__policies__hiring__hiring-bias-enhanced.oscal.yaml": ("assessment-plan", 7, 7),
    "samples__policies__hiring__data-quality.oscal.yaml": ("assessment-plan", 1, 1),
    "samples__policies__health__clinical-risk.oscal.yaml": ("assessment-plan", 3, 3),
    "samples__policies__medical__dicom-governance.oscal.yaml": ("assessment-plan", 4, 4),
    "samples__policies__vision__fairness.oscal.yaml": ("assessment-plan", 2, 2),
    "samples__scenarios__loan-credit-scoring__governance-baseline.oscal.yaml": ("catalog", 2, 2),
    "samples__scenarios__loan-credit-scoring__data_policy.oscal.yaml": (
        "system-security-plan", 6, 6,
    ),
    "samples__scenarios__medical-spine-segmentation__fairness.oscal.yaml": ("catalog", 4, 4),
    "samples__scenarios__vision-fairness__fairness_intersectional.oscal.yaml": ("catalog", 2, 2),
    "samples__scenarios__vision-fairness__data_bias.oscal.yaml": ("catalog", 3, 3),
    "samples__scenarios__loan-credit-scoring__model_policy.oscal.yaml": (
        "system-security-plan", 2, 2,
    ),
    "samples__policies__health__data-quality.oscal.yaml": ("assessment-plan", 1, 1),
    "samples__policies__bias__llm-fairness.oscal.yaml": ("assessment-plan", 10, 5),
    "samples__policies__health__clinical-risk-enhanced.oscal.yaml": ("catalog", 8, 8),
    "samples__scenarios__vision-fairness__fairness_gender.oscal.yaml": ("catalog", 6, 6),
    "samples__scenarios__vision-fairness__fairness_age.oscal.yaml": ("catalog", 7, 7),
    "samples__scenarios__vision-fairness__fairness_race.oscal.yaml": ("catalog", 7, 7),
    # accuracy_score_gender, ... : per-task figures the scenario computes itself
    "samples__scenarios__vision-fairness__fairness.oscal.yaml": ("catalog", 20, 8),
    # metric keys of a precomputed evaluation (enforce(metrics=...)), none in any registry
    "samples__scenarios__medical-spine-segmentation__risks.oscal.yaml": (
        "assessment-plan", 10, 0,
    ),
}  # fmt: skip


#: real files that are no policy: a risk register whose implemented-requirements list is
#: empty. Loading it as "no controls" would pass everything, so it is refused, by name.
REFUSED = {
    "samples__scenarios__loan-credit-scoring__risks.oscal.yaml": (
        "no controls found in {path} (dialect system-security-plan)"
    ),
}


def test_every_real_file_is_listed() -> None:
    assert sorted(p.name for p in REAL.glob("*.yaml")) == sorted([*REAL_FILES, *REFUSED])


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_real_file_without_controls_is_refused_with_the_reason(name: str) -> None:
    from vl_jupyter.errors import PolicyError

    path = REAL / name
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.message == REFUSED[name].format(path=path)
    assert "an empty policy would pass everything" in info.value.hint


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_every_real_file_loads(name: str) -> None:
    dialect, controls, evaluable = REAL_FILES[name]
    policy = quiet(REAL / name)
    assert (policy.dialect, len(policy)) == (dialect, controls)
    assert len(policy) - len(policy.problems) == evaluable
    for control in policy.problems:
        assert "unknown metric" in control.problem or "no threshold" in control.problem, (
            control.id,
            control.problem,
        )
        assert any(f"control '{control.id}' cannot be evaluated" in w for w in policy.warnings)


def test_real_corpus_share_evaluable() -> None:
    """Of the metric-bearing entries whose threshold is set (a template's `null` is the
    user's to fill in), how many this catalogue computes from data, and how many can be
    judged at all (a value computed elsewhere, enforce(metrics=...))."""
    total = evaluable = judgeable = 0
    for name in REAL_FILES:
        for control in quiet(REAL / name):
            if control.problem and "no threshold" in control.problem:
                continue
            total += 1
            evaluable += control.problem is None
            judgeable += control.judgeable
    assert (total, judgeable) == (128, 128)
    # 101 (79%) computed from data, every key of the SDK's registry included, plus
    # predictive_equality_diff (the false-positive-rate gap) and column_mean. The other 27
    # name figures no registry computes, which the scenarios compute themselves and hand
    # over (enforce(metrics=...) judges them): the medical scenario's global_dice,
    # min_scanner_dice, ... (10), the vision scenario's accuracy_score_gender, ... (12),
    # the LLM benchmark's lms, ss (2), icat, type_bias_score.
    assert evaluable == 101


def test_a_real_file_with_a_key_written_twice_loads_with_the_later_value() -> None:
    name = "samples__scenarios__vision-fairness__data_bias.oscal.yaml"
    policy = quiet(REAL / name)
    assert policy.control("fairface-race-representation").metric == "class_imbalance"
    assert policy.warnings == (
        f"{REAL / name}:49: key 'value' is written twice in one mapping (lines 33 and 49); "
        "the later value is used, as YAML 1.1 loaders do: remove one",
    )
