"""A password in a tracking URI: sync works with it, and it is redacted everywhere a URI
is shown or stored (error text, results, CLI, HTML, index.jsonl, the ledger, the run)."""

from __future__ import annotations

import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vl_jupyter.cli import main
from vl_jupyter.errors import SyncError
from vl_jupyter.trackers import redact, redact_uri, sync, targets

PASSWORD = "pw-Zq81xVr7"


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://alice:s3cr3t@h:5000", "http://alice:***@h:5000"),
        ("https://alice:s3cr3t@h/base/", "https://alice:***@h/base/"),
        ("postgresql://u:p%40ss@db.local:5432/mlflow", "postgresql://u:***@db.local:5432/mlflow"),
        ("mysql+pymysql://root:pw@127.0.0.1/m", "mysql+pymysql://root:***@127.0.0.1/m"),
        ("http://h/?token=abc&x=1", "http://h/?token=***&x=1"),
        ("https://h/p?api_key=k&sig=s", "https://h/p?api_key=***&sig=***"),
        ("http://only-user@h", "http://only-user@h"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:////tmp/x/mlflow.db", "sqlite:////tmp/x/mlflow.db"),
        ("databricks", "databricks"),
    ],
)
def test_redact_uri(uri, shown):
    assert redact_uri(uri) == shown


def test_redact_finds_uris_inside_text():
    text = "MlflowException: API request to http://bob:hunter22@h:5000/api/2.0 failed (x)"
    assert (
        redact(text) == "MlflowException: API request to http://bob:***@h:5000/api/2.0 failed (x)"
    )


_secret = st.text(
    alphabet=st.characters(
        whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_.~!$&'()*+,;="
    ),
    min_size=6,
    max_size=24,
)


@given(password=_secret, user=st.from_regex(r"[a-z]{1,8}", fullmatch=True))
def test_no_password_survives_redaction(password, user):
    for uri in (f"http://{user}:{password}@host:5000/", f"postgresql://{user}:{password}@h/db"):
        shown = redact_uri(uri)
        assert f":{password}@" not in shown and shown.endswith(uri.rsplit("@", 1)[1])
        assert redact(f"error at {uri} now") == f"error at {shown} now"


class _BasicAuthListener:
    """/health on 127.0.0.1 that answers 200 only with the right basic-auth header."""

    def __init__(self, expected: str) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.headers.get("Authorization"))
                self.send_response(200 if self.headers.get("Authorization") == expected else 401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_probe_parses_userinfo_and_sends_it_as_basic_auth(tmp_path, monkeypatch):
    import base64

    expected = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    spy = _BasicAuthListener(expected)
    monkeypatch.chdir(tmp_path)
    try:
        uri = f"http://alice:{PASSWORD}@127.0.0.1:{spy.port}"
        mlflow, _wandb = targets({"mlflow_tracking_uri": uri})
        assert mlflow.reachable is True, mlflow.reason
        assert spy.seen == [expected]
        assert mlflow.location == f"http://alice:***@127.0.0.1:{spy.port}"
        assert PASSWORD not in json.dumps(mlflow.to_dict())
    finally:
        spy.server.shutdown()
        spy.server.server_close()


def _files_holding(folder: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.slow
def test_a_password_in_the_tracking_uri_syncs_and_is_never_written(
    tmp_path, monkeypatch, mlflow_server, capsys
):
    from test_sync_mlflow import make_evidence

    pytest.importorskip("mlflow")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    for name in ("MLFLOW_EXPERIMENT_NAME", "VL_EVIDENCE_DIR"):
        monkeypatch.delenv(name, raising=False)
    uri = mlflow_server.url.replace("http://", f"http://alice:{PASSWORD}@")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    root = project / ".venturalitica"
    make_evidence(root, sessions=1)
    result = sync("mlflow")
    assert len(result.synced) == 2
    shown = mlflow_server.url.replace("http://", "http://alice:***@")
    assert result.runs[0]["location"] == shown and result.runs[0]["url"].startswith(shown)
    assert PASSWORD not in str(result) + repr(result) + result._repr_html_()
    assert PASSWORD not in json.dumps(result.to_dict())
    # a second store synced through the CLI
    make_evidence(root, sessions=1)
    assert main(["sync", "--to", "mlflow", "--evidence-dir", str(root)]) == 0
    out = capsys.readouterr()
    assert PASSWORD not in out.out + out.err and "alice:***@" in out.out
    # every file written: the store (index.jsonl, hash-chained ledger records, side
    # files), the project folder and the MLflow server's own database and artifacts
    assert _files_holding(project, PASSWORD) == []
    assert _files_holding(mlflow_server.folder, PASSWORD) == []
    ledger = [json.loads(x) for x in (root / "index.jsonl").read_text().splitlines()]
    assert {x["summary"]["location"] for x in ledger if x["kind"] == "sync"} == {shown}


def test_a_dead_tracker_with_a_password_fails_without_showing_it(tmp_path, monkeypatch):
    from vl_jupyter import evidence

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.chdir(tmp_path)
    evidence.append("review", {"x": 1}, root=tmp_path / ".venturalitica", session="s1")
    uri = f"http://bob:{PASSWORD}@127.0.0.1:{port}"
    with pytest.raises(SyncError) as info:
        sync(
            "mlflow",
            evidence_dir=tmp_path / ".venturalitica",
            settings={"mlflow_tracking_uri": uri},
        )
    text = str(info.value) + json.dumps(info.value.to_dict())
    assert PASSWORD not in text and f"bob:***@127.0.0.1:{port}" in text
    buf = io.StringIO()
    print(info.value, file=buf)
    assert PASSWORD not in buf.getvalue()
