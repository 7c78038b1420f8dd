"""The Report's looks are registered by the display room, never imported by the model:
through IPython's display formatter inside a kernel (Lab, Notebook, nbclient/nbconvert,
VS Code), and through ``_repr_html_`` for front ends that call it without a kernel
(sphinx-gallery, marimo). Both give the display room's exact HTML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

import vl_jupyter as vl
from vl_jupyter import display
from vl_jupyter.enforcement import Comparison, ControlResult, Report, _views
from vl_jupyter.errors import EnforcementError

ROOT = Path(__file__).resolve().parents[1]


def _report(value: float = 0.91) -> Report:
    result = ControlResult("acc", "accuracy", "accuracy", 0.9, value, "gt", True, "high", "pass")
    return Report([result], policy={"title": "P"}, data={}, bindings={})


def test_the_ipython_formatter_renders_report_and_comparison_with_the_display_room():
    shell = InteractiveShell.instance()
    assert display.install(shell) is True
    html = shell.display_formatter.formatters["text/html"]
    assert html.lookup_by_type(Report) is display.report_html
    assert html.lookup_by_type(Comparison) is display.comparison_html
    report = _report()
    comparison = vl.enforcement.compare_reports(report, _report(0.95))
    data, _meta = shell.display_formatter.format(report)
    assert data["text/html"] == display.report_html(report)
    assert data["text/plain"] == repr(report)
    assert shell.display_formatter.format(comparison)[0]["text/html"] == (
        display.comparison_html(comparison)
    )


def test_without_a_kernel_repr_html_gives_the_same_html():
    report = _report()
    assert report._repr_html_() == display.report_html(report)
    assert display.install(shell=object()) is False  # not an IPython shell: no formatter


def test_without_registered_views_the_model_shows_text_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(_views, "_VIEWS", {})
    report = _report()
    assert report._repr_html_() is None  # IPython then shows the text/plain repr
    assert vl.enforcement.compare_reports(report, _report())._repr_html_() is None
    with pytest.raises(EnforcementError) as info:
        report.history(evidence_dir=tmp_path)
    assert str(info.value) == (
        "no history view is registered: import vl_jupyter (the package registers its "
        "display room's views on import)"
    )
    with pytest.raises(EnforcementError) as info:
        report.review(show=False)
    assert str(info.value) == (
        "no review panel is registered: import vl_jupyter (the package registers its "
        "review room's panel on import), or call vl.review(report)"
    )


def test_report_review_opens_the_review_rooms_panel_through_the_registry():
    from vl_jupyter import review

    assert _views.view("review") is review.open_review


@pytest.mark.slow
def test_importing_the_package_inside_ipython_registers_the_formatter_and_outside_it_not():
    code = (
        "import sys\n"
        "{shell}"
        "import vl_jupyter\n"
        "from vl_jupyter import Report, display\n"
        "print('IPython' in sys.modules)\n"
        "{check}"
    )
    inside = code.format(
        shell="from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n",
        check="print(shell.display_formatter.formatters['text/html']"
        ".lookup_by_type(Report) is display.report_html)\n",
    )
    outside = code.format(shell="", check="")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    ran = [
        subprocess.run([sys.executable, "-c", c], capture_output=True, text=True, env=env)
        for c in (inside, outside)
    ]
    assert [r.stdout.split() for r in ran] == [["True", "True"], ["False"]], [
        r.stderr[-2000:] for r in ran
    ]


def test_a_frame_report_still_renders_in_a_real_display_call():
    # the path a notebook takes: IPython.display.display -> the formatter
    from IPython.core.formatters import DisplayFormatter

    formatter = DisplayFormatter()
    display.install(type("Shell", (), {"display_formatter": formatter})())
    report = vl.enforce(pd.DataFrame({"x": [1.0, 2.0]}), {"controls": [
        {"id": "c", "metric": "completeness", "threshold": 0.9, "operator": ">="}]},
        evidence=False)  # fmt: skip
    assert formatter.format(report)[0]["text/html"] == display.report_html(report)
