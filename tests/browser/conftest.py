"""Shared helpers and fixtures of the browser tests: Debian's headless chromium driven by
Playwright against real ``jupyter lab`` / ``jupyter notebook`` / ``mlflow server``
subprocesses on free ports. Every subprocess is killed (its whole process group) at
teardown; a missing chromium is a failure, never a skip."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "vl-browser-test-token"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


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


@contextlib.contextmanager
def run_jupyter(
    app: str, root: Path, state: Path, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``jupyter lab`` or ``jupyter notebook`` serving ``root`` (token, XSRF on, no browser),
    with its config, settings and workspaces under ``state``; yields the base URL."""
    port = free_port()
    full_env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "WANDB_MODE": "offline",
        "JUPYTER_CONFIG_DIR": str(state / "jupyter-config"),
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(state / "lab-settings"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **(env or {}),
    }
    full_env.pop("VL_EVIDENCE_DIR", None)
    # no "official Jupyter news?" toast over the sidebar in the screenshots
    news = state / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    exe = BIN / "jupyter"
    if app == "notebook" and not (BIN / "jupyter-notebook").exists():
        pytest.fail("Notebook 7 is not installed in this environment: pip install 'notebook>=7'")
    cmd = [
        str(exe), app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    if app == "lab":
        cmd += [
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = state / f"{app}.log"
    proc = start(cmd, log, env=full_env, cwd=root)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/api/status?token={TOKEN}", proc, 60, log)
        yield base
    finally:
        stop(proc)
        print(log.read_text()[-4000:])  # shown by pytest only when the test fails


@contextlib.contextmanager
def open_page(shots: Path, **page_kwargs) -> Iterator:
    """A chromium page (60 s default timeout); the page at a failure is saved to
    ``shots/failure.png``. Call it inside the test so a missing chromium fails the test."""
    from playwright.sync_api import expect, sync_playwright

    exe = chromium()
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 950}, **page_kwargs)
            page.set_default_timeout(60_000)
            # assertions wait up to 30 s (not Playwright's 5 s): on a shared 2-core
            # machine JupyterLab's first paint alone can take longer than 5 s
            expect.set_options(timeout=30_000)
            try:
                yield page
            except BaseException:
                page.screenshot(path=shots / "failure.png")
                print(f"page at the failure: {shots / 'failure.png'}")
                raise
        finally:
            browser.close()


def widen_right_sidebar(page, px: int = 200) -> None:
    """Drag JupyterLab's right split handle ``px`` to the left (readable screenshots)."""
    box = page.locator("#jp-right-stack").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] - 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] - px, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()


def write_evidence(root: Path, runs: int = 2) -> None:
    """``runs`` enforce records of the German credit policy in ``root/.venturalitica``
    (the folder a notebook in ``root`` writes to)."""
    import vl_jupyter
    from vl_jupyter import datasets

    data = datasets.load_german_credit(derived=True)
    for _ in range(runs):
        vl_jupyter.enforce(
            data,
            datasets.policy_path("german_credit_data"),
            target="class",
            gender="gender",
            age="age",
            evidence_dir=root / ".venturalitica",
        )


@pytest.fixture(scope="session")
def jupyter() -> Callable:
    """:func:`run_jupyter`, for tests and fixtures of any scope."""
    return run_jupyter


@pytest.fixture(scope="session")
def browser_page() -> Callable:
    """:func:`open_page`, for tests."""
    return open_page


@pytest.fixture(scope="session")
def widen() -> Callable:
    """:func:`widen_right_sidebar`, for tests."""
    return widen_right_sidebar


@pytest.fixture(scope="session")
def evidence() -> Callable:
    """:func:`write_evidence`, for tests and fixtures of any scope."""
    return write_evidence


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
