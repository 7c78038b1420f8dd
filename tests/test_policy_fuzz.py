"""Hostile policy text, generated: each case ends in a loaded Policy or a PolicyError
with a message; never another exception, a hang, or a control silently dropped."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vl_jupyter.errors import PolicyError, VLWarning
from vl_jupyter.policy import Policy, load_policy

HERE = Path(__file__).parent / "policies"
SEEDS = sorted(
    p.read_text(encoding="utf-8")
    for p in [*HERE.glob("*.yaml"), *HERE.glob("corpus/*.yaml"), *HERE.glob("real/*.yaml")]
)
FUZZ = settings(
    max_examples=120,
    deadline=2000,  # a hang or a blow-up shows as a deadline error
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same cases on every run: a failure here is reproducible
)
# text that means something to YAML or to our reader
TOKENS = [
    ":", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "<<: *a", "!!python/object:os.system ",
    "!!binary ", "\t", "\n", "  ", "#", '"', "'", "null", "~", ".inf", ".nan", "1e999",
    "9" * 5000, "-1", "0x1f", "2026-13-45", "metric_key", "threshold", "operator", "props",
    "input:dimension", "input.target", "control-id", "controls", "links", "href: '#x'",
    "vl-policy: 1", "\x1b[32m", "\ufeff", "\x00", "%YAML 1.1\n", "---\n", "...\n",
]  # fmt: skip


def outcome(source) -> Policy | PolicyError:
    """Load; anything but a Policy or a PolicyError with a message fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VLWarning)
            policy = load_policy(source)
    except PolicyError as exc:
        assert exc.message and str(exc), repr(exc)
        return exc
    assert isinstance(policy, Policy) and len(policy) >= 1
    for control in policy:  # every control either evaluable or saying why not
        assert control.id
        if control.problem is None:
            assert control.threshold is not None and control.metric and control.operator
    return policy


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate-line"]))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(TOKENS) | st.text(max_size=8)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "replace":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at + 1 :]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[: i + 1] + lines[i:])
    return text


@pytest.mark.slow
@FUZZ
@given(mutated())
def test_mutated_real_policies(text: str) -> None:
    outcome(text)


SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["gt", ">=", "greater", "0.8", "nan", "disparate_impact", "class_imbalance",
                       "k_anonymity", "gender", "25,60", "1000000000", "input:dimension"])
)  # fmt: skip
TREES = st.recursive(
    SCALARS,
    lambda kids: st.lists(kids, max_size=4)
    | st.dictionaries(
        st.sampled_from(["controls", "props", "name", "value", "id", "control-id", "metric",
                         "metric_key", "threshold", "operator", "inputs", "params", "links",
                         "href", "uuid", "inventory-items", "implemented-requirements",
                         "control-implementations", "catalog", "assessment-plan", "bins",
                         "reviewed-controls", "vl-policy", "defaults", "phases"])
        | st.text(max_size=6),
        kids,
        max_size=5,
    ),
    max_leaves=25,
)  # fmt: skip


@pytest.mark.slow
@FUZZ
@given(TREES)
def test_random_yaml_structures(tree) -> None:
    outcome(tree)  # as parsed data
    try:
        text = yaml.safe_dump(tree, allow_unicode=True)
    except yaml.YAMLError:
        return
    outcome(text)  # and as text


FIELD = st.sampled_from(["metric_key", "threshold", "operator", "severity", "enforcement_mode",
                         "lifecycle_phase", "input:dimension", "input.target", "bins",
                         "min_group_size", "quasi_identifiers", "warn_threshold", "note"])  # fmt: skip


@st.composite
def flat_controls(draw) -> list[dict]:
    controls = []
    for i in range(draw(st.integers(1, 6))):
        control = {"id": f"c{i}"}
        control.update(draw(st.dictionaries(FIELD, SCALARS, max_size=6)))
        controls.append(control)
    return controls


@pytest.mark.slow
@FUZZ
@given(flat_controls(), st.sampled_from(["list", "editor", "props"]))
def test_no_control_is_ever_dropped(controls: list[dict], shape: str) -> None:
    """However broken each control is, the loaded policy has exactly one per entry."""
    if shape == "list":
        source: object = controls
    elif shape == "editor":
        source = {"title": "fuzz", "controls": controls}
    else:
        source = {
            "catalog": {
                "controls": [
                    {
                        "id": c["id"],
                        "props": [{"name": k, "value": v} for k, v in c.items() if k != "id"],
                    }
                    for c in controls
                ]
            }
        }
    result = outcome(source)
    if isinstance(result, Policy):
        assert [c.id for c in result] == [c["id"] for c in controls]


@st.composite
def joined_catalogs(draw) -> tuple[dict, int]:
    """Headings, requirements and nested requirements with ids from a small pool (so
    they collide), each naming a metric or not; returns the catalog and how many
    controls it must load as: one per metric-bearing entry, plus one per id that no
    entry gives a metric (that one is a control with a problem, never dropped)."""
    pool = ["a", "b", "c"]
    metric = [{"name": "metric_key", "value": "class_imbalance"},
              {"name": "threshold", "value": "0.5"}, {"name": "operator", "value": "gt"}]  # fmt: skip
    entries: list[tuple[str, bool]] = []

    def requirement(depth: int) -> dict:
        cid, has = draw(st.sampled_from(pool)), draw(st.booleans())
        entries.append((cid, has))
        req: dict = {"control-id": cid, "props": metric if has else []}
        if depth < 2 and draw(st.booleans()):
            req["implemented-requirements"] = [
                requirement(depth + 1) for _ in range(draw(st.integers(1, 2)))
            ]
        return req

    headings = [
        {"id": cid, "title": f"heading {cid}"} for cid in draw(st.sets(st.sampled_from(pool)))
    ]
    entries += [(h["id"], False) for h in headings]
    reqs = [requirement(0) for _ in range(draw(st.integers(0, 4)))]
    catalog = {"catalog": {"controls": headings,
                           "control-implementations": [{"implemented-requirements": reqs}]}}  # fmt: skip
    with_metric = sum(has for _, has in entries)
    bare_ids = {cid for cid, _ in entries} - {cid for cid, has in entries if has}
    return catalog, with_metric + len(bare_ids)


@pytest.mark.slow
@FUZZ
@given(joined_catalogs())
def test_joining_by_id_keeps_every_check(case: tuple[dict, int]) -> None:
    catalog, expected = case
    result = outcome(catalog)
    if expected == 0:
        assert isinstance(result, PolicyError) and "no controls found" in result.message
    else:
        assert isinstance(result, Policy), result
        assert len(result) == expected
        assert len({c.id for c in result}) == expected  # each kept under its own id
