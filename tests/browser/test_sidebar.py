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
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
pytestmark = pytest.mark.slow


def chromium() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    if not path:
        pytest.fail(
            "Debian's chromium is not installed, so the browser tests cannot run: "
            "`apt-get update && apt-get install -y chromium` (.ci/run does this)"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[0]} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling a server that is starting, not waiting on the page
    pytest.fail(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def start(cmd: list[str], log: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True, **kwargs
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    exe = BIN / "mlflow"
    if not exe.exists():
        pytest.fail("mlflow is not installed in this environment: pip install 'vl-jupyter[mlflow]'")
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = tmp_path / "mlflow.log"
    proc = start(
        [str(exe), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
         "--default-artifact-root", str(tmp_path / "mlartifacts"), "--workers", "1"],
        log, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        uri = f"http://127.0.0.1:{port}"
        wait_http(f"{uri}/health", proc, 120, log)
        yield uri
    finally:
        stop(proc)


@pytest.fixture
def lab(tmp_path: Path, mlflow_server: str) -> Iterator[tuple[str, str, Path]]:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", root)
    port, token = free_port(), "vl-browser-test-token"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_server,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "WANDB_MODE": "offline",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("VL_EVIDENCE_DIR", None)
    # no "official Jupyter news?" toast over the sidebar in the screenshots
    news = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    cmd = [
        str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp_path / "lab.log"
    proc = start(cmd, log, env=env, cwd=root)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/api/status?token={token}", proc, 60, log)
        yield base, token, root
    finally:
        stop(proc)
        print(log.read_text()[-4000:])  # shown by pytest only when the test fails


def test_run_the_quickstart_see_the_evidence_and_sync_it_to_mlflow(lab, mlflow_server, tmp_path):
    from mlflow.tracking import MlflowClient
    from playwright.sync_api import expect, sync_playwright

    base, token, _root = lab
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 950})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/01_quickstart.ipynb?token={token}")
            expect(page.locator(".jp-Notebook")).to_be_visible()
            # the sidebar: own icon in the right area, empty before any cell ran
            tab = page.get_by_role("tab", name="Compliance evidence")
            expect(tab).to_be_visible()
            tab.click()
            panel = page.locator("#vl-jupyter-compliance")
            expect(panel).to_be_visible()
            # widen the right sidebar (drag its split handle) for readable screenshots
            box = page.locator("#jp-right-stack").bounding_box()
            assert box is not None
            page.mouse.move(box["x"] - 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] - 200, box["y"] + box["height"] / 2, steps=5)
            page.mouse.up()
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
        except BaseException:
            page.screenshot(path=shots / "failure.png")
            print(f"page at the failure: {shots / 'failure.png'}")
            raise
        finally:
            browser.close()

    run_id = url.rstrip("/").rsplit("/runs/", 1)[1].split("/")[0]
    run = MlflowClient(tracking_uri=mlflow_server).get_run(run_id)
    assert run.info.run_id == run_id
    assert run.data.params or run.data.metrics or run.data.tags
    target = ROOT / "docs" / "img" / "sidebar.png"
    if not target.exists() or os.environ.get("VL_UPDATE_SCREENSHOT") == "1":
        shutil.copy(shots / "sidebar-synced.png", target)
    assert (shots / "sidebar.png").stat().st_size > 10_000
