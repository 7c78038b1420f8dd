"""A tracker registered on the server shows up in the sidebar, and the engine behind a
record shows in its row and detail, in a real JupyterLab through headless chromium.

The third tracker ("Toy box", ``plugins/vl_toy_tracker.py``) is a Jupyter server
extension of its own, enabled the way ``jupyter server extension enable`` does it (a
``jupyter_server_config.d`` file): its load hook calls ``register_tracker`` in the
server's process. Nothing in the sidebar names it; its button, palette command and
badge come from ``GET /vl-jupyter/api/trackers``, and its setting (``toy_folder``) from
the settings editor's free-form ``trackerSettings``. The button's sync goes through the
real engine into the toy tracker's folder, checked on disk.

Evidence is written by a script in the server's root: one policy check of a pandas
frame and one of a Parquet file (DuckDB, never loaded into pandas).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sidebar_layout import OVERFLOW_JS, keep, set_sidebar_width
from test_sidebar_themes import COLOURS_JS, contrast

HERE = Path(__file__).resolve().parent
TOKEN = "vl-browser-test-token"
pytestmark = pytest.mark.slow

SCRIPT = """
import vl_jupyter as vl
from vl_jupyter import datasets

data = datasets.load_german_credit(derived=True)
data.to_parquet("credit.parquet")
policy = datasets.policy_path("german_credit_data")
for source in (data, "credit.parquet"):
    vl.enforce(source, policy, target="class", gender="gender", age="age",
               evidence_dir=".venturalitica")
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory, jupyter) -> Iterator[tuple[str, Path]]:
    pytest.importorskip("duckdb")
    tmp = tmp_path_factory.mktemp("lab-trackers")
    root = tmp / "project"
    root.mkdir()
    (root / "audit_credit.py").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "VL_EVIDENCE_DIR"}
    subprocess.run([sys.executable, "audit_credit.py"], cwd=root, env=env, check=True)
    # the toy tracker's server extension, enabled as `jupyter server extension enable` does
    enabled = tmp / "jupyter-config" / "jupyter_server_config.d"
    enabled.mkdir(parents=True)
    (enabled / "vl_toy_tracker.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"vl_toy_tracker": True}}})
    )
    # the user's sidebar settings: where the toy tracker writes (a key no schema field has)
    settings = tmp / "lab-settings" / "vl-jupyter"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(
        json.dumps({"trackerSettings": {"toy_folder": "toy-box"}})
    )
    path = os.pathsep.join(p for p in (str(HERE / "plugins"), os.environ.get("PYTHONPATH")) if p)
    dead = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "PYTHONPATH": path}
    with jupyter("lab", root, tmp, dead) as base:
        yield base, root


