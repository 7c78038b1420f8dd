"""The Compliance sidebar at the widths people use it, in a real JupyterLab.

Evidence comes from a small script (``audit_credit.py``, so records are named after
their source as a user's would be) run in the server's root; then Debian's headless
chromium opens JupyterLab and sets the right sidebar to 250 px (JupyterLab's default),
320 px and 450 px. At each width nothing may scroll sideways, with a record's detail
open; axe-core checks the panel's ARIA roles, names and contrast; the command palette
lists the "Compliance:" commands. A screenshot per state goes to docs/img/screens/
(what the README links) when missing there; VL_UPDATE_SCREENSHOT=1 refreshes them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "docs" / "img" / "screens"
TOKEN = "vl-browser-test-token"
pytestmark = pytest.mark.slow

SCRIPT = """
import vl_jupyter as vl
from vl_jupyter import datasets

data = datasets.load_german_credit(derived=True)
for name in (None, "after reweighing the under-25 applicants"):
    vl.enforce(data, datasets.policy_path("german_credit_data"), target="class", gender="gender", age="age",
               name=name, evidence_dir=".venturalitica")
with vl.monitor("train_credit_model", quiet=True, evidence_dir=".venturalitica"):
    sum(range(10**5))
"""

# every element of the panel whose content is wider than its box (a sideways scroll)
OVERFLOW_JS = """panel => {
  const wide = [];
  for (const el of [panel, ...panel.querySelectorAll('*')]) {
    const style = getComputedStyle(el);
    const scrolls = ['auto', 'scroll'].includes(style.overflowX);
    if ((el === panel || scrolls) && el.scrollWidth > el.clientWidth + 1) {
      wide.push(`${el.className || el.tagName}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  const right = panel.getBoundingClientRect().right;
  for (const el of panel.querySelectorAll('button, input, select, .vl-Light, time, a')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > right + 1) {
      wide.push(`${el.className || el.tagName} ends at ${r.right} > ${right}`);
    }
  }
  return wide;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory, jupyter) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("lab-layout")
    root = tmp / "project"
    root.mkdir()
    (root / "audit_credit.py").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "VL_EVIDENCE_DIR"}
    subprocess.run([sys.executable, "audit_credit.py"], cwd=root, env=env, check=True)
    with jupyter("lab", root, tmp, {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}) as base:
        yield base


def set_sidebar_width(page, px: int) -> None:
    """Drag the right sidebar's split handle until the sidebar is ``px`` wide."""
    stack = page.locator("#jp-right-stack")
    for _ in range(3):
        box = stack.bounding_box()
        assert box is not None
        delta = px - box["width"]
        if abs(delta) < 1:
            return
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] - 2, y)
        page.mouse.down()
        page.mouse.move(box["x"] - 2 - delta, y, steps=5)
        page.mouse.up()
    width = stack.bounding_box()["width"]
    assert abs(width - px) <= 2, f"the right sidebar is {width} px wide, not {px}"


def keep(shot: Path) -> None:
    """Copy a screenshot to docs/img/screens/ when it is missing there, or always with
    VL_UPDATE_SCREENSHOT=1 (a plain test run leaves the committed ones alone)."""
    target = SCREENS / shot.name
    if not target.exists() or os.environ.get("VL_UPDATE_SCREENSHOT") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target)


def test_no_sideways_scroll_at_250_320_and_450_px(lab, tmp_path, browser_page):
    from axe_playwright_python import sync_playwright as axe_sync
    from playwright.sync_api import expect

    shots = tmp_path / "screenshots"
    with browser_page(shots) as page:
        page.goto(f"{lab}/lab/workspaces/layout?reset&token={TOKEN}")
        expect(page.locator(".jp-Launcher")).to_be_focused()
        page.get_by_role("tab", name="Compliance evidence").click()
        panel = page.locator("#vl-jupyter-compliance")
        records = panel.locator(".vl-Record")
        expect(records).to_have_count(3)
        # told apart by policy, name, source, cell and date; no raw id as a heading
        titles = panel.locator(".vl-Record-title").all_inner_texts()
        assert titles == [
            "train_credit_model",
            "German credit data audit v1.0 · after reweighing the under-25 applicants",
            "German credit data audit v1.0",
        ], titles
        sources = panel.locator(".vl-Source").all_inner_texts()
        assert sources == ["audit_credit.py"] * 3, sources
        for when in panel.locator(".vl-Time").all_inner_texts():
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", when), when
        line = panel.locator('.vl-Record[data-kind="telemetry"] .vl-Record-line').inner_text()
        assert re.fullmatch(r"\S+ m?s · peak [\d.]+ MiB · .+Wh · .+ CO2e", line), line

        enforce = panel.locator('.vl-Record[data-kind="enforce"]').last
        enforce.locator(".vl-Record-main").click()
        controls = panel.locator(".vl-Controls .vl-Control")
        expect(controls).to_have_count(6)
        age = panel.locator('.vl-Control[data-control="approvals-by-age"]')
        expect(age.locator(".vl-Control-value")).to_have_text(
            re.compile(r"^0\.7927 \[.+\] needs > 0\.8$")
        )
        for px in (250, 320, 450):
            set_sidebar_width(page, px)
            expect(age).to_be_visible()
            assert panel.evaluate(OVERFLOW_JS) == [], f"at {px} px"
            # a stacked control keeps its id on one line, cut, with the full id on hover
            head = age.locator(".vl-Control-head").bounding_box()
            assert head is not None and head["height"] < 24, f"control id wraps at {px} px"
            assert (
                age.locator(".vl-Control-id")
                .get_attribute("title")
                .startswith("approvals-by-age: ")
            )
            panel.screenshot(path=shots / f"sidebar-{px}.png")
            keep(shots / f"sidebar-{px}.png")

        # axe-core on the panel: roles, names, contrast (WCAG 2 A and AA)
        result = axe_sync.Axe().run(
            page, context="#vl-jupyter-compliance", options={"runOnly": ["wcag2a", "wcag2aa"]}
        )
        problems = [
            f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result.response["violations"]
        ]
        assert problems == [], problems

        # the filters narrow the list; the header says how many are shown
        panel.get_by_label("Filter by kind").select_option("telemetry")
        expect(records).to_have_count(1)
        expect(panel.locator(".vl-Compliance-count")).to_have_text("1 of 3")
        panel.get_by_label("Filter by kind").select_option("")
        panel.get_by_label("Search records").fill("reweighing")
        expect(records).to_have_count(1)
        panel.get_by_role("button", name="Clear filters").click()
        expect(records).to_have_count(3)

        # the palette lists the commands
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette-input")
        expect(palette).to_be_focused()
        palette.fill("Compliance:")
        for label in ("Open Panel", "Refresh", "Sync to MLflow", "Sync to W&B",
                      "Verify Evidence", "Export for Audit"):  # fmt: skip
            item = page.locator(".lm-CommandPalette-item", has_text=f"Compliance: {label}")
            expect(item).to_have_count(1)
            expect(item).not_to_have_class(re.compile("lm-mod-disabled"))
        page.keyboard.press("Escape")

        # "verify" from the palette checks every store and says so in the panel
        page.keyboard.press("Control+Shift+C")
        palette.fill("Compliance: Verify")
        page.keyboard.press("Enter")
        expect(panel.locator(".vl-Verify")).to_contain_text(
            "1 evidence store verified: every record matches its hash chain"
        )


def test_dark_theme_at_the_default_width(lab, tmp_path, browser_page):
    from playwright.sync_api import expect

    shots = tmp_path / "screenshots"
    with browser_page(shots, color_scheme="dark") as page:
        page.goto(f"{lab}/lab/workspaces/layout-dark?reset&token={TOKEN}")
        expect(page.locator(".jp-Launcher")).to_be_focused()
        page.get_by_role("menuitem", name="Settings", exact=True).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
        page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        page.get_by_role("tab", name="Compliance evidence").click()
        panel = page.locator("#vl-jupyter-compliance")
        expect(panel.locator(".vl-Record")).to_have_count(3)
        set_sidebar_width(page, 250)
        panel.locator('.vl-Record[data-kind="enforce"] .vl-Record-main').last.click()
        expect(panel.locator(".vl-Control")).to_have_count(6)
        assert panel.evaluate(OVERFLOW_JS) == []
        page.wait_for_timeout(300)  # the theme's transition: a screenshot, not an assertion
        panel.screenshot(path=shots / "sidebar-dark-250.png")
        keep(shots / "sidebar-dark-250.png")
