"""%%vl_monitor and %vl_monitor_config in an in-process IPython shell (fast checks)."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

import vl_jupyter
from vl_jupyter import evidence
from vl_jupyter.notebook import load_ipython_extension, unload_ipython_extension
from vl_jupyter.notebook._shared_magic import parse_line
from vl_jupyter.telemetry import configure


@pytest.fixture
def shell(evidence_dir, monkeypatch):
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(evidence_dir))
    monkeypatch.delenv("VL_COUNTRY", raising=False)
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    configure(reset=True)
    yield ip
    configure(reset=True)
    unload_ipython_extension(ip)


def test_last_expression_is_the_cell_result(shell, evidence_dir):
    result = shell.run_cell("%%vl_monitor m1 --country DEU -q\na = 20\na + 22")
    assert result.success and result.result == 42
    rec = next(evidence.records("telemetry", root=evidence_dir))
    assert rec.data["name"] == "m1" and rec.data["carbon_intensity_source"] == "country:DEU"
    assert rec.data["code"]["source_sha256"].startswith("sha256:")


def test_failure_propagates_once_and_is_recorded(shell, evidence_dir):
    result = shell.run_cell("%%vl_monitor bad -q\nraise KeyError('k')")
    assert isinstance(result.error_in_exec, KeyError)
    rec = next(evidence.records("telemetry", root=evidence_dir))
    assert rec.data["success"] is False and rec.data["error"] == "KeyError"


def test_user_mistakes_are_usage_errors(shell, capsys):
    result = shell.run_cell("%%vl_monitor --country DEX\n1")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "close matches: MEX (Mexico), DEU (Germany)" in str(result.error_in_exec)
    result = shell.run_cell("%%vl_monitor --pue 0.5\n1")
    assert "PUE must be at least 1.0" in str(result.error_in_exec)


def test_session_config_applies_to_later_cells(shell, evidence_dir, capsys):
    shell.run_cell("%vl_monitor_config --country FRA --pue 1.2")
    assert "FRA" in capsys.readouterr().out
    shell.run_cell("%%vl_monitor cfg -q\npass")
    data = next(evidence.records("telemetry", root=evidence_dir)).data
    assert data["country"] == "FRA" and data["pue"] == 1.2
    assert data["carbon_intensity_origin"] == "session"


def test_default_name_comes_from_the_cell(shell, evidence_dir):
    shell.run_cell("%%vl_monitor -q\npass")
    name = next(evidence.records("telemetry", root=evidence_dir)).data["name"]
    assert name.startswith("cell") and name[4:].isdigit()


def test_facade_hook_when_present():
    hook = getattr(vl_jupyter, "load_ipython_extension", None)
    if hook is None:
        pytest.skip("facade does not export load_ipython_extension yet")
    assert hook is load_ipython_extension


def test_a_repeated_line_is_parsed_once_and_help_is_never_remembered(shell, capsys):
    magics = shell.magics_manager.registry["MonitorMagics"]
    first = parse_line(magics.vl_monitor, "again --country DEU -q")
    second = parse_line(magics.vl_monitor, "again --country DEU -q")
    assert first.args is not second.args and vars(first.args) == vars(second.args)
    first.args.name = "changed"  # a caller's change does not leak into the next cell
    assert parse_line(magics.vl_monitor, "again --country DEU -q").args.name == "again"
    assert parse_line(magics.vl_monitor, "--help") is None
    assert parse_line(magics.vl_monitor, "--help") is None
    assert capsys.readouterr().out.count("%vl_monitor [-h]") == 2  # shown both times
