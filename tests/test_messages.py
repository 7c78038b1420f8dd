"""What a user reads after a typo: a misspelled policy name or option gets the closest
right ones, in the notebook magics and on the command line alike."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from vl_jupyter.cli import main
from vl_jupyter.notebook import load_ipython_extension, unload_ipython_extension
from vl_jupyter.notebook._shared_magic import policy_source, shipped_policies


def _shipped() -> str:
    from vl_jupyter.notebook._shared_magic import shipped_policies

    return "shipped policies: " + ", ".join(shipped_policies())


SHIPPED = _shipped()


@pytest.fixture
def shell(evidence_dir, monkeypatch, german):
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(evidence_dir))
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    ip.user_ns["df"] = german
    yield ip
    ip.user_ns.pop("df", None)
    unload_ipython_extension(ip)


def _error(shell, line: str) -> str:
    with pytest.raises(UsageError) as info:
        shell.run_line_magic(*line.split(" ", 1))
    return str(info.value)


def test_a_misspelled_policy_name_gets_did_you_mean_and_the_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert {"german_credit_data", "german_credit_model"} <= set(shipped_policies())
    assert shipped_policies() == sorted(shipped_policies())
    for name in shipped_policies():  # every shipped name resolves, dots and all
        assert policy_source(name).name == f"{name}.yaml"
    with pytest.raises(UsageError) as info:
        policy_source("german_credit_dta")
    assert str(info.value) == (
        "no policy file or shipped policy named 'german_credit_dta' (did you mean "
        f"'german_credit_data' or 'german_credit_model'? {SHIPPED}; or give the path of a "
        "policy file)"
    )
    with pytest.raises(UsageError, match=r"\(shipped policies: german_credit_data, "):
        policy_source("zzz")  # nothing close: the list alone


def test_magics_say_it_too(shell):
    message = _error(shell, "vl_enforce df --policy german_credit_dta --target class")
    assert "did you mean 'german_credit_data'" in message and SHIPPED in message
    assert "did you mean 'german_credit_model'" in _error(shell, "vl_policy german_credit_modle")


def test_a_misspelled_option_gets_the_closest_options(shell):
    assert _error(shell, "vl_enforce df --polcy german_credit_data") == (
        "unknown option --polcy (did you mean --policy?)"
    )
    assert _error(shell, "vl_enforce df --policy german_credit_data --targt=class") == (
        "unknown option --targt (did you mean --target?)"
    )
    message = _error(shell, "vl_enforce df --zzzz")
    assert message.startswith("unknown option --zzzz (options: --")  # nothing close: all
    assert "--help, " in message and "--policy, " in message and message.endswith("--target)")


def test_the_cli_accepts_shipped_names_and_suggests(tmp_path, capsys, german):
    data = tmp_path / "credit.csv"
    german.to_csv(data, index=False)
    code = main(["policy", "german_credit_data"])
    assert code == 0 and capsys.readouterr().out.startswith("German credit data audit v1.0")
    args = ["enforce", "--data", str(data), "--target", "class", "--no-ci",
            "--bind", "gender=gender", "--bind", "age=age", "--evidence-dir", str(tmp_path)]  # fmt: skip
    assert main([*args, "--policy", "german_credit_data"]) == 1  # ran: a control fails
    assert "German credit data audit" in capsys.readouterr().out
    assert main([*args, "--policy", "german_credit_dta"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: no policy file or shipped policy named 'german_credit_dta' (did you mean "
        f"'german_credit_data' or 'german_credit_model'? {SHIPPED})\n"
    )
    with pytest.raises(SystemExit) as info:
        main(["enforce", "--data", str(data), "--polcy", "german_credit_data"])
    assert info.value.code == 2
    assert "error: unknown option --polcy (did you mean --policy?)" in capsys.readouterr().err
