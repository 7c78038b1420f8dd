"""A record over time in the Compliance sidebar, in a real JupyterLab: the sparkline per
control, "Compare with…" (the previous run, and a record picked from the list when the
policy changed in between), and "Export for audit" writing a bundle on disk.

Evidence comes from a script run in the server's root: three runs of the German credit
policy on different samples of the data, then a fourth with a copy of the policy whose
age threshold was lowered (a new policy hash). Debian's headless chromium drives the
page at the default 250 px, light then dark; nothing may scroll sideways. Screenshots go
to docs/img/screens/ when missing there (VL_UPDATE_SCREENSHOT=1 refreshes them).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sidebar_layout import OVERFLOW_JS, keep, set_sidebar_width

TOKEN = "vl-browser-test-token"
pytestmark = pytest.mark.slow

SCRIPT = """
from pathlib import Path
import vl_jupyter as vl
from vl_jupyter import datasets

data = datasets.load_german_credit(derived=True)
policy = datasets.policy_path("german_credit_data")
for seed in (1, 2, 3):
    vl.enforce(data.sample(frac=0.8, random_state=seed), policy, target="class",
               gender="gender", age="age", evidence_dir=".venturalitica")
text = Path(policy).read_text()
v2 = text.replace('version: "1.0"', 'version: "1.1"', 1)
# the age control's threshold, 0.8 -> 0.75 (the first "threshold: 0.8" after its id)
head, tail = v2.split("id: approvals-by-age", 1)
v2 = head + "id: approvals-by-age" + tail.replace("threshold: 0.8", "threshold: 0.75", 1)
assert v2 != text
Path("credit_v2.yaml").write_text(v2)
vl.enforce(data, "credit_v2.yaml", target="class", gender="gender", age="age",
           evidence_dir=".venturalitica")
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory, jupyter) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("lab-overtime")
    root = tmp / "project"
    root.mkdir()
    (root / "audit_credit.py").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "VL_EVIDENCE_DIR"}
    subprocess.run([sys.executable, "audit_credit.py"], cwd=root, env=env, check=True)
    with jupyter("lab", root, tmp) as base:
        yield base, root


def open_panel(page, base: str, workspace: str):
    from playwright.sync_api import expect

    page.goto(f"{base}/lab/workspaces/{workspace}?reset&token={TOKEN}")
    expect(page.locator(".jp-Launcher")).to_be_focused()
    page.get_by_role("tab", name="Compliance evidence").click()
    panel = page.locator("#vl-jupyter-compliance")
    expect(panel.locator(".vl-Record")).to_have_count(4)
    set_sidebar_width(page, 250)
    return panel


def shoot(panel, selector: str, shot: Path) -> None:
    """The panel with the top of ``selector`` scrolled to the top of the record list."""
    panel.locator(selector).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    panel.screenshot(path=shot)
    keep(shot)


def compare_previous(panel) -> None:
    """Open the newest v1.0 record, see a trend per control, compare with the run before."""
    from playwright.sync_api import expect

    panel.locator(".vl-Record .vl-Record-main").nth(1).click()
    expect(panel.locator(".vl-Controls .vl-Control")).to_have_count(6)
    sparks = panel.locator(".vl-Controls .vl-Spark")
    expect(sparks).to_have_count(6)
    age = panel.locator('.vl-Control[data-control="approvals-by-age"]')
    expect(age.locator(".vl-Spark-dot")).to_have_count(3)
    expect(age.locator(".vl-Spark-threshold")).to_have_count(1)
    expect(age.locator(".vl-Spark-mark")).to_have_count(1)
    # the values as text for screen readers, the record on screen last
    expect(age.locator(".vl-Spark .vl-VisuallyHidden")).to_have_text(
        re.compile(
            r"^trend: 3 runs, oldest first: [\d.]+ \w+, [\d.]+ \w+, ([\d.]+) \w+; "
            r"threshold 0\.8; this record \1 \w+$"
        )
    )
    panel.get_by_role("button", name="Compare", exact=True).click()
    cmp = panel.locator(".vl-Comparison")
    expect(cmp).to_be_visible()
    expect(cmp.locator(".vl-Comparison-head")).to_contain_text("against previous")
    changes = cmp.locator(".vl-Change")
    expect(changes).to_have_count(6)
    expect(cmp.locator(".vl-PolicyDiff")).to_have_count(0)  # same policy hash
    age_change = cmp.locator('.vl-Change[data-control="approvals-by-age"]')
    expect(age_change.locator(".vl-Change-values")).to_have_text(
        re.compile(r"^then [\d.]+ now [\d.]+$")
    )
    expect(age_change.locator(".vl-Change-delta")).to_have_text(
        re.compile(r"^[▲▼=] [+−±][\d.]+( \([+−±][\d.]+%\))? (improved|regressed|unchanged)")
    )
    expect(age_change.locator(".vl-Change-test")).to_have_text(
        re.compile(
            r"^(p = [\d.]+|p < 0\.001|no test)(, significant|, within noise)? · "
            r"(no alert|warning|critical|emergency)$"
        )
    )


