"""Snapshot tests of the Report's inline HTML: structure, not pixels."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter.datasets import policy_path
from vl_jupyter.display import STATUS_STYLE


class Tree(HTMLParser):
    """Collects every element as (tag, attrs, text inside) and checks the nesting."""

    VOID = ("br", "hr", "img", "input", "meta", "link")

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict] = []
        self.stack: list[dict] = []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": "", "children": []}
        if self.stack:
            self.stack[-1]["children"].append(element)
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1]["tag"] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data):
        for element in self.stack:
            element["text"] += data

    def find(self, tag=None, cls=None, root=None):
        pool = self.elements if root is None else _walk(root)
        return [
            e
            for e in pool
            if (tag is None or e["tag"] == tag)
            and (cls is None or cls in e["attrs"].get("class", "").split())
        ]


def _walk(element):
    for child in element["children"]:
        yield child
        yield from _walk(child)


def parse(html: str) -> Tree:
    tree = Tree()
    tree.feed(html)
    tree.close()
    assert not tree.stack, "unclosed elements"
    return tree


@pytest.fixture(scope="module")
def audit():
    df = vl.datasets.load_german_credit(derived=True)
    return vl.enforce(
        df, policy_path("german_credit_data"), target="class", gender="gender", age="age",
        evidence=False,
    )  # fmt: skip


def test_one_row_per_control_with_status_word_and_icon(audit):
    html = audit._repr_html_()
    tree = parse(html)
    assert "<script" not in html.lower() and "<style" not in html.lower()
    rows = tree.find("tr", "vl-control")
    assert [r["attrs"]["data-control"] for r in rows] == [r.control_id for r in audit]
    for row, result in zip(rows, audit, strict=True):
        style = STATUS_STYLE[result.status]
        assert row["attrs"]["data-status"] == result.status
        assert f"vl-{result.status}" in row["attrs"]["class"]
        (status,) = tree.find("span", "vl-status", root=row)
        assert status["text"] == f"{style.icon} {style.word}"  # not colour alone
    (header,) = tree.find("div", "vl-report-header")
    for text in ("✖ FAIL", "German credit data audit", "v1.0", "score 50%", "1000 rows"):
        assert text in header["text"]
    assert audit.data["content_hash"].split(":")[-1][:12] in header["text"]


def test_grouped_controls_have_one_bar_per_group(audit):
    tree = parse(audit._repr_html_())
    rows = {r["attrs"]["data-control"]: r for r in tree.find("tr", "vl-control")}
    groups_rows = {r["attrs"]["data-control"]: r for r in tree.find("tr", "vl-groups")}
    # a row of their own under their control: as wide as the table, never squeezed
    assert set(groups_rows) <= set(rows)
    assert list(groups_rows) == ["class-balance", "approvals-by-gender", "approvals-by-age",
                                 "gender-representation", "age-representation"]  # fmt: skip
    (cell,) = [c for c in groups_rows["approvals-by-age"]["children"] if c["attrs"].get("colspan")]
    assert cell["attrs"]["colspan"] == "5"
    for control_id in ("approvals-by-gender", "approvals-by-age", "age-representation"):
        (chart,) = tree.find("div", "vl-bars", root=groups_rows[control_id])
        bars = tree.find("div", "vl-bar-row", root=chart)
        groups = audit[control_id].metadata["groups"]
        assert [b["attrs"]["data-group"] for b in bars] == list(groups)
        for bar, group in zip(bars, groups.values(), strict=True):
            assert f"n={group['n']}" in bar["text"]
            (fill,) = tree.find("span", "vl-bar", root=bar)
            width = float(re.search(r"width:([0-9.]+)%", fill["attrs"]["style"]).group(1))
            assert width == pytest.approx(max(1.0, 100 * min(1.0, abs(group["value"]))), abs=0.06)
            # real text at a real size, in the theme's colours (dark theme, Notebook 7)
            assert "font-size:12px" in chart["attrs"]["style"]
            assert "var(--jp-content-font-color1, #24292f)" in chart["attrs"]["style"]
    assert not tree.find("svg")  # an SVG viewBox shrank with its cell
    age = groups_rows["approvals-by-age"]
    assert "0.591" in age["text"] and "n=149" in age["text"]
    assert "completeness" not in groups_rows  # no per-group value to draw


def test_fail_and_error_rows_say_why_in_one_sentence(audit):
    tree = parse(audit._repr_html_())
    rows = {r["attrs"]["data-control"]: r for r in tree.find("tr", "vl-control")}
    (reason,) = tree.find("div", "vl-reason", root=rows["approvals-by-age"])
    assert reason["text"] == (
        "✖ disparate_impact = 0.7927, which is not > 0.8 "
        "(lowest <25: 0.591 (n=149); highest >=60: 0.745 (n=51))."
    )
    assert not tree.find("div", "vl-reason", root=rows["approvals-by-gender"])  # a pass
    value = rows["approvals-by-age"]["text"]
    assert "0.7927" in value and "[0.644, 0.995]" in value and "> 0.8" in value


def test_error_and_excluded_groups_are_marked():
    frame = pd.DataFrame({"y": [1, 0] * 60 + [1] * 5, "g": ["a"] * 60 + ["b"] * 60 + ["c"] * 5})
    policy = {
        "vl-policy": 1,
        "controls": [
            {"id": "di", "metric": "disparate_impact", "operator": "gt", "threshold": 0.8,
             "inputs": {"target": "target", "dimension": "g"}, "params": {"min_group_size": 10}},
            {"id": "missing", "metric": "disparate_impact", "operator": "gt", "threshold": 0.8,
             "inputs": {"target": "target", "dimension": "religion"}},
        ],
    }  # fmt: skip
    report = vl.enforce(frame, policy, target="y", evidence=False, ci=False)
    tree = parse(report._repr_html_())
    rows = {r["attrs"]["data-control"]: r for r in tree.find("tr", "vl-control")}
    (groups,) = tree.find("tr", "vl-groups")
    bars = tree.find("div", "vl-bar-row", root=groups)
    assert [b["attrs"]["data-group"] for b in bars] == ["a", "b", "c"]
    assert (
        tree.find("span", "vl-excluded", root=bars[2]) and "excluded (n=5 < 10)" in bars[2]["text"]
    )
    assert not tree.find("span", "vl-excluded", root=bars[0])
    (status,) = tree.find("span", "vl-status", root=rows["missing"])
    assert status["text"] == "⊘ ERROR"
    (reason,) = tree.find("div", "vl-reason", root=rows["missing"])
    assert reason["text"].startswith("⊘ role 'dimension' needs variable 'religion'")
    assert reason["text"].endswith(".") and reason["text"].count(". ") <= 1
    header = tree.find("div", "vl-report-header")[0]["text"]
    assert "⊘ ERROR" in header and "not recorded as evidence" in header


def test_escaping_and_the_telemetry_line_share_the_look(evidence_dir, monkeypatch):
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(evidence_dir))
    frame = pd.DataFrame({"y": [1, 0, 1, 0], "g": ["<b>x</b>", "<b>x</b>", "z", "z"]})
    policy = {"vl-policy": 1, "title": "<script>alert(1)</script>", "controls": [
        {"id": "di", "metric": "disparate_impact", "operator": "gt", "threshold": 0.8,
         "inputs": {"target": "target", "dimension": "g"}}]}  # fmt: skip
    html = vl.enforce(frame, policy, target="y", evidence=False, ci=False)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>x</b>" not in html
    with vl.monitor("look", quiet=True) as mon:
        pass
    line = mon.result._repr_html_()
    assert line.startswith('<div class="vl-monitor"')
    assert f"border-left:4px solid {STATUS_STYLE['pass'].colour}" in line
    assert re.search(r"border-left:4px solid #[0-9a-f]{6}", html)


def test_versions_and_thresholds_read_the_same_everywhere():
    from vl_jupyter.display import version_label

    assert [version_label(v) for v in ("1.0", 2, "unversioned", None, " ")] == [
        "v1.0", "v2", "unversioned", "", "",
    ]  # fmt: skip
    frame = pd.DataFrame({"y": [1, 0, 1, 0], "g": ["a", "a", "b", "b"]})
    policy = {"vl-policy": 1, "version": "unversioned", "controls": [
        {"id": "di", "metric": "disparate_impact", "operator": "gt", "threshold": 0.4,
         "inputs": {"target": "target", "dimension": "g"}}]}  # fmt: skip
    tree = parse(vl.enforce(frame, policy, target="y", evidence=False, ci=False)._repr_html_())
    header = tree.find("div", "vl-report-header")[0]["text"]
    assert "unversioned" in header and "vunversioned" not in header
    (row,) = tree.find("tr", "vl-control")
    assert "> 0.4" in row["text"] and "0.400" not in row["text"]
