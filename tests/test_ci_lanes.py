""".ci/test-lanes, which `make test` runs: every lane runs, its output follows the main
lane's, the main lane runs everything no side lane names, and any lane failing fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # three child pytests per test

LANES = Path(__file__).resolve().parents[1] / ".ci" / "test-lanes"


def _lanes(folder: Path, *lanes: str) -> subprocess.CompletedProcess[str]:
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # light child pytests
    return subprocess.run(
        [str(LANES), sys.executable, *lanes], cwd=folder, capture_output=True, text=True,
        timeout=120, env=env,
    )  # fmt: skip


def _suite(folder: Path, side_passes: bool) -> None:
    (folder / "test_main.py").write_text("def test_main_one():\n    pass\n")
    (folder / "side").mkdir()
    (folder / "side" / "test_side.py").write_text(
        f"def test_side_one():\n    assert {side_passes}, 'the side lane failed'\n"
    )
    (folder / "test_other_side.py").write_text("def test_other_one():\n    pass\n")


def test_all_lanes_pass_and_each_file_runs_in_one_lane(tmp_path):
    _suite(tmp_path, side_passes=True)
    done = _lanes(tmp_path, "side", "test_other_side.py")
    assert done.returncode == 0, done.stdout + done.stderr
    main, side, other, times = re.split(r"\n== .* \(run alongside, \d+ s\) ==\n|\n== lanes: ",
                                        done.stdout)  # fmt: skip
    assert re.fullmatch(r"main lane \d+ s; side \d+ s; test_other_side.py \d+ s ==\n", times)
    # the main lane runs what no side lane names; each lane runs its own paths
    assert "1 passed" in main and "test_main.py ." in main and "side" not in main
    assert "side/test_side.py ." in side and "1 passed" in side
    assert "test_other_side.py ." in other and "1 passed" in other


@pytest.mark.parametrize("side", ["failing", "missing"])
def test_a_failing_or_missing_side_lane_fails_the_run(tmp_path, side):
    _suite(tmp_path, side_passes=side != "failing")
    lane = "side" if side == "failing" else "side test_renamed.py"
    done = _lanes(tmp_path, lane)
    assert done.returncode == 1
    main, shown = re.split(rf"\n== {lane} \(run alongside, \d+ s\) ==\n", done.stdout)
    shown, times = shown.split("\n== lanes: ")
    assert re.fullmatch(rf"main lane \d+ s; {lane.split()[0]}.* \d+ s ==\n", times)
    assert "2 passed" in main  # test_main.py and test_other_side.py: in no side lane
    if side == "failing":
        assert "the side lane failed" in shown
    else:  # a renamed file cannot silently drop out of the suite
        assert "file or directory not found: test_renamed.py" in shown
