"""schema.json describes exactly the native format that load_policy reads, and the docs
example is that format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from vl_jupyter.errors import PolicyError, VLWarning
from vl_jupyter.metrics import CATALOGUE, ROLES, known_keys
from vl_jupyter.policy import (
    ENFORCEMENT_MODES,
    LIFECYCLE_PHASES,
    OPERATOR_ALIASES,
    SCHEMA_PATH,
    load_policy,
)

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "policy-format.md"


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def doc_example() -> str:
    """The first ```yaml block of docs/policy-format.md: the full native example."""
    return re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S).group(1)


def test_schema_ships_inside_the_package(schema: dict) -> None:
    assert SCHEMA_PATH.parent.name == "policy" and SCHEMA_PATH.parent.parent.name == "vl_jupyter"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_docs_example_is_the_native_fixture_and_validates(schema: dict) -> None:
    text = doc_example()
    assert text == (ROOT / "tests" / "policies" / "native.yaml").read_text()
    jsonschema.validate(yaml.safe_load(text), schema, cls=jsonschema.Draft202012Validator)
    policy = load_policy(text)
    assert (policy.dialect, len(policy)) == ("native", 6)


def test_metric_enum_is_the_catalogue(schema: dict) -> None:
    aliases = {a for spec in CATALOGUE.values() for a in spec.aliases}
    enum = schema["$defs"]["metric"]["enum"]
    assert len(enum) == len(set(enum))
    assert set(enum) == set(known_keys()) | aliases, (
        "the metric catalogue changed: regenerate the metric enum of vl_jupyter/policy/schema.json"
    )


def test_vocabulary_enums_match_the_model(schema: dict) -> None:
    defs = schema["$defs"]
    assert defs["operator"]["enum"] == list(OPERATOR_ALIASES)
    assert defs["mode"]["enum"] == list(ENFORCEMENT_MODES)
    assert defs["phase"]["enum"] == list(LIFECYCLE_PHASES)
    assert defs["inputs"]["propertyNames"]["enum"] == list(ROLES)


@pytest.mark.parametrize(
    "control",
    [
        {"id": "a", "metric": "disparate_impact", "operator": "gt", "treshold": 0.8},
        {"id": "a", "metric": "disparate_impcat", "operator": "gt", "threshold": 0.8},
        {"id": "a", "metric": "disparate_impact", "operator": "greater", "threshold": 0.8},
        {"id": "a", "metric": "disparate_impact", "operator": "gt", "threshold": "high"},
        {
            "id": "a",
            "metric": "disparate_impact",
            "operator": "gt",
            "threshold": 0.8,
            "mode": "stop",
        },
        {
            "id": "a",
            "metric": "disparate_impact",
            "operator": "gt",
            "threshold": 0.8,
            "inputs": {"dimention": "x"},
        },
    ],
)
def test_schema_and_loader_both_reject(schema: dict, control: dict) -> None:
    policy = {"vl-policy": 1, "controls": [control]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(policy, schema, cls=jsonschema.Draft202012Validator)
    with pytest.raises(PolicyError, match="control 'a'"):
        load_policy(policy, strict=True)
    with pytest.warns(VLWarning, match="control 'a' cannot be evaluated"):
        loaded = load_policy(policy)  # loads, but can never pass
    assert loaded.control("a").problem


def test_metric_written_twice_the_schema_rejects_the_loader_warns(schema: dict) -> None:
    control = {"id": "a", "metric": "class_imbalance", "metric_key": "disparate_impact"}
    policy = {"vl-policy": 1, "controls": [{**control, "operator": "gt", "threshold": 0.8}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(policy, schema, cls=jsonschema.Draft202012Validator)
    with pytest.warns(VLWarning, match="'metric_key' is given twice"):
        loaded = load_policy(policy, strict=True)
    assert (loaded.control("a").metric, loaded.control("a").problem) == ("disparate_impact", None)


def test_committed_schema_is_what_the_generator_writes() -> None:
    from vl_jupyter.policy._schema import render

    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), (
        "the metric catalogue or the policy model changed: run "
        "`python -m vl_jupyter.policy._schema --write` (make docs)"
    )


def test_schema_knows_each_metrics_params_and_roles(schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(schema)

    def errors(**extra) -> list[str]:
        control = {"id": "a", "operator": "gt", "threshold": 0.8, **extra}
        return [e.message for e in validator.iter_errors({"vl-policy": 1, "controls": [control]})]

    assert errors(metric="disparate_impact", params={"min_group_size": 5, "bins": "25,60"}) == []
    assert errors(metric_key="disparate_impact_ratio", inputs={"dimension": "gender"}) == []
    assert errors(metric="disparate_impact", params={"quasi_identifiers": "a"})  # not DI's
    assert errors(metric="class_imbalance", inputs={"dimension": "gender"})  # not read
    assert errors(metric="k_anonymity", params={"quasi_identifiers": "age,zip"}) == []
