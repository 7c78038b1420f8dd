"""The Compliance sidebar in a real JupyterLab, driven through Debian's headless chromium.

Starts a real ``mlflow server`` and ``jupyter lab`` (token, XSRF on, as a user runs it)
on free ports in a temporary root holding a copy of the quickstart notebook, runs the
notebook from the browser, waits for its evidence to appear in the sidebar, clicks
"Sync to MLflow", follows the run link, and checks the run through ``MlflowClient``.
Screenshots (light theme) go to the test's temporary directory; the first one is copied
to docs/img/sidebar.png when that file is missing (set VL_UPDATE_SCREENSHOT=1 to refresh).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def lab(tmp_path: Path, mlflow_server: str, jupyter) -> Iterator[tuple[str, str, Path]]:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", root)
    env = {
        "MLFLOW_TRACKING_URI": mlflow_server,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    }
    with jupyter("lab", root, tmp_path, env) as base:
        yield base, "vl-browser-test-token", root


def test_run_the_quickstart_see_the_evidence_and_sync_it_to_mlflow(
    lab, mlflow_server, tmp_path, browser_page, widen
):
    from mlflow.tracking import MlflowClient
    from playwright.sync_api import expect

    base, token, _root = lab
    shots = tmp_path / "screenshots"
    with browser_page(shots) as page:
        page.goto(f"{base}/lab/tree/01_quickstart.ipynb?token={token}")
        expect(page.locator(".jp-Notebook")).to_be_visible()
        # the sidebar: own icon in the right area, empty before any cell ran
        tab = page.get_by_role("tab", name="Compliance evidence")
        expect(tab).to_be_visible()
        tab.click()
        panel = page.locator("#vl-jupyter-compliance")
        expect(panel).to_be_visible()
        # widen the right sidebar (drag its split handle) for readable screenshots
        widen(page)
        expect(panel.locator(".vl-Empty")).to_be_visible()
        expect(panel.locator('button[data-target="mlflow"]')).to_be_visible()

        # run the notebook from the browser once its kernel is ready; the sidebar
        # refreshes by itself
        expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible()
        page.locator(".jp-Notebook").click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        enforce = panel.locator('.vl-Record[data-kind="enforce"]')
        expect(enforce).to_have_count(2, timeout=120_000)
        expect(panel.locator(".vl-Light-fail").first).to_be_visible()
        expect(panel).to_contain_text("German credit")
        panel.screenshot(path=shots / "sidebar.png")

        # selecting a record shows its controls with values and thresholds
        enforce.last.locator(".vl-Record-main").click()
        controls = panel.locator(".vl-Controls")
        expect(controls).to_be_visible()
        expect(controls).to_contain_text("approvals-by-age")
        panel.screenshot(path=shots / "sidebar-detail.png")

        # one click: every pending record to the real MLflow server
        panel.locator('button[data-target="mlflow"]').click()
        link = panel.locator("a.vl-RunLink").first
        expect(link).to_be_visible(timeout=180_000)
        url = link.get_attribute("href")
        assert url and url.startswith(mlflow_server), url
        expect(panel.locator(".vl-Badge-mlflow")).to_have_count(
            enforce.count() + panel.locator('.vl-Record[data-kind="telemetry"]').count(),
            timeout=30_000,
        )
        panel.screenshot(path=shots / "sidebar-synced.png")

    run_id = url.rstrip("/").rsplit("/runs/", 1)[1].split("/")[0]
    run = MlflowClient(tracking_uri=mlflow_server).get_run(run_id)
    assert run.info.run_id == run_id
    assert run.data.params or run.data.metrics or run.data.tags
    target = ROOT / "docs" / "img" / "sidebar.png"
    if not target.exists() or os.environ.get("VL_UPDATE_SCREENSHOT") == "1":
        shutil.copy(shots / "sidebar-synced.png", target)
    assert (shots / "sidebar.png").stat().st_size > 10_000
