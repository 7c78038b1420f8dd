"""The server extension through a real jupyter_server (pytest-jupyter's ``jp_fetch``).

The sync engine is replaced by a fake module here (the handlers only call it); the real
engine against a real MLflow server is exercised by tests/browser/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path
from urllib.parse import quote

import pytest
from tornado.httpclient import HTTPClientError

from vl_jupyter.evidence import EvidenceStore
from vl_jupyter.server import _stores

pytest_plugins = ["pytest_jupyter.jupyter_server"]

API = ("vl-jupyter", "api")


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"vl_jupyter": True}}}


@pytest.fixture(autouse=True)
def _fresh_walks(monkeypatch):
    monkeypatch.setattr(_stores, "DISCOVERY_TTL_S", 0.0)


def enforce_summary(status: str, name: str = "audit") -> dict:
    counts = {"pass": 3, "warn": 0, "fail": 0, "error": 0, "skipped": 0}
    counts[status] = counts.get(status, 0) + 1
    return {
        "name": name,
        "passed": status == "pass",
        "score": 0.75,
        "status": status,
        "counts": counts,
        "controls": 4,
        "policy_title": "German credit data",
        "policy_version": "1.0",
    }


@pytest.fixture
def project(jp_root_dir: Path) -> dict[str, EvidenceStore]:
    """Two notebook folders with evidence: ``a/`` (3 records) and ``b/c/`` (1 record)."""
    a = EvidenceStore(jp_root_dir / "a" / ".venturalitica")
    a.append(
        "enforce",
        {"results": [{"control_id": "x", "actual_value": 0.7}]},
        summary=enforce_summary("fail"),
        session="s1",
    )
    a.append("telemetry", {"name": "train", "peak_rss_bytes": 1234},
             summary={"name": "train", "success": True, "wall_s": 1.5, "energy_kwh": 1e-5,
                      "co2e_g": 0.004}, session="s1")  # fmt: skip
    a.append("enforce", {"results": []}, summary=enforce_summary("pass"), session="s2")
    b = EvidenceStore(jp_root_dir / "b" / "c" / ".venturalitica")
    b.append("enforce", {"results": []}, summary=enforce_summary("warn"), session="s3")
    return {"a": a, "b": b}


async def get_json(jp_fetch, *parts, **params):
    response = await jp_fetch(*API, *parts, params=params or None)
    return json.loads(response.body)


async def error_of(jp_fetch, *parts, method="GET", body=None, **params):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API, *parts, method=method, body=body, params=params or None)
    return info.value.code, json.loads(info.value.response.body)


# -- discovery ---------------------------------------------------------------------------
@pytest.mark.slow  # a jupyter process
def test_the_extension_is_enabled_on_install():
    jupyter = Path(sys.executable).with_name("jupyter")
    done = subprocess.run(
        [str(jupyter), "server", "extension", "list"], capture_output=True, text=True, check=True
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert "vl_jupyter enabled" in text, text
    assert re.search(r"vl_jupyter [0-9.]+ OK", text), text


def test_importing_the_server_package_stays_light():
    code = "import sys, vl_jupyter, vl_jupyter.server; print('tornado' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_labextension_paths_point_at_the_built_extension():
    import vl_jupyter

    (path,) = vl_jupyter._jupyter_labextension_paths()
    assert path == {"src": "labextension", "dest": "vl-jupyter"}
    built = Path(vl_jupyter.__file__).parent / "labextension" / "package.json"
    assert json.loads(built.read_text())["name"] == "vl-jupyter"


# -- listing -----------------------------------------------------------------------------
async def test_listing_is_newest_first_across_notebooks(jp_fetch, project):
    page = await get_json(jp_fetch, "evidence")
    assert page["total"] == 4 and page["total_exact"] is True
    created = [r["created"] for r in page["records"]]
    assert created == sorted(created, reverse=True)
    assert [r["notebook"] for r in page["records"]] == ["b/c", "a", "a", "a"]
    assert [r["status"] for r in page["records"]] == ["warn", "pass", "pass", "fail"]
    assert page["stores"] == [
        {
            "store": "a/.venturalitica",
            "notebook": "a",
            "records": 3,
            "damaged": [],
            "partial": False,
        },
        {
            "store": "b/c/.venturalitica",
            "notebook": "b/c",
            "records": 1,
            "damaged": [],
            "partial": False,
        },
    ]
    first = page["records"][0]
    assert first["summary"]["policy_title"] == "German credit data"
    assert first["path"].startswith("b/c/.venturalitica/records/")
    assert first["synced"] == {} and first["syncable"] is True
    assert "data" not in first


async def test_telemetry_shows_time_memory_energy_and_co2(jp_fetch, project):
    page = await get_json(jp_fetch, "evidence", kind="telemetry")
    (rec,) = page["records"]
    assert rec["telemetry"] == {
        "wall_s": 1.5,
        "peak_rss_bytes": 1234,  # not in the summary: read from the record
        "energy_kwh": 1e-5,
        "co2e_g": 0.004,
    }


def test_traffic_lights_of_each_kind():
    assert _stores.record_status("enforce", {"status": "warn"}) == "warn"
    assert _stores.record_status("telemetry", {"success": False}) == "error"
    assert _stores.record_status("review", {"decision": "accept_risk"}) == "warn"
    assert _stores.record_status("review", {"scope": "report", "decision": "approve"}) == "pass"
    assert _stores.record_status("review", {"decision": "reject"}) == "fail"
    assert _stores.record_status("review", {"decision": "needs_work"}) == "warn"
    assert _stores.record_status("sync", {}) == "info"


async def test_filters_kind_status_notebook_session(jp_fetch, project):
    assert (await get_json(jp_fetch, "evidence", kind="enforce"))["total"] == 3
    assert (await get_json(jp_fetch, "evidence", status="fail"))["total"] == 1
    assert (await get_json(jp_fetch, "evidence", notebook="a"))["total"] == 3
    assert (await get_json(jp_fetch, "evidence", notebook="b/c/.venturalitica"))["total"] == 1
    assert (await get_json(jp_fetch, "evidence", session="s1"))["total"] == 2
    assert (await get_json(jp_fetch, "evidence", kind="review"))["total"] == 0
    assert (await get_json(jp_fetch, "evidence", exclude_kind="enforce,sync"))["total"] == 1


async def test_bad_filters_are_actionable_errors(jp_fetch, project):
    code, body = await error_of(jp_fetch, "evidence", status="green")
    assert code == 400 and body["code"] == "BAD_FILTER" and "pass, warn, fail" in body["message"]
    code, body = await error_of(jp_fetch, "evidence", limit="0")
    assert code == 400 and body["code"] == "BAD_PAGE"
    code, body = await error_of(jp_fetch, "evidence", offset="x")
    assert code == 400 and body["message"] == "offset must be an integer, got 'x'"


async def test_sync_state_filter_uses_the_sync_engine(jp_fetch, project, fake_trackers):
    synced_id = next(project["a"].records(kind="telemetry")).id
    fake_trackers.status = {synced_id: {"mlflow": {"run_id": "r1", "url": "http://m/r1"}}}
    pending = await get_json(jp_fetch, "evidence", sync="pending")
    assert pending["total"] == 3 and synced_id not in [r["id"] for r in pending["records"]]
    done = await get_json(jp_fetch, "evidence", sync="synced")
    assert [r["id"] for r in done["records"]] == [synced_id]
    assert done["records"][0]["synced"]["mlflow"]["url"] == "http://m/r1"
    assert (await get_json(jp_fetch, "evidence", sync="pending", target="wandb"))["total"] == 4


async def test_a_missing_store_is_an_empty_list_not_an_error(jp_fetch):
    page = await get_json(jp_fetch, "evidence")
    assert page["records"] == [] and page["total"] == 0 and page["stores"] == []
    code, body = await error_of(jp_fetch, "evidence", notebook="nowhere")
    assert code == 404 and body["code"] == "STORE_NOT_FOUND"
    assert body["hint"].startswith("run a notebook cell")


def fast_store(root: Path, n: int) -> EvidenceStore:
    """A valid store of ``n`` records written in the store's format without ``append``
    (10,000 appends take ~20 s; this takes ~2 s). ``verify()`` accepts it."""
    import datetime as dt

    from vl_jupyter.evidence._files import index_entry
    from vl_jupyter.evidence._jsonable import record_hash
    from vl_jupyter.evidence._record import GENESIS, SCHEMA, format_created

    (root / "records").mkdir(parents=True)
    start = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
    prev, lines = GENESIS, []
    for i in range(n):
        when = start + dt.timedelta(seconds=i)
        rid = when.strftime("%Y%m%dT%H%M%S%fZ") + f"-{i:08x}"
        doc = {"schema": SCHEMA, "seq": i + 1, "id": rid, "kind": "enforce",
               "created": format_created(when), "session": f"s{i // 10}",
               "summary": enforce_summary("pass" if i % 2 else "fail", f"r{i}"),
               "prev_hash": prev, "data": {"i": i}}  # fmt: skip
        doc["hash"] = prev = record_hash(doc)
        name = f"{i + 1:08d}_{rid}.json"
        (root / "records" / name).write_text(json.dumps(doc) + "\n")
        lines.append(json.dumps(index_entry(doc, name)))
    (root / "index.jsonl").write_text("\n".join(lines) + "\n")
    return EvidenceStore(root)


@pytest.mark.slow  # 10,000 records
async def test_ten_thousand_records_page_correctly(jp_fetch, jp_root_dir):
    store = fast_store(jp_root_dir / "big" / ".venturalitica", 10_000)
    seen = []
    for offset in range(0, 10_000, 500):
        page = await get_json(jp_fetch, "evidence", offset=str(offset), limit="500")
        assert page["total"] == 10_000 and len(page["records"]) == 500
        seen += [r["summary"]["name"] for r in page["records"]]
    assert seen == [f"r{i}" for i in range(9_999, -1, -1)]
    tail = await get_json(jp_fetch, "evidence", offset="9990", limit="50")
    assert [r["seq"] for r in tail["records"]] == list(range(10, 0, -1))
    fails = await get_json(jp_fetch, "evidence", status="fail", offset="4990", limit="50")
    assert fails["total"] == 5_000 and [r["seq"] for r in fails["records"]] == [
        19,
        17,
        15,
        13,
        11,
        9,
        7,
        5,
        3,
        1,
    ]
    # appends after the first read are picked up (the index is read incrementally)
    new = store.append("enforce", {}, summary=enforce_summary("warn", "new"))
    page = await get_json(jp_fetch, "evidence", limit="2")
    assert page["total"] == 10_001 and page["records"][0]["id"] == new.id
    assert page["records"][1]["summary"]["name"] == "r9999"


async def test_a_new_sync_record_refreshes_the_sync_state(jp_fetch, project, fake_trackers):
    rec = next(project["a"].records())
    assert (await get_json(jp_fetch, "evidence", sync="synced"))["total"] == 0
    fake_trackers.status = {rec.id: {"mlflow": {"run_id": "r", "url": "u"}}}
    # unchanged index: the cached state stands; a sync record arrives: it is asked again
    assert (await get_json(jp_fetch, "evidence", sync="synced"))["total"] == 0
    project["a"].append("sync", {"records": [rec.id]}, summary={"target": "mlflow"})
    assert (await get_json(jp_fetch, "evidence", sync="synced"))["total"] == 1


async def test_version_changes_only_when_evidence_changes(jp_fetch, project):
    one = (await get_json(jp_fetch, "evidence"))["version"]
    assert (await get_json(jp_fetch, "evidence"))["version"] == one
    project["a"].append("enforce", {}, summary=enforce_summary("pass"))
    assert (await get_json(jp_fetch, "evidence"))["version"] != one


# -- one record --------------------------------------------------------------------------
async def test_one_record_with_its_data(jp_fetch, project):
    rec = next(project["a"].records(kind="enforce", session="s1"))
    body = await get_json(jp_fetch, "evidence", rec.id)
    assert body["id"] == rec.id and body["notebook"] == "a" and body["status"] == "fail"
    assert body["data"]["results"] == [{"control_id": "x", "actual_value": 0.7}]
    assert (await get_json(jp_fetch, "evidence", rec.id, store="a/.venturalitica"))["id"] == rec.id


async def test_unknown_and_malformed_ids(jp_fetch, project):
    code, body = await error_of(jp_fetch, "evidence", "20261122T093000123456Z-1a2b3c4d")
    assert code == 404 and body["code"] == "RECORD_NOT_FOUND"
    code, body = await error_of(jp_fetch, "evidence", "not-an-id")
    assert code == 400 and body["code"] == "BAD_RECORD_ID"
    assert (
        body["message"]
        == "'not-an-id' is not an evidence record id (ids look like 20261122T093000123456Z-1a2b3c4d)"
    )


@pytest.mark.parametrize(
    "record_id",
    ["..", "..%2F..%2Fetc%2Fpasswd", quote("../a/.venturalitica/index.jsonl", safe=""), "%2e%2e"],
)
async def test_traversal_in_the_record_id_is_refused(jp_fetch, project, record_id):
    code, body = await error_of(jp_fetch, "evidence", record_id)
    assert code in (400, 404)
    assert "passwd" not in json.dumps(body) or body["code"] == "BAD_RECORD_ID"


@pytest.mark.parametrize("store", ["..", "../..", "/etc", "a/../../x", "a/.venturalitica/records"])
async def test_traversal_in_the_store_is_refused(jp_fetch, project, store):
    rec = next(project["a"].records())
    code, body = await error_of(jp_fetch, "evidence", rec.id, store=store)
    assert code == 404 and body["code"] == "STORE_NOT_FOUND"
    code, body = await error_of(jp_fetch, "evidence", notebook=store)
    assert code == 404


async def test_evidence_outside_the_root_is_never_read(jp_fetch, jp_root_dir, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    EvidenceStore(outside / ".venturalitica").append("enforce", {}, summary={"name": "secret"})
    (jp_root_dir / "link").mkdir()
    os.symlink(outside / ".venturalitica", jp_root_dir / "link" / ".venturalitica")
    os.symlink(outside, jp_root_dir / "dirlink")
    page = await get_json(jp_fetch, "evidence")
    assert page["total"] == 0 and page["stores"] == []


async def test_an_edited_record_is_reported_not_served(jp_fetch, project):
    rec = next(project["a"].records(kind="enforce", session="s1"))
    rec.path.chmod(0o644)
    rec.path.write_text(rec.path.read_text().replace("0.7", "0.9"))
    code, body = await error_of(jp_fetch, "evidence", rec.id)
    assert code == 409 and body["code"] == "EVIDENCE_FAILED"
    assert "modified after it was written" in body["message"]


# -- verify ------------------------------------------------------------------------------
async def test_verify_every_store(jp_fetch, project):
    body = await get_json(jp_fetch, "verify")
    assert body["ok"] is True
    assert [(s["store"], s["checked"]) for s in body["stores"]] == [
        ("a/.venturalitica", 3),
        ("b/c/.venturalitica", 1),
    ]
    victim = next(project["b"].records())
    victim.path.unlink()
    body = await get_json(jp_fetch, "verify", store="b/c/.venturalitica")
    assert body["ok"] is False
    assert body["stores"][0]["problems"][0]["code"] == "deleted"


# -- security ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "evidence"),
        ("GET", "evidence/20261122T093000123456Z-1a2b3c4d"),
        ("GET", "targets"),
        ("GET", "verify"),
        ("GET", "sync/0123456789ab"),
        ("POST", "sync"),
    ],
)
async def test_every_endpoint_needs_the_token(
    jp_serverapp, http_server_client, jp_base_url, project, method, path
):
    body = json.dumps({"target": "mlflow"}) if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(
            f"{jp_base_url}vl-jupyter/api/{path}", method=method, body=body
        )
    assert info.value.code == 403


def _cookies(response) -> dict[str, str]:
    out = {}
    for header in response.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        out[name] = rest.split(";")[0]
    return out


async def test_post_with_the_login_cookie_needs_the_xsrf_token(
    jp_serverapp, http_server_client, jp_base_url, jp_auth_header, project, fake_trackers
):
    """A browser session (login cookie) must send the XSRF token. jp_fetch sends the token
    header, which jupyter_server exempts from the XSRF check, so a plain client is used."""
    api = f"{jp_base_url}vl-jupyter/api/"
    token = jp_auth_header["Authorization"].split()[-1]
    login = await http_server_client.fetch(f"{api}evidence?token={token}")
    cookies = _cookies(login)
    session = "; ".join(f"{k}={v}" for k, v in cookies.items() if k.startswith("username-"))
    assert session, cookies
    page = await http_server_client.fetch(f"{jp_base_url}login", raise_error=False)
    xsrf = _cookies(page)["_xsrf"]
    # the login cookie alone authenticates a GET
    listing = await http_server_client.fetch(f"{api}evidence", headers={"Cookie": session})
    assert json.loads(listing.body)["total"] == 4
    body = json.dumps({"target": "mlflow", "ids": None})
    for headers in (
        {"Cookie": session},
        {"Cookie": f"{session}; _xsrf={xsrf}"},  # the cookie without the header
        {"Cookie": f"{session}; _xsrf={xsrf}", "X-XSRFToken": "forged"},
    ):
        with pytest.raises(HTTPClientError) as info:
            await http_server_client.fetch(f"{api}sync", method="POST", body=body, headers=headers)
        assert info.value.code == 403, headers
    assert [c for c in fake_trackers.calls if c[0] == "sync"] == []
    ok = await http_server_client.fetch(
        f"{api}sync",
        method="POST",
        body=body,
        headers={"Cookie": f"{session}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
    )
    assert ok.code == 202


# -- targets and sync (fake engine) -----------------------------------------------------
class FakeTrackers(types.ModuleType):
    def __init__(self):
        super().__init__("vl_jupyter.trackers")
        self.status: dict = {}
        self.calls: list = []
        self.fail: Exception | None = None

    @staticmethod
    def redact(text):
        from vl_jupyter.trackers._redact import redact

        return redact(text)

    # the registry is real: the server checks targets and settings against it
    from vl_jupyter.trackers import _registry

    tracker_names = staticmethod(_registry.tracker_names)
    request_setting_keys = staticmethod(_registry.request_setting_keys)

    def sync_status(self, evidence_dir=None, records=None):
        return self.status

    def targets(self, settings=None, *, from_request=False):
        assert from_request is True
        self.calls.append(("targets", settings))
        return [
            types.SimpleNamespace(to_dict=lambda: {"name": "mlflow", "reachable": True}),
            {"name": "wandb", "reachable": False, "reason": "no API key"},
        ]

    def sync(self, target, ids=None, run=None, *, force=False, evidence_dir=None,
             settings=None, progress=None, from_request=False):  # fmt: skip
        assert from_request is True  # the server always says its settings are untrusted
        self.calls.append(("sync", target, ids, Path(evidence_dir).name, settings, force))
        if self.fail is not None:
            raise self.fail
        if progress:
            progress(1, 2, "record 1")
        done = ids or ["all-pending"]
        return types.SimpleNamespace(
            to_dict=lambda: {
                "synced": [{"record_id": i, "target": target, "url": "http://m/r"} for i in done],
                "skipped": [],
                "runs": [{"target": target, "run_id": "r", "url": "http://m/r"}],
            }
        )


@pytest.fixture
def fake_trackers(monkeypatch):
    fake = FakeTrackers()
    monkeypatch.setitem(sys.modules, "vl_jupyter.trackers", fake)
    return fake


async def finished(jp_fetch, job_id):
    for _ in range(200):
        body = await get_json(jp_fetch, "sync", job_id)
        if body["state"] in ("done", "error"):
            return body
        await __import__("asyncio").sleep(0.02)
    raise AssertionError(f"sync job {job_id} did not finish")


async def test_targets_pass_the_settings_through(jp_fetch, fake_trackers):
    post = await jp_fetch(*API, "targets", method="POST", body=json.dumps(
        {"settings": {"mlflow_tracking_uri": "http://127.0.0.1:5000"}}
    ))  # fmt: skip
    body = json.loads(post.body)
    assert body["targets"][0] == {"name": "mlflow", "reachable": True}
    assert body["targets"][1]["reason"] == "no API key"
    assert fake_trackers.calls == [("targets", {"mlflow_tracking_uri": "http://127.0.0.1:5000"})]


async def test_sync_selected_records_reports_progress_and_links(jp_fetch, project, fake_trackers):
    ids = [r.id for r in project["a"].records(kind="enforce")] + [next(project["b"].records()).id]
    post = await jp_fetch(*API, "sync", method="POST", body=json.dumps(
        {"target": "mlflow", "ids": ids, "settings": {"mlflow_experiment": "credit"}}
    ))  # fmt: skip
    assert post.code == 202
    job = await finished(jp_fetch, json.loads(post.body)["job"])
    assert job["state"] == "done" and job["error"] is None
    assert [s["record_id"] for s in job["result"]["synced"]] == ids
    assert job["result"]["runs"][0]["url"] == "http://m/r"
    assert job["progress"]["total"] == 2
    assert sorted(c[3] for c in fake_trackers.calls) == [".venturalitica", ".venturalitica"]
    assert all(c[4] == {"mlflow_experiment": "credit"} for c in fake_trackers.calls)


async def test_sync_all_pending_goes_store_by_store(jp_fetch, project, fake_trackers):
    post = await jp_fetch(*API, "sync", method="POST", body=json.dumps({"target": "mlflow,wandb"}))
    job = await finished(jp_fetch, json.loads(post.body)["job"])
    assert job["state"] == "done"
    assert [(c[1], c[2]) for c in fake_trackers.calls] == [("mlflow,wandb", None)] * 2


async def test_sync_errors_are_readable(jp_fetch, project, fake_trackers):
    from vl_jupyter.errors import SyncError

    fake_trackers.fail = SyncError(
        "MLflow at http://127.0.0.1:1 is unreachable", target="mlflow", pending=["x"],
        hint="start it with `mlflow server` or set the tracking URI in Settings",
    )  # fmt: skip
    post = await jp_fetch(*API, "sync", method="POST", body=json.dumps({"target": "mlflow"}))
    job = await finished(jp_fetch, json.loads(post.body)["job"])
    assert job["state"] == "error"
    assert job["error"]["code"] == "SYNC_FAILED" and job["error"]["target"] == "mlflow"
    assert job["error"]["message"].startswith("MLflow at http://127.0.0.1:1 is unreachable")


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"target": "neptune"}, "BAD_TARGET", "unknown sync target 'neptune'"),
        ({"target": "mlflow", "ids": []}, "BAD_IDS", "ids must be a non-empty list"),
        ({"target": "mlflow", "ids": ["../../etc/passwd"]}, "BAD_RECORD_ID", "'../../etc/passwd'"),
        ({"target": "mlflow", "store": "../.."}, "STORE_NOT_FOUND", "no evidence store '../..'"),
        ({"target": "mlflow", "settings": {"wandb_api_key": "s3cret"}}, "BAD_SETTINGS",
         "unknown settings wandb_api_key"),
    ],
)  # fmt: skip
async def test_bad_sync_requests(jp_fetch, project, fake_trackers, body, code, message):
    status, err = await error_of(jp_fetch, "sync", method="POST", body=json.dumps(body))
    assert status in (400, 404) and err["code"] == code and err["message"].startswith(message)
    assert [c for c in fake_trackers.calls if c[0] == "sync"] == []


async def test_sync_without_evidence(jp_fetch, fake_trackers):
    status, err = await error_of(
        jp_fetch, "sync", method="POST", body=json.dumps({"target": "mlflow"})
    )
    assert status == 404 and err["code"] == "NO_EVIDENCE"


async def test_unknown_job(jp_fetch):
    status, err = await error_of(jp_fetch, "sync", "0123456789ab")
    assert status == 404 and err["code"] == "JOB_NOT_FOUND"
