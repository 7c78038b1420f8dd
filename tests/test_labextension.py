"""The JupyterLab extension: strict TypeScript, its jest tests, and the built, installed
bundle JupyterLab loads (what `pip install` produced, no Node needed by users)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LABEXT = ROOT / "labextension"
BIN = Path(sys.executable).parent


def jlpm(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("jlpm", path=str(BIN)) or shutil.which("jlpm")
    assert exe, "jlpm not found: install the dev environment with `make install`"
    if not (LABEXT / "node_modules").is_dir():  # e.g. installed from a wheel or an sdist
        subprocess.run([exe, "install"], cwd=LABEXT, check=True, timeout=timeout)
    return subprocess.run([exe, *args], cwd=LABEXT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_typescript_compiles_with_the_strict_template_config():
    config = json.loads((LABEXT / "tsconfig.json").read_text())["compilerOptions"]
    assert config["strict"] is True and config["noImplicitAny"] is True
    done = jlpm("tsc", "--noEmit")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_jest_unit_tests_pass():
    done = jlpm("test", "--ci")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Tests:" in output and "failed" not in output.split("Tests:")[1].splitlines()[0]


def test_the_npm_package_is_named_vl_jupyter_and_builds_into_the_python_package():
    package = json.loads((LABEXT / "package.json").read_text())
    assert package["name"] == "vl-jupyter"
    assert package["jupyterlab"]["outputDir"] == "../vl_jupyter/labextension"
    assert (LABEXT / "yarn.lock").is_file()


def test_the_built_extension_is_installed_for_jupyterlab():
    built = ROOT / "vl_jupyter" / "labextension"
    assert (built / "static" / "style.js").is_file(), "run `make install` to build the sidebar"
    assert (built / "schemas" / "vl-jupyter" / "plugin.json").is_file()
    done = subprocess.run(
        [str(BIN / "jupyter"), "labextension", "list"], capture_output=True, text=True, check=True
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    line = next((ln for ln in text.splitlines() if "vl-jupyter" in ln), "")
    assert "enabled" in line and "OK" in line, text
