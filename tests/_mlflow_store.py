"""MLflow's sqlite schema built once per test session, not once per test.

A fresh MLflow sqlite store runs MLflow's whole chain of alembic migrations before it
answers: about 4 s of CPU on the 2-core test machine, paid by every test that syncs into a
store of its own (dozens of them). The migrations are MLflow's behaviour, not ours. So the
first fresh store of a session runs them for real, into a template file, and every later
fresh store gets the template's tables through sqlite's backup API: the same schema, page
for page, which MLflow's own ``_verify_schema`` then checks exactly as it always does.

The template holds tables only. Each store still creates its own Default experiment
(MLflow does that after the tables exist), so its artifact location is the test's own. A
store that already has some tables is left to MLflow's migrations as before. The patch is
applied when ``mlflow.store.db.utils`` is first imported (an import hook), so sessions that
never touch mlflow never import it. Other processes (``mlflow server``, kernels, scripts a
test runs) build their stores as MLflow always does.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sqlite3
import sys
import threading
from pathlib import Path
from types import ModuleType

MODULE = "mlflow.store.db.utils"

#: Where the session keeps the template; set by tests/conftest.py (a session tmp folder).
folder: Path | None = None
_lock = threading.Lock()
#: How many fresh stores got the template (a test checks the hook really ran).
copies = 0


def template(initialize=None) -> Path:
    """The migrated, empty schema file of this session (built on first use)."""
    assert folder is not None, "tests/conftest.py sets _mlflow_store.folder"
    path = folder / "schema.db"
    with _lock:
        if not path.exists():
            if initialize is None:  # asked for before any fresh store was made
                import mlflow.store.db.utils  # noqa: F401 - the hook patches it

                initialize = _original
            import sqlalchemy

            building = path.with_suffix(".building")
            building.unlink(missing_ok=True)  # what a failed attempt left
            engine = sqlalchemy.create_engine(f"sqlite:///{building}")
            try:
                initialize(engine)
            finally:
                engine.dispose()
            building.replace(path)
    return path


_original = None


def _patch(utils: ModuleType) -> None:
    global _original
    _original = original = utils._initialize_tables

    def _initialize_tables(engine) -> None:
        """MLflow's table set-up: the session's template for an empty sqlite file."""
        global copies
        import sqlalchemy

        if folder is None or engine.dialect.name != "sqlite":
            return original(engine)
        if sqlalchemy.inspect(engine).get_table_names():
            return original(engine)  # a half-built store: MLflow's migrations decide
        source = sqlite3.connect(template(original))
        raw = engine.raw_connection()
        try:
            source.backup(raw.driver_connection)
        finally:
            raw.close()
            source.close()
        engine.dispose()  # pooled connections re-read the schema
        copies += 1

    utils._initialize_tables = _initialize_tables


class _Hook(importlib.abc.MetaPathFinder):
    """Patches ``mlflow.store.db.utils`` right after it executes, before anyone binds
    ``_initialize_tables`` from it (the model registry store imports the name)."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install(where: Path) -> None:
    """Use ``where`` for the template and patch mlflow when (or if already) imported."""
    global folder
    folder = where
    if MODULE in sys.modules:
        if _original is None:
            _patch(sys.modules[MODULE])
    elif not any(isinstance(f, _Hook) for f in sys.meta_path):
        sys.meta_path.insert(0, _Hook())
