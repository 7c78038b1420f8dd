"""The server API against a hostile page and a hostile or damaged store, through a real
jupyter_server (pytest-jupyter's ``jp_fetch``) and, for SSRF, the real sync engine and a
loopback listener that records who connected and with which headers."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from vl_jupyter.evidence import EvidenceStore
from vl_jupyter.server import _stores

pytest_plugins = ["pytest_jupyter.jupyter_server"]

API = ("vl-jupyter", "api")
TOKEN = "server-own-token-0123456789abcdef"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"vl_jupyter": True}}}


@pytest.fixture(autouse=True)
def _fresh_walks(monkeypatch):
    monkeypatch.setattr(_stores, "DISCOVERY_TTL_S", 0.0)


class Listener:
    """An HTTP server on 127.0.0.1 that answers /health and records every request."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.command, self.path, dict(self.headers)))
                ok = self.path.startswith("/health")
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"OK" if ok else b'{"error_code": "RESOURCE_DOES_NOT_EXIST"}')

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authorizations(self) -> list[str]:
        return [h.get("Authorization", "") for _m, _p, h in self.seen]


@pytest.fixture
def listeners():
    made = [Listener(), Listener()]
    yield made
    for one in made:
        one.close()


def _store(root: Path, n: int = 2, session: str = "s1") -> EvidenceStore:
    store = EvidenceStore(root)
    for i in range(n):
        summary = {"status": "fail" if i == 0 else "pass", "passed": i != 0}
        store.append("enforce", {"results": [], "i": i}, summary=summary, session=session)
    return store


async def _error(jp_fetch, *parts, method="GET", body=None, **params):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API, *parts, method=method, body=body, params=params or None)
    return info.value.code, json.loads(info.value.response.body)


async def _finished(jp_fetch, job_id):
    import asyncio

    for _ in range(600):
        body = json.loads((await jp_fetch(*API, "sync", job_id)).body)
        if body["state"] in ("done", "error"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"sync job {job_id} did not finish")


# -- SSRF ------------------------------------------------------------------------------
async def test_a_get_of_targets_never_connects(jp_fetch, listeners):
    (spy, _) = listeners
    status, body = await _error(jp_fetch, "targets", mlflow_tracking_uri=spy.url)
    assert status == 405 and body["code"] == "USE_POST"
    status, body = await _error(jp_fetch, "targets")
    assert status == 405
    assert spy.seen == []


@pytest.mark.slow
async def test_server_credentials_go_only_to_the_configured_tracker(
    jp_fetch, jp_root_dir, listeners, monkeypatch
):
    spy, configured = listeners
    monkeypatch.chdir(jp_root_dir)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", configured.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    _store(jp_root_dir / "nb" / ".venturalitica", 1)
    # a URI chosen by the request: the server connects (the user may sync anywhere), but
    # without its own token
    post = await jp_fetch(*API, "sync", method="POST", body=json.dumps(
        {"target": "mlflow", "settings": {"mlflow_tracking_uri": spy.url}}
    ))  # fmt: skip
    job = await _finished(jp_fetch, json.loads(post.body)["job"])
    assert job["state"] == "error"
    assert spy.seen and all(TOKEN not in a for a in spy.authorizations())
    assert [p for _m, p, _h in spy.seen if p.startswith("/api/")], spy.seen
    assert os.environ["MLFLOW_TRACKING_TOKEN"] == TOKEN  # restored after the sync
    # the probe by POST: same rule
    spy.seen.clear()
    post = await jp_fetch(*API, "targets", method="POST", body=json.dumps(
        {"settings": {"mlflow_tracking_uri": spy.url}}
    ))  # fmt: skip
    assert json.loads(post.body)["targets"][0]["reachable"] is True
    assert spy.seen and all(TOKEN not in a for a in spy.authorizations())
    # the server's configured tracker does get the token
    post = await jp_fetch(*API, "sync", method="POST", body=json.dumps({"target": "mlflow"}))
    await _finished(jp_fetch, json.loads(post.body)["job"])
    assert f"Bearer {TOKEN}" in configured.authorizations()


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("sqlite:////tmp/vl-elsewhere/mlflow.db", "lies outside the server's root directory"),
        ("sqlite:///../../mlflow.db", "lies outside the server's root directory"),
        ("file:///tmp/vl-elsewhere/mlruns", "lies outside the server's root directory"),
        ("/tmp/vl-elsewhere/mlruns", "lies outside the server's root directory"),
        ("databricks://profile", "scheme 'databricks' cannot be chosen from the browser"),
        ("postgresql://u:p@10.0.0.1/db", "scheme 'postgresql' cannot be chosen"),
    ],
)
async def test_request_chosen_local_stores_must_lie_under_the_root(
    jp_fetch, jp_root_dir, uri, message
):
    _store(jp_root_dir / ".venturalitica", 1)
    for route, body in (
        ("sync", {"target": "mlflow", "settings": {"mlflow_tracking_uri": uri}}),
        ("targets", {"settings": {"mlflow_tracking_uri": uri}}),
    ):
        status, err = await _error(jp_fetch, route, method="POST", body=json.dumps(body))
        assert status == 400 and err["code"] == "BAD_SETTINGS" and message in err["message"]
    assert not Path("/tmp/vl-elsewhere").exists()


