"""``GET /vl-jupyter/api/trackers``: the registry as the sidebar sees it, through a real
jupyter_server. Names, labels, "configured" and the setting keys a browser may send;
never a setting's value."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from vl_jupyter.server._trackers import setting_title
from vl_jupyter.trackers import TargetInfo, register_tracker, unregister_tracker

pytest_plugins = ["pytest_jupyter.jupyter_server"]

API = ("vl-jupyter", "api")
SECRET_URI = "http://user:hunter2-secret@127.0.0.1:5999"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"vl_jupyter": True}}}


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A third tracker registered in the server's process, and a server environment that
    configures MLflow only (with a password in its URI)."""
    monkeypatch.chdir(tmp_path)
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "WANDB_PROJECT",
                "WANDB_ENTITY", "WANDB_MODE", "WANDB_DIR", "TOY_FOLDER"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", SECRET_URI)
    register_tracker(
        "toy",
        lambda settings, run: None,
        info=lambda s: TargetInfo("toy", s["toy_folder"], True, None, "memory"),
        settings={"toy_folder": "TOY_FOLDER", "toy_refuse": None},
        defaults=lambda folder, name, env: {"toy_folder": str(folder), "toy_refuse": "no"},
        request_settings=("toy_folder",),
        label="Toy box",
    )
    yield tmp_path
    unregister_tracker("toy")


async def test_the_registered_trackers_are_listed_in_order_without_values(jp_fetch, toy):
    response = await jp_fetch(*API, "trackers")
    body = json.loads(response.body)
    assert body == {
        "trackers": [
            {
                "name": "mlflow",
                "label": "MLflow",
                "configured": True,
                "settings": [
                    {"key": "mlflow_tracking_uri", "title": "tracking URI"},
                    {"key": "mlflow_experiment", "title": "experiment"},
                ],
            },
            {
                "name": "wandb",
                "label": "W&B",
                "configured": False,
                "settings": [
                    {"key": "wandb_project", "title": "project"},
                    {"key": "wandb_entity", "title": "entity"},
                    {"key": "wandb_mode", "title": "mode"},
                ],
            },
            {
                "name": "toy",
                "label": "Toy box",
                "configured": False,
                "settings": [{"key": "toy_folder", "title": "folder"}],
            },
        ]
    }
    text = response.body.decode()
    assert "127.0.0.1" not in text and "hunter2" not in text and str(toy) not in text


async def test_configured_follows_vl_jupyter_yaml_and_a_broken_one_names_its_file(jp_fetch, toy):
    config = toy / "vl_jupyter.yaml"
    config.write_text(f"trackers:\n  toy_folder: {toy / 'runs'}\n")
    body = json.loads((await jp_fetch(*API, "trackers")).body)
    assert {t["name"]: t["configured"] for t in body["trackers"]} == {
        "mlflow": True,
        "wandb": False,
        "toy": True,
    }
    assert "runs" not in json.dumps(body)

    config.write_text("trackers: [1, 2\n")
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API, "trackers")
    error = json.loads(info.value.response.body)
    assert info.value.code == 400
    assert error["code"] == "TRACKER_SETTINGS_INVALID"
    assert error["message"].startswith(f"{config}: cannot read {config}: ")


def test_a_setting_title_drops_the_tracker_prefix():
    assert setting_title("mlflow", "mlflow_tracking_uri") == "tracking URI"
    assert setting_title("wandb", "wandb_entity") == "entity"
    assert setting_title("toy", "toy_api_url") == "API URL"


def test_configured_reads_the_environment_dotenv_and_yaml_not_the_defaults(toy, monkeypatch):
    from vl_jupyter.trackers import configured_trackers

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert configured_trackers(toy) == ()  # defaults only (sqlite:///mlflow.db, offline W&B)
    (toy / ".env").write_text("WANDB_PROJECT=credit\n")
    assert configured_trackers(toy) == ("wandb",)
    monkeypatch.setenv("TOY_FOLDER", str(toy / "runs"))
    assert configured_trackers(toy) == ("wandb", "toy")


async def test_a_sync_engine_that_cannot_be_imported_is_a_503(jp_fetch, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "vl_jupyter.trackers", None)  # import raises
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API, "trackers")
    body = json.loads(info.value.response.body)
    assert info.value.code == 503
    assert body["code"] == "SYNC_UNAVAILABLE"
    assert body["message"].startswith("the sync engine could not be loaded: ")