def test_trend_compare_and_policy_diff_at_250_px(lab, tmp_path, browser_page):
    from playwright.sync_api import expect

    base, _root = lab
    shots = tmp_path / "screenshots"
    with browser_page(shots) as page:
        panel = open_panel(page, base, "overtime")
        compare_previous(panel)
        assert panel.evaluate(OVERFLOW_JS) == []
        shoot(panel, ".vl-Controls", shots / "sidebar-trend-250.png")
        shoot(panel, ".vl-Comparison", shots / "sidebar-compare-250.png")

        # the v1.1 record against the v1.0 run picked from the list: the policy diff
        newest_v1 = panel.locator(".vl-Record-open").get_attribute("data-record-id")
        panel.locator(".vl-Record-open .vl-Record-main").click()  # close it
        panel.locator(".vl-Compliance-list").evaluate("e => { e.scrollTop = 0; }")
        first = panel.locator(".vl-Record").first
        expect(first).to_have_attribute("data-record-id", re.compile(".+"))
        assert first.get_attribute("data-record-id") != newest_v1
        first.locator(".vl-Record-main").click()
        picker = panel.locator(".vl-ComparePicker select")
        expect(picker).to_have_count(1)
        values = [o.get_attribute("value") for o in picker.locator("option").all()]
        # previous, a tag, then the three v1.0 records newest first
        assert values[:2] == ["previous", "tag"] and len(values) == 5, values
        assert values[2] == newest_v1, (values, newest_v1)
        picker.select_option(newest_v1)
        panel.get_by_role("button", name="Compare", exact=True).click()
        diff = panel.locator(".vl-PolicyDiff")
        expect(diff).to_contain_text("policy changed")
        expect(diff).to_contain_text("German credit data audit v1.0")
        expect(diff.locator(".vl-PolicyChange")).to_have_text(
            "approvals-by-agedisparate_impact gt 0.8 → disparate_impact gt 0.75"
        )
        assert panel.evaluate(OVERFLOW_JS) == []
        shoot(panel, ".vl-Comparison", shots / "sidebar-policy-diff-250.png")


def test_export_for_audit_writes_a_bundle(lab, tmp_path, browser_page):
    from playwright.sync_api import expect

    base, root = lab
    shots = tmp_path / "screenshots"
    with browser_page(shots) as page:
        panel = open_panel(page, base, "overtime-export")
        # from the command palette, as from the panel's button
        page.keyboard.press("Control+Shift+C")
        page.locator(".lm-CommandPalette-input").fill("Compliance: Export")
        page.keyboard.press("Enter")
        form = panel.locator(".vl-Export")
        expect(form).to_be_visible()
        form.locator("select").select_option("bundle")
        form.get_by_role("button", name="Export", exact=True).click()
        done = form.locator(".vl-Export-done")
        expect(done).to_contain_text("4 records exported as bundle to")
        expect(done.locator("code")).to_have_text("audit-export/")
        files = form.locator(".vl-Export-files li").all_inner_texts()
        assert files, "no file listed"
        for name in files:
            assert (root / "audit-export" / name).is_file(), name
        bundle = root / "audit-export" / "audit-bundle.zip"
        assert files == ["audit-bundle.zip"], files
        with zipfile.ZipFile(bundle) as z:
            assert z.testzip() is None
            assert len(z.namelist()) > 4, z.namelist()
        expect(page.locator(".jp-toast-container, .Toastify")).to_contain_text(
            "Exported 4 records as bundle"
        )
        assert panel.evaluate(OVERFLOW_JS) == []
        panel.screenshot(path=shots / "sidebar-export-250.png")
        keep(shots / "sidebar-export-250.png")

        # Close folds the form away
        form.get_by_role("button", name="Close").click()
        expect(form).to_have_count(0)


def test_trend_and_compare_in_the_dark_theme(lab, tmp_path, browser_page):
    from playwright.sync_api import expect

    base, _root = lab
    shots = tmp_path / "screenshots"
    with browser_page(shots, color_scheme="dark") as page:
        page.goto(f"{base}/lab/workspaces/overtime-dark?reset&token={TOKEN}")
        expect(page.locator(".jp-Launcher")).to_be_focused()
        page.get_by_role("menuitem", name="Settings", exact=True).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
        page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        panel = open_panel(page, base, "overtime-dark")
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        compare_previous(panel)
        # the line is drawn in the theme's text colour, not a hard-coded dark grey
        stroke = panel.locator(".vl-Spark-line").first.evaluate("e => getComputedStyle(e).stroke")
        nums = [float(x) for x in re.findall(r"[\d.]+", stroke)[:3]]
        assert sum(nums) / 3 > 150, stroke
        assert panel.evaluate(OVERFLOW_JS) == []
        page.wait_for_timeout(300)  # the theme's transition: a screenshot, not an assertion
        shoot(panel, ".vl-Controls", shots / "sidebar-trend-dark-250.png")
        shoot(panel, ".vl-Comparison", shots / "sidebar-compare-dark-250.png")


def test_help_menu_opens_the_quickstart(lab, tmp_path, browser_page):
    from playwright.sync_api import expect

    base, root = lab
    shots = tmp_path / "screenshots"
    with browser_page(shots) as page:
        page.goto(f"{base}/lab/workspaces/overtime-help?reset&token={TOKEN}")
        expect(page.locator(".jp-Launcher")).to_be_focused()
        page.get_by_role("menuitem", name="Help", exact=True).click()
        page.get_by_role("menuitem", name="Compliance: Open Quickstart Notebook").click()
        expect(page.locator(".jp-NotebookPanel .jp-Cell")).to_have_count(5)
        expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tabLabel")).to_contain_text(
            ["vl_quickstart.ipynb"]
        )
        nb = json.loads((root / "vl_quickstart.ipynb").read_text())
        assert nb["nbformat"] == 4 and len(nb["cells"]) == 5
