"""Hostile policy files (issue 9): each is refused fast, with bounded memory, by a
PolicyError naming the file and, where there is one, the line; or it loads with the
control that cannot be computed carrying its problem. Never a traceback or a hang."""

from __future__ import annotations

import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import pytest

from vl_jupyter.errors import PolicyError, VLWarning
from vl_jupyter.policy import LIMITS, load_policy


def billion_laughs(levels: int = 9) -> str:
    """The classic: nine anchors, each list repeating the previous one nine times."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnopqrstuvwxyz"
    for i in range(1, levels):
        refs = ",".join([f"*{names[i - 1]}"] * 9)
        lines.append(f"{names[i]}: &{names[i]} [{refs}]")
    return "\n".join(lines) + "\n"


OSCAL_LAUGHS = (
    "assessment-plan:\n"
    "  metadata: {title: laughs}\n"
    "  x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"  x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]\n" for i in range(1, 9))
    + "  control-implementations:\n"
    "    - implemented-requirements:\n"
    "        - control-id: c\n"
    "          props:\n"
    "            - {name: metric_key, value: class_imbalance}\n"
    "            - {name: threshold, value: '0.5'}\n"
    "            - {name: operator, value: gt}\n"
    "            - {name: quasi_identifiers, value: *x8}\n"
)


def refused(source, match: str) -> tuple[PolicyError, float, int]:
    """Load ``source``; return the PolicyError, the seconds it took and the peak bytes."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(PolicyError, match=match) as info:
            load_policy(source)
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return info.value, elapsed, peak


