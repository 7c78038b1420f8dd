"""The shipped notebooks run top to bottom on a fresh kernel and show what they promise;
their HTML export keeps the traffic-light tables (plain HTML, no JavaScript needed)."""

from __future__ import annotations

import nbformat
import pytest
from _notebooks import execute, outputs

from vl_jupyter import evidence

pytestmark = pytest.mark.slow


def exported_html(notebook: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(notebook)
    return body


def _rows(html: str) -> dict[str, str]:
    """control id -> status of each traffic-light row."""
    import re

    return dict(re.findall(r'data-control="([^"]+)" data-status="([a-z]+)"', html))


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("quickstart")
    return execute("01_quickstart.ipynb", workdir), workdir


@pytest.fixture(scope="module")
def model_audit(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("model_audit")
    return execute("02_model_audit.ipynb", workdir), workdir


def test_quickstart_audits_mitigates_and_reaudits(quickstart):
    notebook, workdir = quickstart
    texts = outputs(notebook)
    assert "%load_ext vl_jupyter" in notebook.cells[1].source
    html = [t for t in texts if "vl-report-table" in t]
    assert len(html) == 2, "two traffic-light tables: before and after the mitigation"
    assert "✖ FAIL" in html[0] and "approvals-by-age" in html[0]
    assert _rows(html[0])["approvals-by-age"] == "fail"
    assert "✖ FAIL" not in html[1]
    assert _rows(html[1])["approvals-by-age"] in ("pass", "warn")
    assert any('class="vl-policy-table"' in t for t in texts)
    assert any(t.count('class="vl-evidence-record') == 2 for t in texts)
    assert any("VerifyResult(ok=True, checked=2" in t for t in texts)
    assert len(list((workdir / ".venturalitica" / "records").glob("*.json"))) == 2


def test_model_audit_trains_audits_reviews_and_keeps_evidence(model_audit):
    notebook, workdir = model_audit
    texts = outputs(notebook)
    assert any(t.startswith('<div class="vl-monitor"') for t in texts)
    (audit,) = [t for t in texts if "vl-report-table" in t and "vl-report-header" in t]
    rows = _rows(audit)
    assert len(rows) == 6 and "fail" not in rows.values() and "warn" in rows.values()
    assert any('class="vl-review-summary"' in t and "needs work" in t for t in texts)
    root = workdir / ".venturalitica"
    kinds = [r.kind for r in evidence.records(root=root)]
    assert kinds == ["review", "enforce", "telemetry"]
    (review,) = evidence.records("review", root=root)
    (enforced,) = evidence.records("enforce", root=root)
    assert review.data["report_id"] == enforced.id and review.session == enforced.session
    assert review.data["control_id"] == "odds-by-age" and review.data["decision"] == "needs_work"
    assert evidence.verify(root).ok


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("monitoring")
    return execute("04_monitoring.ipynb", workdir), workdir


def test_monitoring_compares_versions_charts_trends_and_catches_drift(monitoring):
    notebook, workdir = monitoring
    texts = outputs(notebook)
    (comparison,) = [t for t in texts if t.startswith('<div class="vl-comparison"')]
    assert "Against production" in comparison
    assert comparison.count('class="vl-change') == 6
    assert "▲ better" in comparison and "▼ worse" in comparison
    trend = [t for t in texts if t.startswith('<div class="vl-trend"')]
    assert len(trend) == 1 and trend[0].count('class="vl-trend-panel"') == 6
    plotly = [
        out for cell in notebook.cells for out in cell.get("outputs", [])
        if "application/vnd.plotly.v1+json" in out.get("data", {})
    ]  # fmt: skip
    assert len(plotly) == 1, "live, the trend is a plotly chart"
    (drift,) = [t for t in texts if "Scoring population drift" in t and "vl-report-table" in t]
    assert _rows(drift)["age-mix"] == "fail", "the older population is caught"
    root = workdir / ".venturalitica"
    records = list(evidence.records("enforce", root=root))
    assert len(records) == 4
    production = evidence.tags(root=root)["production"]
    candidate = [r for r in records if r.data.get("name") == "logistic regression v2 (reweighed)"]
    assert candidate[0].data["comparison"]["baseline"]["id"] == production
    assert evidence.verify(root).ok


@pytest.mark.parametrize("which", ["quickstart", "model_audit", "monitoring"])
def test_exported_html_keeps_the_traffic_lights(which, request):
    notebook = request.getfixturevalue(which)[0]
    body = exported_html(notebook)
    assert 'class="vl-report-table"' in body and 'class="vl-control vl-' in body
    assert 'class="vl-bar-row"' in body  # the per-group bars, plain HTML
    if which == "model_audit":  # the review survives export as plain HTML
        assert 'class="vl-review-summary"' in body
        assert "VBox(" not in body and "&lt;span" not in body  # no widget repr, no raw HTML
        assert "✔ recorded: needs work on odds-by-age" in body  # panel.outcome as text
