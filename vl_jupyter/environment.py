"""Where a piece of evidence was produced: software versions, the git commit, the cell.

A shared module with a public face (not a room): enforcement and telemetry both describe
their environment with it, so an enforce record and a monitor record say the same thing
about the same process. It imports nothing of the package.
"""

from __future__ import annotations

__all__ = ["git_state", "origin", "software"]

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


def origin() -> dict[str, str | int | None]:
    """The notebook or script producing evidence: what "the same notebook" means when a
    run is compared with the previous one, and how the sidebar heads a record (and opens
    the notebook at its cell). A notebook's path comes from Jupyter Server's
    ``JPY_SESSION_NAME`` (VS Code sets ``__vsc_ipynb_file__``); outside a kernel it is
    the script (``sys.argv[0]``) relative to the working directory when inside it.
    ``execution_count`` is the running cell's ``In [n]`` in IPython, else None."""
    import os

    notebook = os.environ.get("JPY_SESSION_NAME") or None
    if notebook is None:
        main = sys.modules.get("__main__")
        notebook = getattr(main, "__vsc_ipynb_file__", None)
    script = None
    if notebook is None and "ipykernel" not in sys.modules and sys.argv and sys.argv[0]:
        script = _script(sys.argv[0], os.getcwd())
    return {"notebook": notebook, "script": script, "execution_count": _execution_count()}


@functools.lru_cache(maxsize=16)
def _script(argv0: str, cwd: str) -> str | None:
    """``argv0`` relative to ``cwd`` when inside it, if it is a ``.py`` file (cached: every
    record asks, and resolving walks the path)."""
    path = Path(argv0)
    if path.suffix != ".py":
        return None
    try:
        return str(path.resolve().relative_to(Path(cwd)))
    except ValueError:
        return str(path)


def _execution_count() -> int | None:
    """IPython counts ``execution_count`` up before running a cell, so the running cell is
    one less (what its displayhook calls ``prompt_count``); telemetry reads it the same."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    count = getattr(shell, "execution_count", None)
    return max(0, count - 1) if isinstance(count, int) else None
