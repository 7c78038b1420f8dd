"""A third tracker, registered in the Jupyter server's process the way a tracker package
would do it: as a Jupyter server extension of its own (enabled by a
``jupyter_server_config.d`` file), whose load hook calls ``register_tracker``. The
sidebar knows nothing of it beforehand: its button, command and badge come from
``GET /vl-jupyter/api/trackers``.

It "uploads" each run as files in a folder (``toy_folder``, relative to the server's
working directory), so the test can check on disk what the button sent.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vl_jupyter.trackers import Group, TargetInfo, register_tracker


class ToyTarget:
    name = "toy"

    def __init__(self, settings: dict[str, Any], run: Any = None) -> None:
        self.folder = Path(settings["toy_folder"]).absolute()
        self.location = str(self.folder)

    @contextmanager
    def env(self):
        yield

    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def group(self, records, ledger, force) -> list[Group]:
        return [Group(records)]  # one new run per sync

    def log(self, group, bundle, on_created) -> tuple[str, str]:
        run_id = f"run{len(list(self.folder.glob('run*'))) + 1}"
        on_created(run_id)
        bundle.write(self.folder / run_id)
        (self.folder / run_id / "tags.json").write_text(json.dumps(bundle.tags, sort_keys=True))
        return run_id, self.run_url(run_id)

    def intent_run(self, intent, run_id):
        return None

    def run_url(self, run_id: str) -> str:
        return f"toy://{run_id}"

    def close_run(self, run_id: str) -> None:
        pass

    def messages(self) -> list[str]:
        return []


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "vl_toy_tracker"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    register_tracker(
        "toy",
        ToyTarget,
        info=lambda s: TargetInfo("toy", s["toy_folder"], True, None, "file"),
        settings={"toy_folder": "TOY_FOLDER"},
        defaults=lambda folder, name, env: {"toy_folder": str(folder / "toy-runs")},
        request_settings=("toy_folder",),
        label="Toy box",
    )
    server_app.log.info("vl_toy_tracker: registered the 'toy' tracker")