def test_a_relative_sqlite_uri_lands_under_the_root(tmp_path):
    from vl_jupyter.server._jobs import check_settings

    got = check_settings({"mlflow_tracking_uri": "sqlite:///sub/mlflow.db"}, tmp_path)
    assert got == {"mlflow_tracking_uri": f"sqlite:///{tmp_path}/sub/mlflow.db"}
    assert check_settings({"mlflow_tracking_uri": "http://h:5000"}, tmp_path) == {
        "mlflow_tracking_uri": "http://h:5000"
    }


# -- hostile and damaged stores ----------------------------------------------------------
def _lines(store):
    return [json.loads(x) for x in store.index_path.read_text().splitlines()]


def _write(store, lines):
    store.index_path.write_text("".join(json.dumps(x) + "\n" for x in lines))


async def test_one_damaged_store_never_hides_the_others(jp_fetch, jp_root_dir):
    good = _store(jp_root_dir / "good" / ".venturalitica")
    bad = _store(jp_root_dir / "bad" / ".venturalitica")
    bad.append("sync", {}, session="s1")  # a sync record with empty data
    lines = _lines(bad)
    lines[0]["created"] = "not a time"
    lines[1]["summary"] = ["a", "list"]
    _write(bad, lines)
    page = json.loads((await jp_fetch(*API, "evidence")).body)
    by_store = {s["store"]: s for s in page["stores"]}
    assert by_store["good/.venturalitica"]["damaged"] == []
    damaged = by_store["bad/.venturalitica"]["damaged"]
    assert len(damaged) == 2
    assert "index.jsonl line 1:" in damaged[0] and "'not a time' is unparsable" in damaged[0]
    assert "index.jsonl line 2:" in damaged[1] and "summary is a list" in damaged[1]
    ids = {r["id"] for r in page["records"]}
    assert {x.id for x in good.records()} <= ids
    assert page["total"] == 3  # two good records and the bad store's sync record


async def test_a_flipped_summary_is_damaged_not_green(jp_fetch, jp_root_dir):
    store = _store(jp_root_dir / ".venturalitica")
    lines = _lines(store)
    lines[0]["summary"] = {"status": "pass", "passed": True}  # was fail
    _write(store, lines)
    page = json.loads((await jp_fetch(*API, "evidence")).body)
    first, second = sorted(page["records"], key=lambda r: r["seq"])
    assert first["integrity"] == "damaged" and first["status"] == "error"
    assert first["integrity_reason"] == "the index disagrees with the record file on summary"
    assert second["integrity"] == "verified" and second["status"] == "pass"
    assert second["integrity_reason"] is None


