"""Shared fixtures: sample data, an evidence directory that never lies inside the repo, and
the guard that keeps the whole suite on loopback.

The tracker libraries phone home unless told not to (MLflow's telemetry, W&B's online
mode), so the variables that switch that off are set here, at import time -- before any
test module imports mlflow or wandb -- and every subprocess a test starts (mlflow server,
kernels, jupyter) inherits them. On top of that, the guard in tests/_network.py refuses any
in-process socket connection or name lookup that would leave 127.0.0.1/::1 and fails the
test that tried (tests/test_network_guard.py proves it fires).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _mlflow_store
import pandas as pd
import pytest
from _network import DETAILS, VIOLATIONS  # sets the offline variables, installs the guard

from vl_jupyter.datasets import load_german_credit

#: Seconds ``mlflow server`` may take to answer /health (it imports a lot).
START_TIMEOUT_S = 90


@pytest.fixture(autouse=True)
def _network_guard():
    """Fail any test that tried to open a connection beyond loopback (even if the code
    under test swallowed the error as 'unreachable')."""
    start, detail = len(VIOLATIONS), len(DETAILS)
    yield
    tried = DETAILS[detail:]
    del VIOLATIONS[start:], DETAILS[detail:]
    if tried:
        pytest.fail("the test tried to reach beyond loopback: " + "; ".join(tried))


class MlflowServer:
    """``mlflow server`` with a sqlite backend in a temporary folder; restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process and return at once (it takes seconds to answer)."""
        if self.proc is not None and self.proc.poll() is None:
            return
        env = {
            **os.environ,
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
        cmd = [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.folder / "artifacts"),
        ]
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 - closed below
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env, start_new_session=True)
        log.close()  # the child holds its own copy

    def wait_ready(self) -> None:
        """Return once /health answers; fail the test with the server's log if it cannot."""
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.3)
        self.kill()
        pytest.fail(
            f"mlflow server did not start: {(self.folder / 'server.log').read_text()[-2000:]}"
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(scope="session", autouse=True)
def _mlflow_schema_once(tmp_path_factory) -> None:
    """Fresh MLflow sqlite stores copy one migrated schema (tests/_mlflow_store.py).
    Costs a folder: mlflow is imported only by the tests that use it."""
    _mlflow_store.install(tmp_path_factory.mktemp("mlflow-schema"))


#: The session's server, launched as soon as collection shows a test will need it.
_early_server: MlflowServer | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Launch ``mlflow server`` in the background when a collected test uses it: its start
    (~10 s of imports and migrations in its own processes) overlaps the tests that run
    before the first one that needs it, instead of stalling that test."""
    global _early_server
    if any(_uses_session_server(item) for item in session.items):
        _early_server = MlflowServer(Path(tempfile.mkdtemp(prefix="vl-mlflow-server-")))
        _early_server.launch()


def _uses_session_server(item: pytest.Item) -> bool:
    """Whether the item's ``mlflow_server`` is this file's (tests/browser has its own)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("mlflow_server", ()) if info is not None else ()
    return bool(defs) and defs[-1].func.__code__.co_filename == __file__


def pytest_unconfigure(config: pytest.Config) -> None:
    if _early_server is not None:  # also when the session stopped before the fixture ran
        _early_server.kill()
        shutil.rmtree(_early_server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    srv = _early_server or MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    srv.start()  # waits for the launched one, or launches (asked via getfixturevalue)
    yield srv
    srv.kill()


@pytest.fixture(scope="session")
def _german_credit() -> pd.DataFrame:
    return load_german_credit(derived=True)


@pytest.fixture
def german(_german_credit: pd.DataFrame) -> pd.DataFrame:
    """The German credit data with ``gender``, ``age`` and ``foreign_worker`` (a fresh copy)."""
    return _german_credit.copy()


@pytest.fixture
def evidence_dir(tmp_path: Path) -> Path:
    """An evidence root under the test's temporary directory."""
    return tmp_path / ".venturalitica"


@pytest.fixture(autouse=True)
def _no_personal_signing_key(tmp_path_factory, monkeypatch):
    """Every test sees an empty config folder: a developer's own signing key (from
    ``vl-jupyter keys init``) must neither sign test records nor be touched by tests."""
    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    for name in ("VL_SIGNING_KEY", "VL_SIGN", "VL_SIGNER_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_mlflow_state_between_tests():
    """MLflow keeps process-global state: ``set_experiment`` remembers the experiment id
    and exports ``MLFLOW_EXPERIMENT_ID``; a run left active outlives its test. A later test
    on a fresh sqlite store then fails with "No Experiment with id=1 exists". Reset it after
    every test that imported mlflow (never import it here: most tests do not need it)."""
    yield
    fluent = sys.modules.get("mlflow.tracking.fluent")
    if fluent is None:
        return
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    mlflow.set_tracking_uri(None)
