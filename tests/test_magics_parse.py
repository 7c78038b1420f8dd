"""One parse helper for all six magics: a trailing ``;`` is stripped before the options are
read (and hides the result), and the Magics objects keep no state between calls."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, magics_class

from vl_jupyter import evidence
from vl_jupyter.notebook import load_ipython_extension, unload_ipython_extension
from vl_jupyter.notebook._shared_magic import parse_line, strip_semicolon
from vl_jupyter.telemetry import configure

AUDIT = "--policy german_credit_data --target class gender=gender age=age --no-ci"
CLASSES = ("EnforceMagics", "MonitorMagics", "SyncMagics")


@pytest.fixture
def shell(evidence_dir, monkeypatch, german):
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(evidence_dir))
    monkeypatch.delenv("VL_COUNTRY", raising=False)
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    configure(reset=True)
    ip.user_ns["df"] = german
    yield ip
    ip.user_ns.pop("df", None)
    configure(reset=True)
    unload_ipython_extension(ip)


def error_of(shell, line: str) -> str:
    result = shell.run_cell(line)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    return str(result.error_in_exec)


def test_strip_semicolon_takes_one_trailing_semicolon_and_its_blanks():
    assert strip_semicolon("mlflow;") == ("mlflow", True)
    assert strip_semicolon("mlflow ;  ") == ("mlflow", True)
    assert strip_semicolon("mlflow") == ("mlflow", False)
    assert strip_semicolon("--name 'a;b'") == ("--name 'a;b'", False)


def test_sync_target_is_read_without_the_semicolon(shell):
    # before: "unknown sync target nosuch;; use ..." (the ';' was read as part of the name)
    assert error_of(shell, "%vl_sync nosuch;") == (
        "unknown sync target nosuch; use mlflow, wandb or mlflow,wandb"
    )
    magics = shell.magics_manager.registry["SyncMagics"]
    parsed = parse_line(magics.vl_sync, "mlflow,wandb --offline;")
    assert (parsed.args.target, parsed.args.offline, parsed.hidden) == ("mlflow,wandb", True, True)


def test_monitor_line_is_read_without_the_semicolon_and_hides_the_value(shell, evidence_dir):
    result = shell.run_cell("%%vl_monitor m1 --country DEU -q;\n20 + 22")
    assert result.success and result.result is None
    (rec,) = evidence.records("telemetry", root=evidence_dir)
    assert (rec.data["name"], rec.data["country"]) == ("m1", "DEU")  # not "m1;"
    assert shell.run_cell("%%vl_monitor m2 -q\n20 + 22").result == 42


def test_monitor_config_reads_the_country_without_the_semicolon(shell, capsys):
    shell.run_cell("%vl_monitor_config --country FRA --pue 1.2;")
    assert capsys.readouterr().out == "vl_monitor settings: {'country': 'FRA', 'pue': 1.2}\n"


def test_policy_evidence_and_enforce_take_the_semicolon(shell, evidence_dir, capsys):
    assert shell.run_cell("%vl_policy german_credit_data;").result is None
    assert shell.run_cell(f"%vl_enforce df {AUDIT} --name semi;").result is None
    (rec,) = evidence.records("enforce", root=evidence_dir)
    assert rec.data["name"] == "semi"
    assert shell.run_cell("%vl_evidence --last 1 --kind enforce;").result is None
    capsys.readouterr()
    shell.run_cell("%vl_evidence --tag latest production;")
    assert capsys.readouterr().out == ""  # hidden, as with -q
    assert evidence.tagged("production", root=evidence_dir) == rec.id


def test_a_variable_named_like_an_option_binds_in_the_magic(shell, evidence_dir):
    policy = (
        "vl-policy: 1\ncontrols:\n  - {id: di, metric: disparate_impact, operator: gt, "
        "threshold: 0.8, inputs: {dimension: name}}"
    )
    result = shell.run_cell(f"%%vl_enforce df --target class name=gender --name run1\n{policy}")
    report = result.result
    assert report.name == "run1"
    assert report["di"].metadata["bindings"]["dimension"]["columns"] == ["gender"]


def test_a_parsed_line_is_a_fresh_copy_down_to_its_lists(shell):
    magics = shell.magics_manager.registry["EnforceMagics"]
    line = f"df {AUDIT} --name copied"
    first = parse_line(magics.vl_enforce, line)
    first.args.bindings.append("extra=col")
    first.args.name = "changed"
    again = parse_line(magics.vl_enforce, line)
    assert (again.args.bindings, again.args.name) == (["gender=gender", "age=age"], "copied")


def test_magics_objects_keep_no_state_between_calls(shell, evidence_dir):
    shell.run_cell("%%vl_monitor m1 -q\n1")
    shell.run_cell("%vl_sync nosuch")
    shell.run_cell(f"r = %vl_enforce df {AUDIT} -q")
    fresh = magics_class(type("Plain", (Magics,), {}))(shell)  # what every Magics holds
    base = set(vars(fresh))
    for name in CLASSES:
        assert set(vars(shell.magics_manager.registry[name])) == base, name


@settings(max_examples=60, deadline=None)
@given(
    target=st.sampled_from(["mlflow", "wandb", "mlflow,wandb"]),
    flags=st.lists(st.sampled_from(["--offline", "-q", "--force", "--experiment x"]), max_size=3),
    blanks=st.sampled_from(["", " ", "  "]),
)
def test_a_trailing_semicolon_only_hides(target, flags, blanks):
    shell = InteractiveShell.instance()
    load_ipython_extension(shell)
    try:
        magics = shell.magics_manager.registry["SyncMagics"]
        line = " ".join([target, *flags])
        plain = parse_line(magics.vl_sync, line)
        semi = parse_line(magics.vl_sync, line + blanks + ";" + blanks)
    finally:
        unload_ipython_extension(shell)
    assert (vars(semi.args), semi.hidden, plain.hidden) == (vars(plain.args), True, False)