@pytest.mark.parametrize(
    ("text", "line"), [(billion_laughs(), 6), (OSCAL_LAUGHS, 8)], ids=["plain", "in-oscal"]
)
def test_billion_laughs_is_refused_fast_with_bounded_memory(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(text)
    assert 300 < len(text) < 1400  # the 1.3 KB file of the issue
    err, elapsed, peak = refused(path, "expands to more than 500,000 YAML nodes")
    assert (err.file, err.line) == (str(path), line)
    assert "billion laughs" in err.hint
    assert elapsed < 1.0, elapsed  # measured: ~2 ms
    assert peak < 20 * 2**20, peak  # measured: well under 1 MB


def test_an_alias_cycle_is_refused(tmp_path: Path) -> None:
    err, _, _ = refused("a: &a [1, *a]\nb: 2\n", "a cycle")
    assert err.line == 1


def test_deep_nesting_is_refused() -> None:
    err, elapsed, _ = refused("x: " + "[" * 80 + "]" * 80 + "\n", "nested more than 64 levels")
    assert elapsed < 1.0
    # far deeper than the C parser allows: its own limit, still a PolicyError with a line
    err, elapsed, _ = refused("x: " + "[" * 200_000 + "\n", "cannot read the policy")
    assert err.line == 1 and elapsed < 1.0


def test_deep_shared_or_cyclic_python_data_is_refused() -> None:
    data: dict = {}
    node = data
    for _ in range(sys.getrecursionlimit() + 100):
        node["x"] = {}
        node = node["x"]
    refused(data, "the policy data is nested more than 64 levels deep")
    cyclic: dict = {"controls": []}
    cyclic["controls"].append(cyclic)
    refused(cyclic, "the policy data contains itself")
    shallow_first: list = [{}]  # each link also hangs off the root: first met at depth 2
    chain = shallow_first[0]
    for _ in range(100):
        chain["x"] = {}
        chain = chain["x"]
        shallow_first.append(chain)
    refused({"controls": shallow_first}, "the policy data is nested more than 64")
    laughs: list = ["lol"] * 10
    for _ in range(9):
        laughs = [laughs] * 10  # 10**10 items once expanded, 100 distinct objects
    err, elapsed, peak = refused({"controls": laughs}, "expands to more than 500,000 items")
    assert err.file == "<dict>" and elapsed < 1.0 and peak < 2**20


def test_a_50_mb_policy_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:  # sparse: 50 MB on the size, nothing on the disk
        fh.truncate(50 * 2**20)
    err, elapsed, peak = refused(path, "the policy is 52,428,800 bytes, more than the 4,194,304")
    assert err.file == str(path) and elapsed < 0.5 and peak < 2**20
    refused("controls: []\n" + "#" * (LIMITS.max_bytes + 1), "more than the 4,194,304 bytes")


def test_too_many_controls_is_refused() -> None:
    controls = [{"id": f"c{i}", "metric_key": "class_imbalance"} for i in range(10_001)]
    err, elapsed, _ = refused(controls, "has 10,001 controls, more than the 10,000 a policy")
    assert err.file == "<dict>" and elapsed < 10  # refused before any control is read


def test_an_integer_longer_than_python_converts_is_a_policy_error() -> None:
    err, _, _ = refused(
        "- {id: a, metric_key: class_imbalance, operator: gt, threshold: " + "9" * 5000 + "}\n",
        "cannot read a value of the policy: Exceeds the limit",
    )
    assert err.file == "<string>"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ("{bins: 1000000000}", "bins asks for 1,000,000,000 bins, more than the 1,000 allowed"),
        ("{bins: .inf}", "bad parameter value"),
        ("{bins: 1e400}", "bad parameter value"),
        ("{min_group_size: .inf}", "bad parameter value"),
        ("{min_group_size: 1e400}", "bad parameter value"),
        (f"{{bins: [{', '.join(map(str, range(1001)))}]}}", "bins asks for 1,001 bins"),
    ],
)
def test_huge_or_infinite_parameters_make_the_control_unevaluable(
    params: str, problem: str
) -> None:
    text = (
        "vl-policy: 1\ncontrols:\n"
        "  - {id: ok, metric: class_imbalance, operator: gt, threshold: 0.5}\n"
        "  - {id: bomb, metric: disparate_impact, operator: gt, threshold: 0.8,\n"
        f"     inputs: {{dimension: age}}, params: {params}}}\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VLWarning)
        policy = load_policy(text)
    assert policy.control("ok").problem is None
    assert problem in policy.control("bomb").problem
    with pytest.raises(PolicyError, match="control 'bomb'"):
        load_policy(text, strict=True)


@pytest.mark.parametrize(
    "threshold", ["1e400", "-1e400", ".nan", ".inf", "'1e99999'", "'nan'", "1" + "0" * 400]
)
def test_non_finite_thresholds_make_the_control_unevaluable(threshold: str) -> None:
    text = f"- {{id: t, metric_key: class_imbalance, operator: gt, threshold: {threshold}}}\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VLWarning)
        control = load_policy(text).control("t")
    assert control.threshold is None
    assert "threshold must be a finite number" in control.problem


@pytest.mark.slow
def test_a_policy_near_the_size_limit_parses_in_seconds() -> None:
    """0.5 MB of ordinary controls (the limit is 4 MiB): measured ~0.5 s on this machine
    (3.9 MB, 9,999 controls: ~3 s)."""
    line = "  - {{id: c{}, metric: class_imbalance, operator: gt, threshold: 0.5, description: '{}'}}\n"
    text = "vl-policy: 1\ncontrols:\n" + "".join(line.format(i, "x" * 40) for i in range(4000))
    assert len(text) > 450_000
    start = time.perf_counter()
    policy = load_policy(text)
    assert len(policy) == 4000 and time.perf_counter() - start < 10


def test_controls_written_twice_say_how_many_controls_are_discarded() -> None:
    text = (
        "controls:\n"
        "  - {id: a, metric_key: class_imbalance, operator: gt, threshold: 0.5}\n"
        "  - {id: b, metric_key: class_imbalance, operator: gt, threshold: 0.4}\n"
        "controls:\n"
        "  - {id: c, metric_key: class_imbalance, operator: gt, threshold: 0.3}\n"
    )
    with pytest.warns(VLWarning):
        policy = load_policy(text)
    assert [c.id for c in policy] == ["c"]
    assert policy.warnings == (
        "<string>:4: key 'controls' is written twice in one mapping (lines 1 and 4); the "
        "later value is used, as YAML 1.1 loaders do, and the earlier list of 2 item(s) is "
        "discarded: remove one",
    )


def test_a_fifo_or_device_is_refused_without_reading(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)  # reading it would block forever
    err, elapsed, _ = refused(fifo, "the policy is not a regular file")
    assert err.file == str(fifo) and elapsed < 1.0
    refused(Path("/dev/zero"), "the policy is not a regular file")  # would never end
    refused(tmp_path, "the policy is not a regular file")  # a directory