def test_a_server_registered_tracker_gets_a_working_button_and_the_engine_shows(
    lab, tmp_path, browser_page
):
    from axe_playwright_python import sync_playwright as axe_sync
    from playwright.sync_api import expect

    base, root = lab
    shots = tmp_path / "screenshots"
    with browser_page(shots) as page:
        page.goto(f"{base}/lab/workspaces/trackers?reset&token={TOKEN}")
        expect(page.locator(".jp-Launcher")).to_be_focused()
        page.get_by_role("tab", name="Compliance evidence").click()
        panel = page.locator("#vl-jupyter-compliance")
        records = panel.locator('.vl-Record[data-kind="enforce"]')
        expect(records).to_have_count(2)
        set_sidebar_width(page, 250)

        # the buttons are the server's list, in its order: the two shipped, then the toy
        buttons = panel.locator("button[data-target]")
        expect(buttons).to_have_text(["Sync to MLflow", "Sync to W&B", "Sync to Toy box"])
        assert [b.get_attribute("data-target") for b in buttons.all()] == [
            "mlflow",
            "wandb",
            "toy",
        ]
        # "configured" from the server: MLflow by its environment, the toy by nothing there
        assert buttons.nth(0).get_attribute("title") == (
            "Log every record not yet in MLflow (2 loaded)"
        )
        assert buttons.nth(2).get_attribute("title") == (
            "Log every record not yet in Toy box (2 loaded); not set up on the server, so its "
            "defaults apply"
        )

        # the Parquet record (newest, first) is tagged DuckDB; the pandas one is not
        parquet, pandas = records.nth(0), records.nth(1)
        tag = parquet.locator(".vl-Engine")
        expect(tag).to_have_text("DuckDB")
        expect(tag).to_be_visible()  # in the badges row, not cut off with the summary line
        assert tag.get_attribute("title") == "computed in DuckDB from Parquet"
        expect(pandas.locator(".vl-Engine")).to_have_count(0)
        parquet.locator(".vl-Record-main").click()
        engine = panel.locator(".vl-Engine-detail")
        expect(engine).to_have_text(re.compile(r"^DuckDB \d+\.\d+\.\d+ · Parquet, 1 file$"))
        assert engine.get_attribute("title") == str((root / "credit.parquet").resolve())
        expect(panel.locator(".vl-Meta")).to_contain_text(
            "of source and count tables (the data was never in memory)"
        )
        assert panel.evaluate(OVERFLOW_JS) == []
        engine.scroll_into_view_if_needed()  # the detail's facts, at the end of the controls
        expect(engine).to_be_in_viewport()
        panel.screenshot(path=shots / "sidebar-engine-250.png")
        keep(shots / "sidebar-engine-250.png")

        # the palette has its command too, enabled, beside the shipped ones
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette-input")
        expect(palette).to_be_focused()
        palette.fill("Compliance: Sync")
        for label in ("MLflow", "W&B", "Toy box"):
            item = page.locator(".lm-CommandPalette-item", has_text=f"Compliance: Sync to {label}")
            expect(item).to_have_count(1)
            expect(item).not_to_have_class(re.compile("lm-mod-disabled"))
        page.keyboard.press("Escape")

        parquet.locator(".vl-Record-main").click()  # closed: both rows in view
        expect(engine).to_have_count(0)

        # one click: both records through the real engine into the toy tracker
        panel.locator('button[data-target="toy"]').click()
        done = panel.locator(".vl-Sync-done")
        expect(done).to_contain_text("Synced 2 records to Toy box.")
        expect(done).to_contain_text("Toy box run run1")
        expect(panel.locator(".vl-Badge-toy")).to_have_count(2)
        badge = panel.locator(".vl-Badge-toy").first
        expect(badge).to_have_text("Toy box ✓")
        expect(buttons.nth(2)).to_be_disabled()  # nothing left to send there
        assert panel.evaluate(OVERFLOW_JS) == []
        # axe-core (WCAG 2 A and AA) on the new tag and button: names, contrast
        result = axe_sync.Axe().run(
            page, context="#vl-jupyter-compliance", options={"runOnly": ["wcag2a", "wcag2aa"]}
        )
        problems = [
            f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result.response["violations"]
        ]
        assert problems == [], problems
        panel.screenshot(path=shots / "sidebar-trackers-250.png")
        keep(shots / "sidebar-trackers-250.png")

        # the dark theme: the tag and the new button stay readable (WCAG AA, 4.5)
        page.get_by_role("menuitem", name="Settings", exact=True).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
        page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        page.wait_for_timeout(300)  # the theme's transition: a screenshot, not an assertion
        for name, element in (("tag", tag), ("button", buttons.nth(2)), ("badge", badge)):
            ratio, fg, bg = contrast(element.evaluate(COLOURS_JS))
            assert ratio >= 4.5, f"{name}: {fg} on {bg} is {ratio:.2f}"
        panel.screenshot(path=shots / "sidebar-trackers-dark-250.png")
        keep(shots / "sidebar-trackers-dark-250.png")

    # the settings editor's toy_folder reached the tracker: the run is under the root
    run = root / "toy-box" / "run1"
    tags = json.loads((run / "tags.json").read_text())
    assert tags["vl.evidence.head_seq"] == "2"
    assert len(list((run / "vl_evidence" / "records").glob("*.json"))) == 2
