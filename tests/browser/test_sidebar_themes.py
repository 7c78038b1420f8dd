"""The Compliance sidebar beyond JupyterLab's light theme: the dark theme, Notebook 7's
right sidebar, and the keyboard alone.

Evidence is written beforehand with ``vl_jupyter.enforce`` into the server's root (no
kernel needed), then the page is driven through Debian's headless chromium against a
real ``jupyter lab`` (one server for the dark-theme and keyboard tests) or a real
``jupyter notebook``. The dark screenshot goes to docs/img/sidebar-dark.png when that
file is missing (set VL_UPDATE_SCREENSHOT=1 to refresh), as the light one does.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sidebar_layout import keep

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "vl-browser-test-token"
pytestmark = pytest.mark.slow

# an MLflow nobody listens on: a sync fails at once, and says so in the panel
DEAD_MLFLOW = {
    "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
}

# the text colour of an element and the background colours from it up to the first
# opaque one (the page is white behind everything)
COLOURS_JS = """el => {
  const bgs = [];
  for (let n = el; n; n = n.parentElement) {
    const bg = getComputedStyle(n).backgroundColor;
    bgs.push(bg);
    if (/^rgb\\(/.test(bg)) break;
  }
  return {color: getComputedStyle(el).color, backgrounds: bgs};
}"""


def rgba(css: str) -> tuple[float, float, float, float]:
    nums = [float(x) for x in re.findall(r"[\d.]+", css)]
    assert len(nums) in (3, 4), css
    return (*nums[:3], nums[3] if len(nums) == 4 else 1.0)


def over(top: tuple[float, ...], below: tuple[float, ...]) -> tuple[float, ...]:
    a = top[3]
    return (*(a * t + (1 - a) * b for t, b in zip(top[:3], below[:3], strict=True)), 1.0)


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(colours: dict) -> tuple[float, tuple, tuple]:
    """WCAG 2 contrast ratio of the text over its effective background."""
    bg: tuple[float, ...] = (255.0, 255.0, 255.0, 1.0)
    for css in reversed(colours["backgrounds"]):
        bg = over(rgba(css), bg)
    fg = over(rgba(colours["color"]), bg)
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05), fg, bg


@pytest.fixture(scope="module")
def lab_with_evidence(tmp_path_factory, jupyter, evidence) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("lab-themes")
    root = tmp / "project"
    root.mkdir()
    evidence(root, runs=2)
    with jupyter("lab", root, tmp, DEAD_MLFLOW) as base:
        yield base


def open_sidebar(page, base: str, workspace: str):
    """JupyterLab with a fresh workspace (the other test's open sidebar is not restored)
    and its launcher; returns the sidebar's tab."""
    from playwright.sync_api import expect

    page.goto(f"{base}/lab/workspaces/{workspace}?reset&token={TOKEN}")
    # the launcher takes the focus once the shell is restored
    expect(page.locator(".jp-Launcher")).to_be_focused()
    tab = page.get_by_role("tab", name="Compliance evidence")
    expect(tab).to_be_visible()
    return tab


def test_dark_theme_is_readable_and_follows_the_theme(
    lab_with_evidence, tmp_path, browser_page, widen
):
    from playwright.sync_api import expect

    shots = tmp_path / "screenshots"
    with browser_page(shots) as page:
        open_sidebar(page, lab_with_evidence, "dark").click()
        panel = page.locator("#vl-jupyter-compliance")
        expect(panel).to_be_visible()
        widen(page)
        records = panel.locator('.vl-Record[data-kind="enforce"]')
        expect(records).to_have_count(2)
        row = records.first
        targets = {
            "panel": panel,
            "title": panel.locator(".vl-Compliance-title"),
            "record": row.locator(".vl-Record-title"),
            "record line": row.locator(".vl-Record-line"),
            "sync button": panel.locator('button[data-target="mlflow"]'),
        }

        def measure() -> dict[str, dict]:
            return {name: loc.evaluate(COLOURS_JS) for name, loc in targets.items()}

        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true")
        light = measure()

        # Settings → Theme → JupyterLab Dark, as a user switches
        page.get_by_role("menuitem", name="Settings", exact=True).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
        page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        expect(page.locator("body")).to_have_attribute("data-jp-theme-name", "JupyterLab Dark")
        # the theme's stylesheet applies once the panel's background is no longer light's
        page.wait_for_function(
            "([el, bg]) => getComputedStyle(el).backgroundColor !== bg",
            arg=[panel.element_handle(), light["panel"]["backgrounds"][0]],
        )
        dark = measure()

        for name in targets:
            ratio, fg, bg = contrast(dark[name])
            assert ratio >= 4.5, f"dark theme: {name} text {fg} on {bg} has contrast {ratio:.2f}"
            light_ratio = contrast(light[name])[0]
            assert light_ratio >= 4.5, f"light theme: {name} contrast {light_ratio:.2f}"
        # the colours come from the theme's variables, not fixed values
        assert dark["panel"] != light["panel"]
        assert dark["record"]["color"] != light["record"]["color"]
        assert luminance(rgba(dark["panel"]["backgrounds"][0])) < 0.1
        assert luminance(rgba(light["panel"]["backgrounds"][0])) > 0.8

        # an open record (its own background) and its controls table stay readable
        row.locator(".vl-Record-main").click()
        cell = panel.locator(".vl-Controls .vl-Control-value").first
        expect(cell).to_be_visible()
        ratio, fg, bg = contrast(cell.evaluate(COLOURS_JS))
        assert ratio >= 4.5, f"dark theme: control value {fg} on {bg} has contrast {ratio:.2f}"
        panel.screenshot(path=shots / "sidebar-dark.png")

    target = ROOT / "docs" / "img" / "sidebar-dark.png"
    if not target.exists() or os.environ.get("VL_UPDATE_SCREENSHOT") == "1":
        shutil.copy(shots / "sidebar-dark.png", target)
    assert (shots / "sidebar-dark.png").stat().st_size > 10_000


def test_keyboard_only_reaches_a_record_opens_it_selects_it_and_syncs(
    lab_with_evidence, tmp_path, browser_page
):
    from playwright.sync_api import expect

    with browser_page(tmp_path / "screenshots") as page:
        kb = page.keyboard
        focused = page.locator("*:focus")
        tab = open_sidebar(page, lab_with_evidence, "keyboard")
        # reach the sidebar's tab: JupyterLab's tab bars take focus, Enter activates
        tab.focus()
        expect(tab).to_be_focused()
        kb.press("Enter")
        panel = page.locator("#vl-jupyter-compliance")
        expect(panel).to_be_visible()
        expect(panel.locator('.vl-Record[data-kind="enforce"]')).to_have_count(2)
        # opening the sidebar puts the focus in it, on its first control
        expect(focused).to_have_attribute("aria-label", "Refresh evidence")

        kb.press("Tab")
        expect(focused).to_have_text("Sync to MLflow")
        kb.press("Tab")
        expect(focused).to_have_text("Sync to W&B")
        kb.press("Tab")
        expect(focused).to_have_text("Export for audit…")
        expect(focused).to_have_attribute("aria-expanded", "false")
        # then the search box and the three filters
        for label in ("Search records", "Filter by status", "Filter by kind",
                      "Filter by sync state"):  # fmt: skip
            kb.press("Tab")
            expect(focused).to_have_attribute("aria-label", label)
        kb.press("Tab")
        record = panel.locator('.vl-Record[data-kind="enforce"]').first
        check = record.locator("input.vl-Record-check")
        expect(check).to_be_focused()
        kb.press("Space")
        expect(check).to_be_checked()
        expect(panel.locator('button[data-target="mlflow"]')).to_have_text(
            "Sync 1 selected to MLflow"
        )

        kb.press("Tab")
        main = record.locator(".vl-Record-main")
        expect(main).to_be_focused()
        expect(main).to_have_attribute("role", "button")
        expect(main).to_have_attribute("aria-expanded", "false")
        # a visible focus ring (keyboard focus)
        assert main.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
        kb.press("Enter")
        expect(main).to_have_attribute("aria-expanded", "true")
        expect(record.locator(".vl-Controls")).to_contain_text("approvals-by-age")
        expect(main).to_be_focused()
        kb.press("Space")  # Space toggles too
        expect(main).to_have_attribute("aria-expanded", "false")
        expect(record.locator(".vl-Controls")).to_have_count(0)
        kb.press("Enter")
        expect(record.locator(".vl-Controls")).to_be_visible()

        # back to the sync button: checkbox, 3 filters, search, "Clear selection",
        # "Export for audit…", W&B, MLflow
        kb.press("Shift+Tab")
        expect(check).to_be_focused()
        for _ in range(4):
            kb.press("Shift+Tab")
        expect(focused).to_have_attribute("aria-label", "Search records")
        kb.press("Shift+Tab")
        expect(focused).to_have_text("Clear selection")
        kb.press("Shift+Tab")
        expect(focused).to_have_text("Export for audit…")
        kb.press("Shift+Tab")
        kb.press("Shift+Tab")
        expect(focused).to_have_text("Sync 1 selected to MLflow")
        kb.press("Enter")
        # nobody listens at the configured MLflow: the sync runs, fails and says so
        alert = panel.locator(".vl-Message-error")
        expect(alert).to_contain_text("Sync to MLflow failed", timeout=30_000)
        expect(alert).to_contain_text("1 record stays pending; nothing is lost.")
        # the server's hint is in its message already: said once, not twice
        assert alert.inner_text().count("fix the cause and sync again") == 1, alert.inner_text()


def test_notebook7_right_sidebar_lists_the_records(tmp_path, jupyter, evidence, browser_page):
    import nbformat
    from playwright.sync_api import expect

    root = tmp_path / "project"
    root.mkdir()
    evidence(root, runs=2)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(nbformat.v4.new_code_cell("1 + 1"))
    nbformat.write(nb, root / "audit.ipynb")

    with (
        jupyter("notebook", root, tmp_path, DEAD_MLFLOW) as base,
        browser_page(tmp_path / "screenshots") as page,
    ):
        page.goto(f"{base}/notebooks/audit.ipynb?token={TOKEN}")
        expect(page.locator(".jp-Notebook")).to_be_visible()
        panel = page.locator("#vl-jupyter-compliance")
        expect(panel).to_be_hidden()
        # View → Right Sidebar → Show Compliance evidence: Notebook 7's way to right panels
        page.get_by_role("menuitem", name="View", exact=True).click()
        page.locator(".lm-Menu-item", has_text="Right Sidebar").hover()
        page.locator(".lm-Menu-item", has_text="Show Compliance evidence").click()
        expect(panel).to_be_visible()
        records = panel.locator('.vl-Record[data-kind="enforce"]')
        expect(records).to_have_count(2)
        expect(panel).to_contain_text("German credit")
        expect(panel).to_contain_text("2 records")
        expect(panel.locator(".vl-Light-fail").first).to_be_visible()
        # the record opens here too
        records.first.locator(".vl-Record-main").click()
        expect(panel.locator(".vl-Controls")).to_contain_text("approvals-by-age")
        # the sync buttons come from the server's tracker list here too
        expect(panel.locator("button[data-target]")).to_have_text(["Sync to MLflow", "Sync to W&B"])
        expect(panel.locator(".vl-Engine-detail")).to_have_text("pandas (in memory)")
        panel.screenshot(path=tmp_path / "screenshots" / "sidebar-notebook7.png")
        keep(tmp_path / "screenshots" / "sidebar-notebook7.png")
