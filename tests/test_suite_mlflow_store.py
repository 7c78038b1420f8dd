"""The suite's one-migration MLflow schema (tests/_mlflow_store.py) is really in use, and a
store built from it is MLflow's own: same schema revision, its own Default experiment."""

from __future__ import annotations

import sqlite3

import _mlflow_store
import pytest

mlflow = pytest.importorskip("mlflow")


def _rows(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def test_a_fresh_store_gets_the_template_and_its_own_default_experiment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = _mlflow_store.copies
    db = tmp_path / "mlflow.db"
    client = mlflow.MlflowClient(f"sqlite:///{db}")
    (default,) = client.search_experiments()
    assert _mlflow_store.copies == before + 1
    assert default.experiment_id == "0" and default.name == "Default"
    # the artifact root is this store's (./mlruns of the working directory), not the
    # template's folder
    assert default.artifact_location == str(tmp_path / "mlruns" / "0")
    template = _mlflow_store.template()
    assert _rows(template, "select * from experiments") == []
    revision = "select version_num from alembic_version"
    assert _rows(db, revision) == _rows(template, revision) != []
    tables = "select name, sql from sqlite_master where type = 'table' order by name"
    assert _rows(db, tables) == _rows(template, tables)
    run = client.create_run(client.create_experiment("x", artifact_location=str(tmp_path / "a")))
    client.log_metric(run.info.run_id, "m", 1.5)
    assert client.get_run(run.info.run_id).data.metrics == {"m": 1.5}
