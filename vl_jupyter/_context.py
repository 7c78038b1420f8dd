"""Where a piece of evidence was produced: software versions and the git commit.

Shared by enforcement and telemetry so both describe their environment the same way.
"""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_KEY_PACKAGES = ("vl-jupyter", "numpy", "pandas", "pyyaml", "scikit-learn", "ipython")


@functools.lru_cache(maxsize=1)
def software() -> dict[str, object]:
    """Python, OS and versions of the packages that shape results (cached per process)."""
    packages = {}
    for name in _KEY_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "packages": packages,
    }


def git_state(directory: str | Path = ".") -> dict[str, object] | None:
    """Commit, branch and dirtiness of the repository holding ``directory``, if any.

    Evidence should say which code produced it. One ``git status --porcelain=v2 --branch``
    call gives all three (a few ms, where three git calls cost up to 25 ms per enforce);
    a missing git or repository is normal (None), and a slow one is given up after two
    seconds rather than stalling a notebook.
    """
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=2,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    headers = {}
    dirty = False
    for line in done.stdout.splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            headers[key] = value
        elif line:
            dirty = True
    commit = headers.get("branch.oid")
    if not commit or commit == "(initial)":
        return None
    branch = headers.get("branch.head")
    return {"commit": commit, "branch": None if branch == "(detached)" else branch, "dirty": dirty}


def origin() -> dict[str, object]:
    """Which notebook (or script) and which cell produced a record, for its summary: the
    sidebar tells records apart by it, and can open the notebook at that cell.

    ``notebook`` is the notebook's path as Jupyter Server (``JPY_SESSION_NAME``) or VS
    Code (``__vsc_ipynb_file__``) gives it, else the script's name; ``execution_count``
    the running cell's ``In [n]`` (IPython counts it up before running the cell, as
    :func:`vl_jupyter.telemetry` reads it too).
    """
    import os

    shell = None
    if "IPython" in sys.modules:
        shell = sys.modules["IPython"].get_ipython()
    if shell is None:
        script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else None
        return {"notebook": script or None, "execution_count": None}
    path = shell.user_ns.get("__vsc_ipynb_file__") or os.environ.get("JPY_SESSION_NAME")
    count = getattr(shell, "execution_count", None)
    return {
        "notebook": str(path) if path else None,
        "execution_count": max(0, count - 1) if isinstance(count, int) else None,
    }