async def test_an_edited_record_file_is_damaged(jp_fetch, jp_root_dir):
    store = _store(jp_root_dir / ".venturalitica", 1)
    (rec,) = store.records()
    doc = json.loads(rec.path.read_text())
    doc["data"]["i"] = 42
    rec.path.chmod(0o644)
    rec.path.write_text(json.dumps(doc))
    (row,) = json.loads((await jp_fetch(*API, "evidence")).body)["records"]
    assert (
        row["integrity"] == "damaged" and "modified after it was written" in row["integrity_reason"]
    )


async def test_wrongly_typed_summary_fields_give_stable_types(jp_fetch, jp_root_dir):
    store = EvidenceStore(jp_root_dir / ".venturalitica")
    store.append("enforce", {}, summary={"status": 5, "passed": "yes"}, session="s1")
    store.append("telemetry", {"wall_s": "x"}, summary={"wall_s": "slow", "success": "no"},
                 session="s1")  # fmt: skip
    page = json.loads((await jp_fetch(*API, "evidence")).body)
    tele, enf = page["records"]
    assert enf["status"] == "error"  # not "pass" because "yes" is truthy
    assert tele["status"] == "error"
    assert tele["telemetry"] == {
        "wall_s": None,
        "peak_rss_bytes": None,
        "energy_kwh": None,
        "co2e_g": None,
    }
    assert all(isinstance(r["synced"], dict) and isinstance(r["integrity"], str) for r in
               page["records"])  # fmt: skip


async def test_a_record_file_linked_outside_the_root_is_never_served(
    jp_fetch, jp_root_dir, tmp_path_factory
):
    outside = tmp_path_factory.mktemp("outside") / "secret.json"
    outside.write_text('{"secret": "do-not-serve"}')
    store = _store(jp_root_dir / ".venturalitica", 1)
    (rec,) = store.records()
    rec.path.unlink()
    os.symlink(outside, rec.path)
    status, body = await _error(jp_fetch, "evidence", rec.id)
    assert status == 409 and "symlink" in body["message"]
    assert "do-not-serve" not in json.dumps(body)


async def test_verify_never_lists_a_symlinked_folder(jp_fetch, jp_root_dir, tmp_path_factory):
    etc = tmp_path_factory.mktemp("etc")
    (etc / "passwd").write_text("root:x:0:0")
    store = _store(jp_root_dir / ".venturalitica", 1)
    os.rename(store.records_dir, jp_root_dir / "moved")
    os.symlink(etc, store.records_dir)
    body = json.loads((await jp_fetch(*API, "verify")).body)
    assert body["ok"] is False
    text = json.dumps(body)
    assert "passwd" not in text and "outside_store" in text
    page = json.loads((await jp_fetch(*API, "evidence")).body)
    assert page["records"] == [] and "is a link to" in page["stores"][0]["damaged"][0]


async def test_sidebar_api_responses_never_show_a_uri_password(jp_fetch, jp_root_dir, monkeypatch):
    import socket

    monkeypatch.chdir(jp_root_dir)
    _store(jp_root_dir / ".venturalitica", 1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"http://bob:pw-Q7z1xK9e@127.0.0.1:{port}"
    post = await jp_fetch(*API, "sync", method="POST", body=json.dumps(
        {"target": "mlflow", "settings": {"mlflow_tracking_uri": uri}}
    ))  # fmt: skip
    job = await _finished(jp_fetch, json.loads(post.body)["job"])
    assert job["state"] == "error" and f"bob:***@127.0.0.1:{port}" in job["error"]["message"]
    post = await jp_fetch(*API, "targets", method="POST", body=json.dumps(
        {"settings": {"mlflow_tracking_uri": uri}}
    ))  # fmt: skip
    found = json.loads(post.body)["targets"][0]
    assert found["location"] == f"http://bob:***@127.0.0.1:{port}"
    assert "pw-Q7z1xK9e" not in json.dumps(job) + post.body.decode()
