"""Run a shipped notebook on a fresh kernel in a folder of its own, and read its outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, workdir: Path, timeout: int = 180) -> nbformat.NotebookNode:
    """Copy ``notebooks/<name>`` into ``workdir`` and run it there top to bottom."""
    shutil.copy(NOTEBOOKS / name, workdir / name)
    notebook = nbformat.read(workdir / name, as_version=4)
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        # a kernel may send one printed line in several messages, as timing falls; a
        # stream's text is read whole, as JupyterLab shows it
        coalesce_streams=True,
    ).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """Each output's HTML, plain text and stream text, in cell order."""
    texts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            texts.append(
                str(data.get("text/html", ""))
                + str(data.get("text/plain", ""))
                + str(out.get("text", ""))
            )
    return texts
