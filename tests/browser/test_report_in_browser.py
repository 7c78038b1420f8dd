"""The inline report's per-group bars in a real browser: JupyterLab with the sidebar
open (light and dark theme), Notebook 7, and the HTML nbconvert exports.

The notebook is run from the browser (a real kernel), saved, exported with
``jupyter nbconvert``, then reopened in Notebook 7. In each place the bars' labels must
be drawn at a readable size (the SVG they replaced shrank to ~4.5 px text with its
table cell) and in the theme's colours (WCAG AA contrast in both themes). Screenshots
go to docs/img/screens/ when missing there (VL_UPDATE_SCREENSHOT=1 refreshes them).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_sidebar_layout import keep, set_sidebar_width
from test_sidebar_themes import COLOURS_JS, contrast

TOKEN = "vl-browser-test-token"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow

CELL = """\
import vl_jupyter as vl
from vl_jupyter import datasets

df = datasets.load_german_credit(derived=True)
vl.enforce(df, datasets.policy_path("german_credit_data"), target="class",
           gender="gender", age="age", name="bars in the browser")"""

# the size the text of the bars is really drawn at, whatever scaling applies
SIZE_JS = """el => {
  const r = el.getBoundingClientRect();
  return {font: parseFloat(getComputedStyle(el).fontSize), height: r.height, width: r.width};
}"""


INSIDE_JS = """els => els.filter(el => {
  const box = (el.closest('.jp-OutputArea-output') || document.documentElement)
    .getBoundingClientRect();
  return el.getBoundingClientRect().right > Math.min(box.right, window.innerWidth) + 1;
}).map(el => el.textContent)"""


def check_bars(page, where: str) -> None:
    """Every bar's label and value are drawn at >= 11 px and readable on its background."""
    labels = page.locator(".vl-bar-label")
    assert labels.count() >= 7, f"{where}: {labels.count()} bar labels"
    for loc in (labels.first, page.locator(".vl-bar-value").first):
        size = loc.evaluate(SIZE_JS)
        assert size["font"] >= 11 and size["height"] >= 12, f"{where}: bar text {size}"
        ratio, fg, bg = contrast(loc.evaluate(COLOURS_JS))
        assert ratio >= 4.5, f"{where}: bar text {fg} on {bg} has contrast {ratio:.2f}"
    track = page.locator(".vl-bar-track").first.bounding_box()
    assert track is not None and track["width"] >= 100, f"{where}: bar track {track}"
    # every value is in view, not pushed past the output's edge
    outside = page.locator(".vl-bar-value").evaluate_all(INSIDE_JS)
    assert outside == [], f"{where}: bar values past the output's right edge: {outside}"


def test_bars_are_legible_in_lab_dark_nbconvert_and_notebook7(tmp_path, jupyter, browser_page):
    import nbformat
    from playwright.sync_api import expect

    root = tmp_path / "project"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Bars"), nbformat.v4.new_code_cell(CELL)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "audit.ipynb")
    shots = tmp_path / "screenshots"

    with jupyter("lab", root, tmp_path / "lab") as base, browser_page(shots) as page:
        page.goto(f"{base}/lab/tree/audit.ipynb?token={TOKEN}")
        expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(
            timeout=60_000
        )
        page.locator(".jp-Notebook").click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        report = page.locator(".jp-OutputArea-output .vl-report")
        expect(report).to_be_visible(timeout=120_000)
        # the sidebar open at its default width takes room from the notebook
        page.get_by_role("tab", name="Compliance evidence").click()
        expect(page.locator("#vl-jupyter-compliance .vl-Record")).to_have_count(1, timeout=30_000)
        set_sidebar_width(page, 250)
        # the status bar shows this notebook's last verdict
        score = report.locator(".vl-score").inner_text()  # the report's own score, e.g. 50%
        expect(page.locator(".vl-StatusItem")).to_have_text(f"Compliance: ✖ FAIL {score}")
        # from the cell's report to its record: a click on the evidence id opens it
        evidence_id = report.locator(".vl-evidence-id")
        record_id = evidence_id.get_attribute("data-vl-record")
        expect(page.locator("#vl-jupyter-compliance .vl-Record-open")).to_have_count(0)
        evidence_id.click()
        opened = page.locator("#vl-jupyter-compliance .vl-Record-open")
        expect(opened).to_have_attribute("data-record-id", record_id)
        expect(opened.locator(".vl-OpenCell")).to_have_text("Open audit.ipynb at cell [1]")
        # and back: the record's button selects the cell that produced it
        page.locator(".jp-MarkdownCell").first.click()
        expect(page.locator(".jp-Cell.jp-mod-active")).to_have_class(re.compile("jp-MarkdownCell"))
        opened.locator(".vl-OpenCell").click()
        expect(page.locator(".jp-Cell.jp-mod-active")).to_contain_text("vl.enforce(df")
        check_bars(page, "JupyterLab light")
        age = page.locator('.vl-report tr.vl-groups[data-control="approvals-by-age"]')
        age.scroll_into_view_if_needed()
        report.screenshot(path=shots / "report-bars-light.png")
        keep(shots / "report-bars-light.png")

        page.get_by_role("menuitem", name="Settings", exact=True).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
        page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        page.wait_for_timeout(500)  # the theme's stylesheet swap; measured right after
        check_bars(page, "JupyterLab dark")
        report.screenshot(path=shots / "report-bars-dark.png")
        keep(shots / "report-bars-dark.png")
        page.keyboard.press("Control+s")
        expect(page.locator(".jp-mod-dirty")).to_have_count(0)

    saved = nbformat.read(root / "audit.ipynb", as_version=4)
    assert any(
        "vl-bar-row" in o.get("data", {}).get("text/html", "") for o in saved.cells[1].outputs
    ), "the saved notebook holds the report"
    subprocess.run(
        [str(BIN / "jupyter"), "nbconvert", "--to", "html", "audit.ipynb"],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    with browser_page(shots) as page:
        page.goto((root / "audit.html").as_uri())
        expect(page.locator(".vl-report")).to_be_visible()
        check_bars(page, "nbconvert HTML")
        page.locator('.vl-report tr.vl-groups[data-control="approvals-by-age"]').screenshot(
            path=shots / "report-bars-nbconvert.png"
        )
        keep(shots / "report-bars-nbconvert.png")

    subprocess.run([str(BIN / "jupyter"), "trust", "audit.ipynb"], cwd=root, check=True)
    with jupyter("notebook", root, tmp_path / "nb7") as base, browser_page(shots) as page:
        page.goto(f"{base}/notebooks/audit.ipynb?token={TOKEN}")
        expect(page.locator(".jp-OutputArea-output .vl-report")).to_be_visible()
        check_bars(page, "Notebook 7")
        page.locator(".jp-CodeCell").first.screenshot(path=shots / "report-notebook7.png")
        keep(shots / "report-notebook7.png")
